"""Metrics that are ratios of weighted sums: counts, means, calibration, losses, errors.

One :class:`Sums` family per stream accumulates every weighted sum the configured metrics need
(``sum(w)``, ``sum(w*y)``, ``sum(w*p)``, ``sum(w*loss)``, ...), one ``np.bincount`` per sum
and batch. Metrics divide in ``compute`` only.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import NON_NEGATIVE, UNIT, Family, Metric, MetricInfo, divide
from evalbeam.metrics.state import DenseColumn, StateSpec, by_statistic, state_name

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


WEIGHT, LABEL, PREDICTION = ("weight",), ("label",), ("prediction",)

# Per-example quantities by statistic ``(kind, *arguments)``; each sum is sum(w * quantity).
_QUANTITIES = {
    WEIGHT: None,
    LABEL: lambda a: a.y,
    PREDICTION: lambda a: a.p,
    ("label_sq",): lambda a: a.y * a.y,
    ("prediction_sq",): lambda a: a.p * a.p,
    ("label_prediction",): lambda a: a.y * a.p,
    ("squared_error",): lambda a: (a.y - a.p) ** 2,
    ("absolute_error",): lambda a: np.abs(a.y - a.p),
    ("ape",): _ape,
    ("nonzero_label",): lambda a: (a.y != 0).astype(np.float64),
}
# (kind, label_smoothing, from_logits)
_CROSS_ENTROPIES = {"bce_keras": _keras_bce, "bce_exact": _exact_bce}


def _quantity(stat: tuple):
    if stat in _QUANTITIES:
        return _QUANTITIES[stat]
    kind, *args = stat
    if kind not in _CROSS_ENTROPIES or len(args) != 2:
        raise ValueError(f"unknown statistic {stat!r}")
    return lambda a: _CROSS_ENTROPIES[kind](a, *args)


class Sums(Family):
    """Weighted sums per slice; ``stats`` names the quantities summed, each as a tuple
    ``(kind, *arguments)``."""

    def __init__(self, stream, stats):
        super().__init__(stream)
        self.stats = frozenset(stats)
        for stat in self.stats:
            self.quantity(stat)  # fail early on an unknown statistic

    @staticmethod
    def quantity(stat: tuple):
        """The per-example quantity summed as ``stat`` (None for the weight itself)."""
        return _quantity(stat)

    def fuse(self, other: "Sums") -> "Sums":
        return type(self)(self.stream, self.stats | other.stats)

    def states(self):
        return {state_name(s): StateSpec(state_name(s)) for s in sorted(self.stats, key=state_name)}

    def values(self, states: dict) -> dict:
        """``{statistic: sums}`` of this family's statistics from (a fused family's) states."""
        return by_statistic(states, self.stats)

    def _weighted(self, stat: tuple):
        if stat == WEIGHT:
            return lambda a: a.w
        q = self.quantity(stat)
        return lambda a: a.w * a.derived("q:" + state_name(stat), q)

    def add_batch(self, arrays, codes, n_slices):
        specs = self.states()
        out = {}
        for stat in sorted(self.stats, key=state_name):
            name = state_name(stat)
            # named by the state: a family reading the same weighted values shares them
            values = arrays.derived("weighted " + name, self._weighted(stat), weighted=True)
            sums = np.bincount(codes, weights=values, minlength=n_slices)
            out[name] = DenseColumn(specs[name], sums)
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
        family = self.families()[0]
        return {self.key: self.value(family.values(stats(family)))}

    def value(self, s) -> np.ndarray:
        """The metric for every slice from the sums ``s`` (arrays over slices, by statistic)."""
        raise NotImplementedError


class ExampleCount(_SumsMetric):
    """Number of examples in the slice; the sum of their weights when weighted. With a
    ``query_key`` an example is a query (as TFMA): the number of queries, or the sum of their
    weights."""

    # no sampling interval (as TFMA); the same for every class view
    info = MetricInfo(intervals=False, per_class=False, query="allowed")
    stats = (WEIGHT,)

    def families(self):
        return [ExampleSums(self.stream, self.stats)]

    def value(self, s):
        return s[WEIGHT]


class WeightedExampleCount(ExampleCount):
    """TFMA's alias of ExampleCount under another name."""


class MeanLabel(_SumsMetric):
    """sum(w*y) / sum(w)."""

    stats = (WEIGHT, LABEL)

    def value(self, s):
        return divide(s[LABEL], s[WEIGHT])


class MeanPrediction(_SumsMetric):
    """sum(w*p) / sum(w)."""

    stats = (WEIGHT, PREDICTION)

    def value(self, s):
        return divide(s[PREDICTION], s[WEIGHT])


class Calibration(_SumsMetric):
    """sum(w*p) / sum(w*y): 1 is perfectly calibrated on average. NaN when sum(w*y) is 0."""

    stats = (LABEL, PREDICTION)

    def value(self, s):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s[LABEL] != 0, s[PREDICTION] / s[LABEL], np.nan)


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
        self.stat = (self.kind, smoothing, logits)
        self.stats = (WEIGHT, self.stat)

    def value(self, s):
        return divide(s[self.stat], s[WEIGHT])


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
    stats = (WEIGHT, ("squared_error",))

    def value(self, s):
        return divide(s[("squared_error",)], s[WEIGHT])


class RootMeanSquaredError(MeanSquaredError):
    """sqrt(sum(w*(y-p)^2) / sum(w))."""

    def value(self, s):
        return np.sqrt(super().value(s))


class MeanAbsoluteError(_SumsMetric):
    """sum(w*|y-p|) / sum(w)."""

    info = MetricInfo(higher_is_better=False, value_range=NON_NEGATIVE)
    stats = (WEIGHT, ("absolute_error",))

    def value(self, s):
        return divide(s[("absolute_error",)], s[WEIGHT])


class MeanAbsolutePercentageError(_SumsMetric):
    """100 * sum(w*|(y-p)/y|) / sum(w) over examples with y != 0 (others are skipped, as TFMA)."""

    info = MetricInfo(higher_is_better=False, value_range=NON_NEGATIVE)
    stats = (("nonzero_label",), ("ape",))

    def value(self, s):
        return divide(s[("ape",)], s[("nonzero_label",)])


class SquaredPearsonCorrelation(_SumsMetric):
    """Weighted r^2 between labels and predictions; NaN unless both vary."""

    info = MetricInfo(higher_is_better=True, value_range=UNIT)
    stats = (WEIGHT, LABEL, PREDICTION, ("label_sq",), ("prediction_sq",), ("label_prediction",))

    def value(self, s):
        n = s[WEIGHT]
        with np.errstate(divide="ignore", invalid="ignore"):
            sx, sy = s[LABEL], s[PREDICTION]
            den = (s[("label_sq",)] - sx * sx / n) * (s[("prediction_sq",)] - sy * sy / n)
            num = (s[("label_prediction",)] - sx * sy / n) ** 2
        return divide(num, np.where(n > 0, den, 0.0))
