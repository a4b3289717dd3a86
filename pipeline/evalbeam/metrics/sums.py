"""Metrics that are ratios of weighted sums: counts, means, calibration, losses, errors.

One :class:`Sums` family per stream accumulates every weighted sum the configured metrics need
(``sum(w)``, ``sum(w*y)``, ``sum(w*p)``, ``sum(w*loss)``, ...), one ``np.bincount`` per sum
and batch. Metrics divide in ``compute`` only.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import NON_NEGATIVE, UNIT, Family, Metric, MetricInfo, divide
from evalbeam.metrics.state import DenseColumn, StateSpec

_EPS = 1e-7  # Keras' backend epsilon


def _keras_bce(a, label_smoothing: float, from_logits: bool) -> np.ndarray:
    y = a.y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        x = a.p
        return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    p = np.clip(a.p, _EPS, 1.0 - _EPS)
    return -(y * np.log(p + _EPS) + (1.0 - y) * np.log(1.0 - p + _EPS))


def _exact_bce(a, label_smoothing: float, from_logits: bool) -> np.ndarray:
    y = a.y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        x = a.p
        return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    with np.errstate(divide="ignore", invalid="ignore"):
        # A term whose coefficient is 0 contributes 0 (x*log(x) -> 0), never NaN.
        pos = np.where(y > 0, y * np.log(a.p), 0.0)
        neg = np.where(y < 1, (1.0 - y) * np.log1p(-a.p), 0.0)
    return -(pos + neg)


def _ape(a) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a.y != 0, 100.0 * np.abs((a.y - a.p) / a.y), 0.0)


# Per-example quantities; each sum is sum(w * quantity).
_QUANTITIES = {
    "weight": None,
    "label": lambda a: a.y,
    "prediction": lambda a: a.p,
    "label_sq": lambda a: a.y * a.y,
    "prediction_sq": lambda a: a.p * a.p,
    "label_prediction": lambda a: a.y * a.p,
    "squared_error": lambda a: (a.y - a.p) ** 2,
    "absolute_error": lambda a: np.abs(a.y - a.p),
    "ape": _ape,
    "nonzero_label": lambda a: (a.y != 0).astype(np.float64),
}


def _quantity(stat: str):
    if stat in _QUANTITIES:
        return _QUANTITIES[stat]
    kind, smoothing, logits = stat.split(":")  # "bce_keras:0.0:0"
    fn = {"bce_keras": _keras_bce, "bce_exact": _exact_bce}[kind]
    return lambda a: fn(a, float(smoothing), logits == "1")


class Sums(Family):
    """Weighted sums per slice; ``stats`` names the quantities summed."""

    def __init__(self, stream, stats):
        super().__init__(stream)
        self.stats = frozenset(stats)
        for stat in self.stats:
            self.quantity(stat)  # fail early on an unknown statistic

    @staticmethod
    def quantity(stat: str):
        """The per-example quantity summed as ``stat`` (None for the weight itself)."""
        return _quantity(stat)

    def fuse(self, other: "Sums") -> "Sums":
        return type(self)(self.stream, self.stats | other.stats)

    def states(self):
        return {stat: StateSpec(stat) for stat in sorted(self.stats)}

    def _weighted(self, stat: str):
        if stat == "weight":
            return lambda a: a.w
        q = self.quantity(stat)
        return lambda a: a.w * a.derived("q:" + stat, q)

    def add_batch(self, arrays, codes, n_slices):
        out = {}
        for stat, spec in self.states().items():
            values = arrays.derived("weighted " + stat, self._weighted(stat), weighted=True)
            sums = np.bincount(codes, weights=values, minlength=n_slices)
            out[stat] = DenseColumn(spec, sums)
        return out


class ExampleSums(Sums):
    """Sums over whole examples: a multi-class output's examples rather than the (example,
    class) entries of its pooled view."""

    vectors = True


class _SumsMetric(Metric):
    stats: tuple = ()

    def families(self):
        return [Sums(self.stream, self.stats)]

    def compute_table(self, stats):
        return {self.key: self.value(stats(self.families()[0]))}

    def value(self, s) -> np.ndarray:
        """The metric for every slice from the sums ``s`` (arrays over slices)."""
        raise NotImplementedError


class ExampleCount(_SumsMetric):
    """Number of examples in the slice; the sum of their weights when weighted. With a
    ``query_key`` an example is a query (as TFMA): the number of queries, or the sum of their
    weights."""

    # no sampling interval (as TFMA); the same for every class view
    info = MetricInfo(intervals=False, per_class=False, query="allowed")
    stats = ("weight",)

    def families(self):
        return [ExampleSums(self.stream, self.stats)]

    def value(self, s):
        return s["weight"]


class WeightedExampleCount(ExampleCount):
    """TFMA's alias of ExampleCount under another name."""


class MeanLabel(_SumsMetric):
    """sum(w*y) / sum(w)."""

    stats = ("weight", "label")

    def value(self, s):
        return divide(s["label"], s["weight"])


class MeanPrediction(_SumsMetric):
    """sum(w*p) / sum(w)."""

    stats = ("weight", "prediction")

    def value(self, s):
        return divide(s["prediction"], s["weight"])


class Calibration(_SumsMetric):
    """sum(w*p) / sum(w*y): 1 is perfectly calibrated on average. NaN when sum(w*y) is 0."""

    stats = ("label", "prediction")

    def value(self, s):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s["label"] != 0, s["prediction"] / s["label"], np.nan)


class _CrossEntropy(_SumsMetric):
    info = MetricInfo(config_keys=("from_logits", "label_smoothing"), binary_labels=True,
                      probabilities=True, default_name="binary_crossentropy",
                      higher_is_better=False, value_range=NON_NEGATIVE)
    kind = ""

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        smoothing = arguments.number(config, "label_smoothing", 0.0, low=0.0, high=1.0)
        logits = arguments.flag(config, "from_logits")
        if logits:
            self.info = MetricInfo(config_keys=self.info.config_keys, binary_labels=True,
                                   default_name="binary_crossentropy", higher_is_better=False,
                                   value_range=NON_NEGATIVE)
        self.stat = f"{self.kind}:{smoothing!r}:{int(logits)}"
        self.stats = ("weight", self.stat)

    def value(self, s):
        return divide(s[self.stat], s["weight"])


class BinaryCrossentropy(_CrossEntropy):
    """Keras' binary cross-entropy: p clipped to [1e-7, 1-1e-7], weighted mean over examples."""

    kind = "bce_keras"


class BinaryCrossEntropy(_CrossEntropy):
    """TFMA's unclipped binary cross-entropy, -(y ln p + (1-y) ln(1-p)), weighted mean.

    A term whose label coefficient is zero contributes zero, so p = 1 with y = 1 gives 0
    (TFMA gives NaN there).
    """

    kind = "bce_exact"


class MeanSquaredError(_SumsMetric):
    """sum(w*(y-p)^2) / sum(w)."""

    info = MetricInfo(higher_is_better=False, value_range=NON_NEGATIVE)
    stats = ("weight", "squared_error")

    def value(self, s):
        return divide(s["squared_error"], s["weight"])


class RootMeanSquaredError(MeanSquaredError):
    """sqrt(sum(w*(y-p)^2) / sum(w))."""

    def value(self, s):
        return np.sqrt(super().value(s))


class MeanAbsoluteError(_SumsMetric):
    """sum(w*|y-p|) / sum(w)."""

    info = MetricInfo(higher_is_better=False, value_range=NON_NEGATIVE)
    stats = ("weight", "absolute_error")

    def value(self, s):
        return divide(s["absolute_error"], s["weight"])


class MeanAbsolutePercentageError(_SumsMetric):
    """100 * sum(w*|(y-p)/y|) / sum(w) over examples with y != 0 (others are skipped, as TFMA)."""

    info = MetricInfo(higher_is_better=False, value_range=NON_NEGATIVE)
    stats = ("nonzero_label", "ape")

    def value(self, s):
        return divide(s["ape"], s["nonzero_label"])


class SquaredPearsonCorrelation(_SumsMetric):
    """Weighted r^2 between labels and predictions; NaN unless both vary."""

    info = MetricInfo(higher_is_better=True, value_range=UNIT)
    stats = ("weight", "label", "prediction", "label_sq", "prediction_sq", "label_prediction")

    def value(self, s):
        n = s["weight"]
        with np.errstate(divide="ignore", invalid="ignore"):
            sx, sy = s["label"], s["prediction"]
            den = (s["label_sq"] - sx * sx / n) * (s["prediction_sq"] - sy * sy / n)
            num = (s["label_prediction"] - sx * sy / n) ** 2
        return divide(num, np.where(n > 0, den, 0.0))
