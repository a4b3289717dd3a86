"""Plots of a value (the prediction, or the residual label - prediction) bucketed over a
range: calibration plots (of probabilities, or of regression predictions over a configured
range), predicted-vs-true and residual histograms.

Buckets are TFMA's calibration-histogram buckets over ``[min_value, max_value)``: the value
falls into one of 10,000 equal-width fine buckets, ``b = trunc((v - min) / (max - min) *
10000 + 1)`` clamped to ``[0, 10001]`` (bucket 0 below the range, 10001 at or above its upper
end), and fine buckets are rebinned into ``num_buckets`` by their left edge. So
``[min + i * width, min + (i + 1) * width)`` holds the values whose fine bucket starts there.
Each bucket keeps weighted sums only: of examples, and (for means) of labels and predictions.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import Family, Metric, MetricInfo, divide
from evalbeam.metrics.histogram import NEG, NUM_BUCKETS, POS, PRED, Histogram, coarse_buckets
from evalbeam.metrics.state import SparseColumn, StateSpec

WEIGHT_SUM, LABEL_SUM, PREDICTION_SUM = 0, 1, 2


def range_bucket_of(v: np.ndarray, left: float, right: float, num_buckets: int) -> np.ndarray:
    """Bucket (0 .. num_buckets + 1) of each value: TFMA's fine bucket over [left, right),
    rebinned by left edge; below the range is bucket 0, at or above its end the last one."""
    fine = np.clip(np.trunc((v - left) / (right - left) * NUM_BUCKETS + 1.0), 0, NUM_BUCKETS + 1)
    return coarse_buckets(num_buckets)[fine.astype(np.int64)]


@functools.lru_cache(maxsize=64)
def bucket_edges(left: float, right: float, num_buckets: int) -> tuple:
    """(lower inclusive, upper exclusive) of every bucket, with -inf and +inf at the ends
    (made once per range: every slice's plot shares them, read-only)."""
    inner = [left + i * (right - left) / num_buckets for i in range(num_buckets + 1)]
    return np.array([-np.inf] + inner), np.array(inner + [np.inf])


class ValueHistogram(Family):
    """Per-slice weighted sums over the range buckets of ``axis`` (prediction or residual):
    the weight, and with ``with_means`` also the weighted label and prediction."""

    def __init__(self, stream, axis: str, left: float, right: float, num_buckets: int,
                 with_means: bool = False):
        super().__init__(stream)
        self.axis, self.left, self.right, self.num_buckets = axis, left, right, num_buckets
        self.with_means = with_means

    def group_key(self):
        return super().group_key() + (self.axis, self.left, self.right, self.num_buckets)

    def fuse(self, other: "ValueHistogram") -> "ValueHistogram":
        return ValueHistogram(self.stream, self.axis, self.left, self.right, self.num_buckets,
                              self.with_means or other.with_means)

    def states(self):
        channels = 3 if self.with_means else 1
        return {"sums": StateSpec("sums", (channels, self.num_buckets + 2), sparse=True)}

    def add_batch(self, arrays, codes, n_slices):
        values = arrays.p if self.axis == "prediction" else arrays.derived(
            "residual", lambda a: a.y - a.p)
        bucket = range_bucket_of(values, self.left, self.right, self.num_buckets)
        channels = [arrays.w]
        if self.with_means:
            channels += [arrays.derived("weighted label", lambda a: a.w * a.y, weighted=True),
                         arrays.derived("weighted prediction", lambda a: a.w * a.p, weighted=True)]
        return {"sums": SparseColumn.from_rows(self.states()["sums"], codes, n_slices, bucket,
                                               channels)}


def value_range(config: dict, default: tuple, aliases: dict | None = None) -> tuple:
    """``(min_value, max_value)`` from the config (``aliases`` maps other accepted keys, e.g.
    TFMA's ``left``/``right``), checked to be a non-empty finite range."""
    bounds = []
    for key, fallback in zip(("min_value", "max_value"), default):
        given = [k for k in (key, (aliases or {}).get(key)) if k and k in config]
        if len(given) > 1:
            raise ValueError(f"give only one of {given[0]!r} and {given[1]!r}")
        bounds.append(arguments.number(config, given[0]) if given else fallback)
    low, high = bounds
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"Expected min_value < max_value (finite), got {low} and {high}")
    return low, high


def num_buckets_of(config: dict, default: int) -> int:
    return arguments.whole_number(config, "num_buckets", default, low=1, high=NUM_BUCKETS)


class _RangePlot(Metric):
    axis = "prediction"
    with_means = True
    default_range = (0.0, 1.0)
    default_buckets = 100
    aliases: dict | None = None  # other config keys accepted for min_value / max_value

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.left, self.right = value_range(config, self.default_range, self.aliases)
        self.num_buckets = num_buckets_of(config, self.default_buckets)

    def families(self):
        return [ValueHistogram(self.stream, self.axis, self.left, self.right, self.num_buckets,
                               self.with_means)]

    def sums(self, stats):
        return stats(self.families()[0])["sums"]


class PredictedVsTrue(_RangePlot):
    """Per prediction bucket over [``min_value``, ``max_value``) (default [0, 1), 100 buckets,
    plus the buckets below and above the range): the weighted example count, the mean
    prediction and the mean label (NaN for an empty bucket)."""

    info = MetricInfo(config_keys=("num_buckets", "min_value", "max_value"), plot=True)

    def compute(self, stats):
        sums = self.sums(stats)
        lower, upper = bucket_edges(self.left, self.right, self.num_buckets)
        return {self.key: {"predicted_vs_true": {
            "lower_threshold_inclusive": lower, "upper_threshold_exclusive": upper,
            "num_weighted_examples": sums[WEIGHT_SUM],
            "mean_prediction": divide(sums[PREDICTION_SUM], sums[WEIGHT_SUM]),
            "mean_label": divide(sums[LABEL_SUM], sums[WEIGHT_SUM])}}}


class ResidualHistogram(_RangePlot):
    """Weighted example counts per bucket of the residual ``label - prediction`` over
    [``min_value``, ``max_value``) (default [-1, 1), 100 buckets, plus the buckets below and
    above the range)."""

    info = MetricInfo(config_keys=("num_buckets", "min_value", "max_value"), plot=True)
    axis, with_means, default_range = "residual", False, (-1.0, 1.0)

    def compute(self, stats):
        lower, upper = bucket_edges(self.left, self.right, self.num_buckets)
        return {self.key: {"residual_histogram": {
            "lower_threshold_inclusive": lower, "upper_threshold_exclusive": upper,
            "num_weighted_examples": self.sums(stats)[WEIGHT_SUM]}}}


class CalibrationPlot(_RangePlot):
    """Weighted examples, labels and predictions in ``num_buckets`` (default 1,000) equal-width
    prediction buckets over [``left``, ``right``) (TFMA's keys; ``min_value``/``max_value``
    also accepted; default [0, 1)), plus the buckets below and above the range.

    Over [0, 1) it reads the shared prediction histogram and needs binary labels and
    probabilities; over any other range (regression) it takes any finite labels and
    predictions, and ``total_weighted_label`` sums the labels as they are.
    """

    info = MetricInfo(config_keys=("num_buckets", "left", "right", "min_value", "max_value"),
                      binary_labels=True, probabilities=True, plot=True)
    default_buckets = 1000
    aliases = {"min_value": "left", "max_value": "right"}

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.probabilities = (self.left, self.right) == (0.0, 1.0)
        if not self.probabilities:
            self.info = dataclasses.replace(self.info, binary_labels=False, probabilities=False)

    def families(self):
        if self.probabilities:
            return [Histogram(self.stream, self.num_buckets, with_predictions=True)]
        return super().families()

    def compute(self, stats):
        sums = stats(self.families()[0])
        if self.probabilities:
            hist = sums["hist"]
            weight, label, prediction = hist[NEG] + hist[POS], hist[POS], hist[PRED]
        else:
            weight, label, prediction = sums["sums"][[WEIGHT_SUM, LABEL_SUM, PREDICTION_SUM]]
        lower, upper = bucket_edges(self.left, self.right, self.num_buckets)
        return {self.key: {"calibration_histogram_buckets": {
            "lower_threshold_inclusive": lower, "upper_threshold_exclusive": upper,
            "num_weighted_examples": weight, "total_weighted_label": label,
            "total_weighted_refined_prediction": prediction}}}
