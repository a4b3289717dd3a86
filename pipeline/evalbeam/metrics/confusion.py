"""Binary confusion-matrix metrics at given thresholds (exact comparisons, as TFMA).

One :class:`Confusion` family per stream counts the weighted true/false positives/negatives
at the union of every threshold the configured metrics ask for: an example is predicted
positive at ``t`` iff ``prediction > t``. Each metric is a formula over those four counts;
a formula whose denominator is not positive gives NaN (:func:`~evalbeam.metrics.base.divide`).
A table of matrices (:func:`matrices`) is a curve, with TFMA's convention at its ends.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import (NON_NEGATIVE, SIGNED_UNIT, UNIT, Family, Metric, MetricInfo,
                                   divide)
from evalbeam.metrics.state import DenseColumn, StateSpec

_TN, _FP, _FN, _TP = range(4)  # index = 2 * label + predicted


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
        base = codes * 4
        out = np.empty((n_slices, len(self.thresholds), 4))
        for i, t in enumerate(self.thresholds):
            # 2 * label + predicted: the same for every slicing spec, made once per batch
            cell = arrays.derived(f"confusion_cell/{t!r}", lambda a, t=t: 2 * a.derived(
                "label_int", lambda b: b.y.astype(np.int64)) + (a.p > t))
            out[:, i, :] = np.bincount(base + cell, weights=arrays.w,
                                       minlength=n_slices * 4).reshape(n_slices, 4)
        return {"cm": DenseColumn(self.states()["cm"], out)}


class ConfusionMetric(Metric):
    """A rate over the confusion matrix at ``thresholds`` (default [0.5]).

    One threshold gives a float, several give an array in threshold order.
    """

    info = MetricInfo(config_keys=("thresholds", "class_id", "top_k"), binary_labels=True,
                      higher_is_better=True)
    threshold_key = "thresholds"

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        # a top-k view leaves the top k scores and -inf: by default they are the positives
        top_k = stream.sub_key is not None and stream.sub_key.top_k is not None
        value = config.get(self.threshold_key, -np.inf if top_k else 0.5)
        self.thresholds = arguments.numbers(config, self.threshold_key, value)
        self.scalar = not isinstance(value, (list, tuple)) or len(self.thresholds) == 1

    def families(self):
        return [Confusion(self.stream, self.thresholds)]

    def counts(self, stats):
        """tp, fp, tn, fn at this metric's thresholds (leading slice axis if ``stats`` has one)."""
        family = self.families()[0]
        fused = stats.family(family)
        idx = [fused.thresholds.index(t) for t in self.thresholds]
        cm = stats(family)["cm"][..., idx, :]
        return cm[..., _TP], cm[..., _FP], cm[..., _TN], cm[..., _FN]

    @staticmethod
    def formula(tp, fp, tn, fn):
        """The metric from the weighted counts (arrays); NaN where a denominator is 0."""
        raise NotImplementedError

    def compute_table(self, stats):
        value = self.formula(*self.counts(stats))
        return {self.key: value[:, 0] if self.scalar else value}


def _info(higher_is_better, value_range=None, key="thresholds"):
    return MetricInfo(config_keys=(key, "class_id", "top_k"), binary_labels=True,
                      higher_is_better=higher_is_better, value_range=value_range)


def _ratio(num, den):
    """num / den keeping the sign of den (TFMA leaves these unguarded: inf or NaN at 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(num, den)


class BinaryAccuracy(ConfusionMetric):
    """(tp + tn) / total at ``threshold`` (default 0.5)."""

    info = _info(True, UNIT, "threshold")
    threshold_key = "threshold"
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp + tn, tp + fp + tn + fn))


class Precision(ConfusionMetric):
    """tp / (tp + fp), the positive predictive value."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fp))


class Recall(ConfusionMetric):
    """tp / (tp + fn), the true positive rate."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fn))


class Specificity(ConfusionMetric):
    """tn / (tn + fp), the true negative rate."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tn, tn + fp))


class FallOut(ConfusionMetric):
    """fp / (fp + tn), the false positive rate."""

    info = _info(False, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(fp, fp + tn))


class MissRate(ConfusionMetric):
    """fn / (fn + tp), the false negative rate."""

    info = _info(False, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(fn, fn + tp))


class F1Score(ConfusionMetric):
    """2 tp / (2 tp + fp + fn)."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(2 * tp, 2 * tp + fp + fn))


class TruePositives(ConfusionMetric):
    """Weight of positives predicted positive."""

    info = _info(True, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: tp)


class TrueNegatives(ConfusionMetric):
    """Weight of negatives predicted negative."""

    info = _info(True, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: tn)


class FalsePositives(ConfusionMetric):
    """Weight of negatives predicted positive."""

    info = _info(False, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: fp)


class FalseNegatives(ConfusionMetric):
    """Weight of positives predicted negative."""

    info = _info(False, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: fn)


class TP(TruePositives):
    """TFMA's alias of TruePositives (default name ``tp``)."""


class TN(TrueNegatives):
    """TFMA's alias of TrueNegatives (default name ``tn``)."""


class FP(FalsePositives):
    """TFMA's alias of FalsePositives (default name ``fp``)."""


class FN(FalseNegatives):
    """TFMA's alias of FalseNegatives (default name ``fn``)."""


class NegativePredictiveValue(ConfusionMetric):
    """tn / (tn + fn)."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tn, tn + fn))


class FalseDiscoveryRate(ConfusionMetric):
    """fp / (fp + tp)."""

    info = _info(False, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(fp, fp + tp))


class FalseOmissionRate(ConfusionMetric):
    """fn / (fn + tn)."""

    info = _info(False, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(fn, fn + tn))


class Prevalence(ConfusionMetric):
    """(tp + fn) / total: the weighted share of positives."""

    info = _info(None, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp + fn, tp + fp + tn + fn))


class PredictedPositiveRate(ConfusionMetric):
    """(tp + fp) / total: the weighted share predicted positive."""

    info = _info(None, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp + fp, tp + fp + tn + fn))


class ThreatScore(ConfusionMetric):
    """tp / (tp + fn + fp), the critical success index."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fn + fp))


class MatthewsCorrelationCoefficient(ConfusionMetric):
    """(tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn))."""

    info = _info(True, SIGNED_UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(
        tp * tn - fp * fn, np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))))


class BalancedAccuracy(ConfusionMetric):
    """(tpr + tnr) / 2; NaN unless the slice has both classes."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: (divide(tp, tp + fn) + divide(tn, tn + fp)) / 2)


class Informedness(ConfusionMetric):
    """tpr + tnr - 1 (Youden's J); NaN unless the slice has both classes."""

    info = _info(True, SIGNED_UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fn) + divide(tn, tn + fp) - 1)


class Markedness(ConfusionMetric):
    """ppv + npv - 1; NaN unless some examples are predicted each way."""

    info = _info(True, SIGNED_UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fp) + divide(tn, tn + fn) - 1)


class FowlkesMallowsIndex(ConfusionMetric):
    """sqrt(ppv * tpr)."""

    info = _info(True, UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: np.sqrt(divide(tp, tp + fp) * divide(tp, tp + fn)))


class PrevalenceThreshold(ConfusionMetric):
    """(sqrt(tpr (1 - tnr)) + tnr - 1) / (tpr + tnr - 1); infinite or NaN where tpr + tnr = 1
    (as TFMA)."""

    info = _info(None)

    @staticmethod
    def formula(tp, fp, tn, fn):
        tpr, tnr = divide(tp, tp + fn), divide(tn, tn + fp)
        return _ratio(np.sqrt(tpr * (1 - tnr)) + tnr - 1, tpr + tnr - 1)


class PositiveLikelihoodRatio(ConfusionMetric):
    """tpr / fpr; NaN without false positives."""

    info = _info(True, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(divide(tp, tp + fn), divide(fp, fp + tn)))


class NegativeLikelihoodRatio(ConfusionMetric):
    """fnr / tnr; NaN without true negatives."""

    info = _info(False, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(divide(fn, fn + tp), divide(tn, tn + fp)))


class DiagnosticOddsRatio(ConfusionMetric):
    """(tp / fn) / (fp / tn); NaN unless fn, fp and tn are positive."""

    info = _info(True, NON_NEGATIVE)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(divide(tp, fn), divide(fp, tn)))


class MaxRecall(ConfusionMetric):
    """Recall when every example with a positive score is predicted positive (threshold 1e-12)."""

    info = MetricInfo(binary_labels=True, higher_is_better=True, value_range=UNIT)
    formula = staticmethod(lambda tp, fp, tn, fn: divide(tp, tp + fn))

    def __init__(self, name, stream, config):
        super().__init__(name, stream, {"thresholds": 1e-12})


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
        columns = matrices(np.asarray(self.thresholds), {"tp": tp, "fp": fp, "tn": tn, "fn": fn})
        return {self.key: {"confusion_matrix_at_thresholds": columns}}


def matrices(thresholds: np.ndarray, cm: dict) -> dict:
    """The confusion-matrix table at ``thresholds`` (TFMA's fields), from the weighted counts
    ``cm`` (tp, fp, tn, fn over the thresholds); ConfusionMatrixAtThresholds and the plots.

    Its rows are the points of the ROC and precision-recall curves, and follow TFMA's curve
    convention at the ends: precision is 1 where nothing is predicted positive and recall 0
    without positives (where the precision-recall curve starts). Its other rates are NaN where
    undefined, as every metric value is.
    """
    tp, fp, tn, fn = cm["tp"], cm["fp"], cm["tn"], cm["fn"]
    precision = divide(tp, tp + fp, undefined=1.0)
    recall = divide(tp, tp + fn, undefined=0.0)
    return {"threshold": thresholds, "true_positives": tp, "false_positives": fp,
            "true_negatives": tn, "false_negatives": fn, "precision": precision,
            "recall": recall, "false_positive_rate": divide(fp, fp + tn),
            "false_omission_rate": divide(fn, fn + tn),
            "f1": divide(2 * precision * recall, precision + recall),
            "accuracy": divide(tp + tn, tp + fp + tn + fn)}


class PPV(Precision):
    """TFMA's alias of Precision (default name ``ppv``)."""


class TPR(Recall):
    """TFMA's alias of Recall (default name ``tpr``)."""


class TNR(Specificity):
    """TFMA's alias of Specificity (default name ``tnr``)."""


class FPR(FallOut):
    """TFMA's alias of FallOut (default name ``fpr``)."""


class FNR(MissRate):
    """TFMA's alias of MissRate (default name ``fnr``)."""


class NPV(NegativePredictiveValue):
    """TFMA's alias of NegativePredictiveValue (default name ``npv``)."""
