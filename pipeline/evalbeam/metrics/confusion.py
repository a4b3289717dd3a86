"""Binary confusion-matrix metrics at given thresholds (exact comparisons, as TFMA).

One :class:`Confusion` family per stream counts the weighted true/false positives/negatives
at the union of every threshold the configured metrics ask for: an example is predicted
positive at ``t`` iff ``prediction > t``. Each metric is a formula over those four counts;
a formula whose denominator is not positive gives NaN.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics.base import Family, Metric, MetricInfo, divide
from evalbeam.metrics.state import DenseColumn, StateSpec

TN, FP, FN, TP = range(4)  # index = 2 * label + predicted


class Confusion(Family):
    """Weighted (tn, fp, fn, tp) per slice at each of ``thresholds``."""

    def __init__(self, stream, thresholds):
        super().__init__(stream)
        self.thresholds = tuple(sorted(set(float(t) for t in thresholds)))

    def fuse(self, other: "Confusion") -> "Confusion":
        return Confusion(self.stream, self.thresholds + other.thresholds)

    def states(self):
        return {"cm": StateSpec("cm", (len(self.thresholds), 4))}

    def add_batch(self, arrays, codes, n_slices):
        label2 = arrays.derived("label2", lambda a: 2 * a.y.astype(np.int64))
        base = codes * 4 + label2
        out = np.empty((n_slices, len(self.thresholds), 4))
        for i, t in enumerate(self.thresholds):
            out[:, i, :] = np.bincount(base + (arrays.p > t), weights=arrays.w,
                                       minlength=n_slices * 4).reshape(n_slices, 4)
        return {"cm": DenseColumn(self.states()["cm"], out)}


# name -> formula over (tp, fp, tn, fn) arrays
FORMULAS = {
    "BinaryAccuracy": lambda tp, fp, tn, fn: divide(tp + tn, tp + fp + tn + fn),
    "Precision": lambda tp, fp, tn, fn: divide(tp, tp + fp),
    "Recall": lambda tp, fp, tn, fn: divide(tp, tp + fn),
    "Specificity": lambda tp, fp, tn, fn: divide(tn, tn + fp),
    "FallOut": lambda tp, fp, tn, fn: divide(fp, fp + tn),
    "MissRate": lambda tp, fp, tn, fn: divide(fn, fn + tp),
    "F1Score": lambda tp, fp, tn, fn: divide(2 * tp, 2 * tp + fp + fn),
}


class ConfusionMetric(Metric):
    """A rate over the confusion matrix at ``thresholds`` (default [0.5]).

    One threshold gives a float, several give an array in threshold order.
    """

    info = MetricInfo(config_keys=("thresholds",), binary_labels=True, higher_is_better=True)
    threshold_key = "thresholds"

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        value = config.get(self.threshold_key, 0.5)
        values = value if isinstance(value, (list, tuple)) else [value]
        try:
            self.thresholds = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"Expected {self.threshold_key} to be a number or a list of numbers, "
                             f"got {value!r}") from None
        if not self.thresholds:
            raise ValueError(f"Expected {self.threshold_key} to list at least one threshold")
        self.scalar = not isinstance(value, (list, tuple)) or len(self.thresholds) == 1

    def families(self):
        return [Confusion(self.stream, self.thresholds)]

    def counts(self, stats):
        """tp, fp, tn, fn at this metric's thresholds (leading slice axis if ``stats`` has one)."""
        family = self.families()[0]
        fused = stats.family(family)
        idx = [fused.thresholds.index(t) for t in self.thresholds]
        cm = stats(family)["cm"][..., idx, :]
        return cm[..., TP], cm[..., FP], cm[..., TN], cm[..., FN]

    def compute_table(self, stats):
        value = FORMULAS[type(self).__name__](*self.counts(stats))
        return {self.key: value[:, 0] if self.scalar else value}


class BinaryAccuracy(ConfusionMetric):
    """(tp + tn) / total at ``threshold`` (default 0.5)."""

    info = MetricInfo(config_keys=("threshold",), binary_labels=True, higher_is_better=True)
    threshold_key = "threshold"


class Precision(ConfusionMetric):
    """tp / (tp + fp)."""


class Recall(ConfusionMetric):
    """tp / (tp + fn)."""


class Specificity(ConfusionMetric):
    """tn / (tn + fp)."""


class FallOut(ConfusionMetric):
    """fp / (fp + tn), the false positive rate."""

    info = MetricInfo(config_keys=("thresholds",), binary_labels=True, higher_is_better=False)

class MissRate(ConfusionMetric):
    """fn / (fn + tp), the false negative rate."""

    info = MetricInfo(config_keys=("thresholds",), binary_labels=True, higher_is_better=False)

class F1Score(ConfusionMetric):
    """2 tp / (2 tp + fp + fn)."""


class ConfusionMatrixAtThresholds(ConfusionMetric):
    """The four counts and the usual rates at each of ``thresholds`` (required)."""

    def __init__(self, name, stream, config):
        if "thresholds" not in config:
            raise ValueError("ConfusionMatrixAtThresholds needs config 'thresholds'")
        super().__init__(name, stream, config)

    def compute_table(self, stats):
        return None  # one matrix per slice

    def compute(self, stats):
        tp, fp, tn, fn = self.counts(stats)
        with np.errstate(divide="ignore", invalid="ignore"):
            columns = {"threshold": np.asarray(self.thresholds), "true_positives": tp,
                       "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
                       "precision": divide(tp, tp + fp), "recall": divide(tp, tp + fn),
                       "false_positive_rate": divide(fp, fp + tn),
                       "false_omission_rate": divide(fn, fn + tn),
                       "f1": divide(2 * tp, 2 * tp + fp + fn),
                       "accuracy": divide(tp + tn, tp + fp + tn + fn)}
        return {self.key: {"confusion_matrix_at_thresholds": columns}}
