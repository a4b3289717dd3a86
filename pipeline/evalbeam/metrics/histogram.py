"""Metrics read off one weighted prediction histogram: AUC, AUC-PR, the operating-point
metrics and confusion-matrix plots (calibration plots, gain and lift curves read it too).

Predictions are bucketed as TFMA does: ``b = floor(p * 10000 + 1)`` clamped to ``[0, 10001]``,
so bucket ``b`` in 1..10000 holds ``[(b-1)/10000, b/10000)``, bucket 0 holds ``p < 0`` and
bucket 10001 holds ``p >= 1``. Per bucket the family keeps the weight of negatives, of
positives and (for calibration plots) the weighted prediction sum.

At a threshold ``t`` a bucket counts as predicted positive iff its left edge is
``>= t + 1e-7`` (``>= 0`` for ``t == 0``), and every bucket is negative at ``t >= 1 + 1e-7``:
TFMA's rebinning, so areas and plots match TFMA to the last digit. Predictions are thereby
quantised to 1e-4: the ROC area differs from the exact (sorted) one by at most the weight of
pairs that share a bucket, i.e. O(1e-4) for smooth score distributions.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import UNIT, Family, Metric, MetricInfo, divide
from evalbeam.metrics.confusion import matrices
from evalbeam.metrics.state import DENSE_CELLS, DENSE_PER_ROW, SparseColumn, StateSpec

NUM_BUCKETS = 10000
NBK = NUM_BUCKETS + 2  # with the (-inf, 0) and [1, +inf) buckets
REPLICATE_BUCKETS = 1000  # histogram resolution of the resamples behind confidence intervals

# Left edge of every bucket.
_EDGES = np.concatenate([[-np.inf], np.arange(NUM_BUCKETS) / NUM_BUCKETS, [np.inf]])

NEG, POS, PRED = 0, 1, 2


def prediction_bucket(p: np.ndarray) -> np.ndarray:
    """TFMA's histogram bucket of each prediction (0 .. 10001)."""
    b = np.trunc(p * NUM_BUCKETS + 1.0)
    return np.clip(b, 0, NBK - 1).astype(np.int64)


def first_fine_bucket(num_buckets: int) -> np.ndarray:
    """Bucket of a ``num_buckets`` histogram -> the first fine bucket it holds (same left edge)."""
    out = np.empty(num_buckets + 2, np.int64)
    out[0], out[-1] = 0, NBK - 1
    out[1:-1] = -(-np.arange(num_buckets) * NUM_BUCKETS // num_buckets) + 1
    return out


def coarse_buckets(num_buckets: int) -> np.ndarray:
    """Fine bucket -> bucket of a ``num_buckets`` histogram, by left edge (TFMA's rebinning)."""
    target = np.empty(NBK, np.int64)
    target[0], target[-1] = 0, num_buckets + 1
    target[1:-1] = np.arange(NUM_BUCKETS) * num_buckets // NUM_BUCKETS + 1
    return target


class Histogram(Family):
    """Per-slice weighted histogram of predictions by label.

    ``num_buckets`` equal-width buckets over [0, 1) plus the (-inf, 0) and [1, +inf) buckets;
    coarser histograms rebin TFMA's 10,000 buckets by left edge. ``with_predictions`` adds the
    weighted prediction sum per bucket (calibration plots).
    """

    def __init__(self, stream, num_buckets: int = NUM_BUCKETS, with_predictions: bool = False):
        super().__init__(stream)
        self.num_buckets = num_buckets
        self.nbk = num_buckets + 2
        self.with_predictions = with_predictions

    def group_key(self):
        return super().group_key() + (self.num_buckets,)

    def fuse(self, other: "Histogram") -> "Histogram":
        return Histogram(self.stream, self.num_buckets,
                         self.with_predictions or other.with_predictions)

    @property
    def channels(self) -> int:
        return 3 if self.with_predictions else 2

    def for_replicates(self) -> "Histogram":
        # Resampled curves only feed standard errors: 1,000 buckets (1e-3 quantisation)
        # keep twenty replicates small.
        return Histogram(self.stream, min(self.num_buckets, REPLICATE_BUCKETS))

    def buckets_as(self, asked: "Histogram"):
        if self.num_buckets == asked.num_buckets:
            return None
        return coarse_buckets(asked.num_buckets)[first_fine_bucket(self.num_buckets)]

    def states(self):
        return {"hist": StateSpec("hist", (self.channels, self.nbk), sparse=True)}

    def _bucket(self, arrays):
        def fine(a):
            return a.derived("bucket", lambda b: prediction_bucket(b.p))

        if self.num_buckets == NUM_BUCKETS:
            return fine(arrays)
        return arrays.derived(f"bucket/{self.num_buckets}",
                              lambda a: coarse_buckets(self.num_buckets)[fine(a)])

    def add_batch(self, arrays, codes, n_slices):
        spec = self.states()["hist"]
        bucket = self._bucket(arrays)
        channels, nbk = self.channels, self.nbk
        if n_slices * nbk <= max(DENSE_CELLS, DENSE_PER_ROW * len(codes)):
            # One bincount straight into the (slice, channel, bucket) layout: the label picks
            # the NEG/POS channel (the within-slice cell is the same for every slicing spec:
            # made once per batch); one more for the PRED channel's w*p.
            cell = arrays.derived(f"cell/{nbk}", lambda a: self._bucket(a) + nbk * a.derived(
                "label_int", lambda b: b.y.astype(np.int64)))
            hist = np.bincount(codes * (2 * nbk) + cell, weights=arrays.w,
                               minlength=n_slices * 2 * nbk).reshape(n_slices, 2, nbk)
            if self.with_predictions:
                wp = arrays.derived("weighted prediction", lambda a: a.w * a.p, weighted=True)
                by_label, hist = hist, np.empty((n_slices, channels, nbk))
                hist[:, :PRED] = by_label
                hist[:, PRED] = np.bincount(codes * nbk + bucket, weights=wp,
                                            minlength=n_slices * nbk).reshape(n_slices, nbk)
            return {"hist": SparseColumn.from_dense(spec, hist)}
        cell = codes * nbk + bucket
        uniq, inverse = np.unique(cell, return_inverse=True)
        wy = arrays.derived("weighted label", lambda a: a.w * a.y, weighted=True)
        values = np.empty((len(uniq), channels))
        values[:, POS] = np.bincount(inverse, weights=wy, minlength=len(uniq))
        values[:, NEG] = np.bincount(inverse, weights=arrays.w, minlength=len(uniq)) - values[:, POS]
        if self.with_predictions:
            wp = arrays.derived("weighted prediction", lambda a: a.w * a.p, weighted=True)
            values[:, PRED] = np.bincount(inverse, weights=wp, minlength=len(uniq))
        return {"hist": SparseColumn.from_entries(spec, n_slices, uniq // nbk, uniq % nbk, values)}


class HistogramThresholds:
    """A named set of thresholds, resolved (on first use, in the process that uses them; they
    are not shipped with the pipeline) to the first histogram bucket positive at each.

    ``("interpolated", n)``: TFMA's ``num_thresholds`` thresholds; ``("plot", n)``: the
    confusion-matrix plot's -1e-6, 0, 1/n, ..., 1.
    """

    def __init__(self, kind: str, n: int):
        self.key = (kind, n)  # names the threshold set, for sharing results between metrics

    def __getstate__(self):
        return {"key": self.key}

    @functools.cached_property
    def values(self) -> np.ndarray:
        kind, n = self.key
        if kind == "interpolated":
            return np.array(interpolated_thresholds(n))
        return np.array([-1e-6] + [i / n for i in range(n + 1)])

    @functools.cached_property
    def first(self) -> np.ndarray:
        edges = np.where(self.values == 0.0, 0.0, self.values + 1e-7)
        first = np.searchsorted(_EDGES, edges, side="left")
        first[self.values >= 1.0 + 1e-7] = NBK  # nothing is positive beyond 1
        return first

    @functools.cached_property
    def group(self) -> np.ndarray:
        """Bucket -> how many thresholds count it positive: buckets with equal counts are
        indistinguishable at these thresholds (one point of the curve)."""
        return np.searchsorted(self.first, np.arange(NBK), side="right")

    def __len__(self):
        return len(self.values)


def confusion_at(hist: np.ndarray, thresholds: HistogramThresholds) -> dict:
    """tp, fp, tn, fn (arrays over the thresholds) from one slice's histogram."""
    pos_above = np.concatenate([np.cumsum(hist[POS, ::-1])[::-1], [0.0]])
    neg_above = np.concatenate([np.cumsum(hist[NEG, ::-1])[::-1], [0.0]])
    tp, fp = pos_above[thresholds.first], neg_above[thresholds.first]
    return {"tp": tp, "fp": fp, "fn": pos_above[0] - tp, "tn": neg_above[0] - fp}


def interpolated_thresholds(n: int) -> list:
    """TFMA's thresholds for ``num_thresholds=n``: just below 0, i/(n-1) inside, just above 1."""
    return [-1e-7] + [i / (n - 1) for i in range(1, n - 1)] + [1.0 + 1e-7]


@dataclass
class Curve:
    """The distinct points of every slice's curve over a set of thresholds.

    One entry per (slice, group of buckets between two consecutive thresholds that hold
    examples), walking each slice from the highest threshold down: ``pos``/``neg`` are the
    weights the step adds, ``tp``/``fp`` the totals predicted positive after it, ``tp_prev``/
    ``fp_prev`` before it. ``P``/``N`` are every slice's positive/negative weight. ``level`` is
    how many thresholds count the step's buckets positive: the point holds at thresholds
    ``level - 1`` and below, down to the next step's level.
    """

    rows: np.ndarray
    level: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tp_prev: np.ndarray
    fp_prev: np.ndarray
    P: np.ndarray
    N: np.ndarray


def curve(entries, n_rows: int, thresholds: HistogramThresholds) -> Curve:
    """All slices' curves from histogram entries sorted by (row, bucket), vectorised."""
    rows, buckets, values = entries
    P = np.bincount(rows, weights=values[:, POS], minlength=n_rows)
    N = np.bincount(rows, weights=values[:, NEG], minlength=n_rows)
    group = thresholds.group[buckets]
    on = group > 0  # below every threshold: never predicted positive, only in the totals
    rows, group, pos, neg = rows[on], group[on], values[on, POS], values[on, NEG]
    if len(rows):
        key = rows * (len(thresholds) + 1) + group
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        rows, group = rows[starts], group[starts]
        pos, neg = np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)
    rows, group, pos, neg = rows[::-1], group[::-1], pos[::-1], neg[::-1]
    first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, bool)
    segment = np.cumsum(first) - 1
    cpos, cneg = np.cumsum(pos), np.cumsum(neg)
    tp = cpos - (cpos - pos)[first][segment]
    fp = cneg - (cneg - neg)[first][segment]
    return Curve(rows, group, pos, neg, tp, fp, tp - pos, fp - neg, P, N)


def _per_row(c: Curve, terms: np.ndarray) -> np.ndarray:
    """Sum of the finite terms per slice (TFMA's nansum)."""
    return np.bincount(c.rows, weights=np.where(np.isfinite(terms), terms, 0.0), minlength=len(c.P))


def roc_auc(c: Curve, method: str = "interpolation") -> np.ndarray:
    """Area under each slice's ROC curve (trapezoids, or the lower/upper step); NaN unless the
    slice has both classes."""
    height = {"interpolation": (c.tp + c.tp_prev) / 2.0, "minoring": c.tp_prev,
              "majoring": c.tp}[method]
    return divide(_per_row(c, c.neg * height), c.P * c.N)


def pr_auc(c: Curve, method: str = "interpolation") -> np.ndarray:
    """Area under each slice's precision-recall curve; NaN without positives.

    ``interpolation`` is Davis & Goadrich's: precision interpolated along each step as TFMA
    (and Keras) compute it; ``minoring``/``majoring`` take the lower/upper precision.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "interpolation":
            predicted, before = c.tp + c.fp, c.tp_prev + c.fp_prev
            slope = c.pos / (c.pos + c.neg)
            intercept = c.tp_prev - slope * before
            both = (predicted > 0) & (before > 0)
            ratio = np.where(both, predicted / np.where(both, before, 1.0), 1.0)
            terms = slope * (c.pos + intercept * np.log(ratio))
        else:
            precision, before = c.tp / (c.tp + c.fp), c.tp_prev / (c.tp_prev + c.fp_prev)
            pick = np.minimum if method == "minoring" else np.maximum
            terms = c.pos * pick(precision, before)
    return divide(_per_row(c, terms), c.P)


class _HistogramMetric(Metric):
    def families(self):
        return [Histogram(self.stream)]

    def hist(self, stats):
        return stats(self.families()[0])["hist"]


class AUC(_HistogramMetric):
    """Area under the ROC (or PR) curve from ``num_thresholds`` thresholds (default 10,000).

    NaN for a slice without both classes (TFMA reports 0.0 there).
    """

    info = MetricInfo(config_keys=("num_thresholds", "curve", "summation_method", "class_id",
                                   "top_k"),
                      binary_labels=True, probabilities=True, higher_is_better=True,
                      value_range=UNIT)
    default_curve = "ROC"

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        n = arguments.whole_number(config, "num_thresholds", NUM_BUCKETS, low=2)
        self.thresholds = HistogramThresholds("interpolated", n)
        self.curve = arguments.text(config, "curve", self.default_curve, ("ROC", "PR"))
        self.method = arguments.text(config, "summation_method", "interpolation",
                                     ("interpolation", "majoring", "minoring"))

    def compute_table(self, stats):
        family = self.families()[0]
        points = stats.memo(("curve", family.group_key(), self.thresholds.key),
                            lambda: curve(self.hist(stats).entries(), stats.n, self.thresholds))
        area = roc_auc if self.curve == "ROC" else pr_auc
        return {self.key: area(points, self.method)}


class _OperatingPoint(_HistogramMetric):
    """The best rate (or the highest threshold) among the ``num_thresholds`` thresholds
    (default 10,000) at which a constraint on another rate holds (TFMA: the nanmax over
    feasible thresholds; 0.0 when none is feasible). NaN for a slice without the examples a
    rate it reads needs: positives for recall, negatives for specificity and the false
    positive rate (an empty slice has neither); TFMA gives 0.0 there."""

    target: str = ""  # config key of the constraint's bound
    constrained: str = ""  # the rate that must reach the bound ...
    at_most: bool = False  # ... from above (<=) instead of from below (>=)
    maximised: str = ""  # the rate (or "threshold") reported
    higher_is_better: bool | None = True
    value_range: tuple | None = UNIT

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.info = MetricInfo(config_keys=(cls.target, "num_thresholds", "class_id", "top_k"),
                              binary_labels=True, probabilities=True,
                              higher_is_better=cls.higher_is_better, value_range=cls.value_range)

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.bound = arguments.number(config, self.target, low=0.0, high=1.0)
        self.thresholds = HistogramThresholds(
            "interpolated", arguments.whole_number(config, "num_thresholds", NUM_BUCKETS, low=2))

    @staticmethod
    def rates(tp, fp, P, N) -> dict:
        return {"recall": divide(tp, P), "specificity": divide(N - fp, N),
                "precision": divide(tp, tp + fp), "false_positive_rate": divide(fp, N)}

    def compute_table(self, stats):
        family = self.families()[0]
        points = stats.memo(("curve", family.group_key(), self.thresholds.key),
                            lambda: curve(self.hist(stats).entries(), stats.n, self.thresholds))
        n = stats.n
        # every threshold's point: nothing predicted positive, then each step of the curve
        rows = np.concatenate([np.arange(n), points.rows])
        tp = np.concatenate([np.zeros(n), points.tp])
        fp = np.concatenate([np.zeros(n), points.fp])
        r = self.rates(tp, fp, points.P[rows], points.N[rows])
        # the highest threshold at which each point holds (nothing positive: the last one)
        values = self.thresholds.values
        r["threshold"] = np.concatenate([np.full(n, values[-1]), values[points.level - 1]])
        ok = r[self.constrained] <= self.bound if self.at_most else r[self.constrained] >= self.bound
        value = r[self.maximised][ok]
        best = np.full(n, -np.inf)
        np.fmax.at(best, rows[ok], value)
        feasible = np.bincount(rows[ok], minlength=n) > 0
        value = np.where(feasible, np.where(best == -np.inf, np.nan, best), 0.0)
        # undefined (NaN) where a rate it reads needs a class the slice lacks
        rates = {self.constrained, self.maximised}
        lacking = np.zeros(n, dtype=bool)
        if "recall" in rates:
            lacking |= ~(points.P > 0)
        if rates & {"specificity", "false_positive_rate"}:
            lacking |= ~(points.N > 0)
        return {self.key: np.where(lacking, np.nan, value)}


class SensitivityAtSpecificity(_OperatingPoint):
    """The highest recall at a threshold where specificity >= ``specificity``."""

    target = "specificity"
    constrained, at_most, maximised = "specificity", False, "recall"


class SpecificityAtSensitivity(_OperatingPoint):
    """The highest specificity at a threshold where recall >= ``sensitivity``."""

    target = "sensitivity"
    constrained, at_most, maximised = "recall", False, "specificity"


class PrecisionAtRecall(_OperatingPoint):
    """The highest precision at a threshold where recall >= ``recall``."""

    target = "recall"
    constrained, at_most, maximised = "recall", False, "precision"


class RecallAtPrecision(_OperatingPoint):
    """The highest recall at a threshold where precision >= ``precision``."""

    target = "precision"
    constrained, at_most, maximised = "precision", False, "recall"


class RecallAtFalsePositiveRate(_OperatingPoint):
    """The highest recall at a threshold where the false positive rate <= ``false_positive_rate``."""

    target = "false_positive_rate"
    constrained, at_most, maximised = "false_positive_rate", True, "recall"


class ThresholdAtRecall(_OperatingPoint):
    """The highest of the thresholds at which recall >= ``recall`` (TFMA's definition: the
    threshold to use for that recall; 0.0 when no threshold reaches it; NaN for a slice
    without positives)."""

    target = "recall"
    constrained, at_most, maximised = "recall", False, "threshold"
    higher_is_better = None  # a setting, not a quality
    value_range = None  # a threshold (from just below 0 to just above 1)


class AUCPrecisionRecall(AUC):
    """Area under the precision-recall curve (AUC with ``curve: PR``). NaN without positives."""

    default_curve = "PR"


class ConfusionMatrixPlot(_HistogramMetric):
    """Confusion matrices at ``num_thresholds`` + 2 thresholds (-1e-6, 0, 1/n, ..., 1): the points
    of the ROC and precision-recall curves."""

    info = MetricInfo(config_keys=("num_thresholds",), binary_labels=True, probabilities=True,
                      plot=True)

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        n = arguments.whole_number(config, "num_thresholds", 1000, low=1)
        self.thresholds = HistogramThresholds("plot", n)

    def compute(self, stats):
        cm = confusion_at(self.hist(stats), self.thresholds)
        columns = matrices(np.round(self.thresholds.values, 6), cm)
        return {self.key: {"confusion_matrix_at_thresholds": columns}}
