"""TFMA's ScoreDistributionPlot: how the predictions are distributed over thresholds.

TFMA computes it as a confusion matrix in which the prediction is its own (fractional) label,
at thresholds ``-1e-6, 0, 1/n, ..., 1`` (``num_thresholds`` n, default 1,000) compared
exactly (``prediction > threshold``), and then writes ``true_positives`` = the weight above
each threshold, ``true_negatives`` = the weight at or below it, ``false_positives`` =
``false_negatives`` = ``precision`` = ``recall`` = 0, keeping the other fields
(``false_positive_rate``, ``f1``, ``accuracy``, ``false_omission_rate``) of the fractional
matrix. We write exactly that, and in ``score_distribution`` (our addition) the weighted
negatives and positives (by label) between consecutive thresholds.

The state is one small per-slice histogram over the intervals between thresholds (weight,
weighted label, weighted prediction), so the counts are exact, not quantised to 1e-4.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import Family, Metric, MetricInfo
from evalbeam.metrics.confusion import matrices
from evalbeam.metrics.histogram import HistogramThresholds
from evalbeam.metrics.state import SparseColumn, StateSpec

WEIGHT_SUM, LABEL_SUM, PREDICTION_SUM = 0, 1, 2


class ThresholdIntervals(Family):
    """Per-slice weight, weighted label and weighted prediction in each interval between the
    plot thresholds ``(t[i-1], t[i]]``, plus the intervals below the first and above the
    last threshold."""

    def __init__(self, stream, num_thresholds: int):
        super().__init__(stream)
        self.thresholds = HistogramThresholds("plot", num_thresholds)

    def group_key(self):
        return super().group_key() + self.thresholds.key

    def states(self):
        return {"sums": StateSpec("sums", (3, len(self.thresholds) + 1), sparse=True)}

    def add_batch(self, arrays, codes, n_slices):
        interval = np.searchsorted(self.thresholds.values, arrays.p, side="left")
        channels = [arrays.w, arrays.derived("weighted label", lambda a: a.w * a.y, weighted=True),
                    arrays.derived("weighted prediction", lambda a: a.w * a.p, weighted=True)]
        return {"sums": SparseColumn.from_rows(self.states()["sums"], codes, n_slices, interval,
                                               channels)}


class ScoreDistributionPlot(Metric):
    """The weight of predictions above / at or below each of ``num_thresholds`` + 2 thresholds
    (TFMA's format), and the weighted negatives and positives between them."""

    info = MetricInfo(config_keys=("num_thresholds",), binary_labels=True, probabilities=True,
                      plot=True)

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        n = arguments.whole_number(config, "num_thresholds", 1000, low=1)
        self.family = ThresholdIntervals(stream, n)

    def families(self):
        return [self.family]

    def compute(self, stats):
        sums = stats(self.family)["sums"]
        thresholds = self.family.thresholds
        k = len(thresholds)
        below = np.cumsum(sums[WEIGHT_SUM])[:k]
        above = sums[WEIGHT_SUM].sum() - below
        # the prediction as a fractional label: its weighted sum is the "positive" weight
        positive_below = np.cumsum(sums[PREDICTION_SUM])[:k]
        positive_above = sums[PREDICTION_SUM].sum() - positive_below
        fractional = {"tp": positive_above, "fp": above - positive_above,
                      "fn": positive_below, "tn": below - positive_below}
        columns = matrices(np.round(thresholds.values, 6), fractional)
        zero = np.zeros(k)
        columns.update(true_positives=above, true_negatives=below, false_positives=zero,
                       false_negatives=zero, precision=zero, recall=zero)
        values = thresholds.values
        return {self.key: {
            "confusion_matrix_at_thresholds": columns,
            "score_distribution": {
                "lower_threshold_exclusive": np.concatenate([[-np.inf], values]),
                "upper_threshold_inclusive": np.concatenate([values, [np.inf]]),
                "weighted_negatives": sums[WEIGHT_SUM] - sums[LABEL_SUM],
                "weighted_positives": sums[LABEL_SUM]}}}
