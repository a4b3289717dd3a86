"""Confusion matrices between classes: TFMA's multi-class and multi-label matrices.

Both count, per slice and threshold, weighted examples in cells of (actual class, predicted
class). The number of classes is only known from the data, so the cells are a sparse state
over up to :data:`MAX_CLASSES` classes; a slice stores only the cells it saw.

- Multi-class: the actual class is the label (a dense label's argmax), the predicted class the
  highest score, or -1 (no prediction) when that score is <= the threshold.
- Multi-label: for every labelled class ``i`` of an example and every class ``j``, the example
  is a true/false positive/negative of class ``j`` (label_j, score_j > threshold) in row ``i``.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import Family, Metric, MetricInfo
from evalbeam.metrics.classes import label_ids, label_matrix, scores
from evalbeam.metrics.state import SparseColumn, StateSpec

MAX_CLASSES = 1024
_OUTCOMES = ("true_negatives", "false_positives", "false_negatives", "true_positives")  # 2*label + predicted
_CHUNK = 1 << 22  # cells made at once by the multi-label family


def _thresholds(config, default) -> tuple:
    return tuple(sorted(set(arguments.numbers(config, "thresholds", default))))


def _sum_cells(spec, n_slices, codes, cells, weights, n_cells) -> SparseColumn:
    """A sparse state with the weights added up per (slice, cell)."""
    flat = codes * n_cells + cells
    uniq, inverse = np.unique(flat, return_inverse=True)
    values = np.bincount(inverse, weights=weights, minlength=len(uniq))
    return SparseColumn.from_entries(spec, n_slices, uniq // n_cells, uniq % n_cells, values[:, None])


class MultiClassMatrices(Family):
    """Weight per (threshold, actual class, predicted class or -1)."""

    vectors = True
    reads_classes = True
    max_classes = MAX_CLASSES
    width = MAX_CLASSES + 1  # predicted class + 1 (0: no prediction)

    def __init__(self, stream, thresholds):
        super().__init__(stream)
        self.thresholds = tuple(sorted(set(thresholds)))

    def fuse(self, other):
        return MultiClassMatrices(self.stream, self.thresholds + other.thresholds)

    def states(self):
        cells = len(self.thresholds) * MAX_CLASSES * self.width
        return {"cells": StateSpec("cells", (1, cells), sparse=True)}

    def add_batch(self, arrays, codes, n_slices):
        p = scores(arrays)
        actual, predicted = label_ids(arrays), p.argmax(axis=1)
        top = p[np.arange(len(p)), predicted]
        per_threshold = MAX_CLASSES * self.width
        cells = np.concatenate([
            i * per_threshold + actual * self.width + np.where(top > t, predicted + 1, 0)
            for i, t in enumerate(self.thresholds)])
        n = len(self.thresholds)
        return {"cells": _sum_cells(self.states()["cells"], n_slices, np.tile(codes, n), cells,
                                    np.tile(arrays.w, n), len(self.thresholds) * per_threshold)}


class MultiLabelMatrices(Family):
    """Weight per (threshold, labelled class i, class j, outcome of j)."""

    vectors = True
    reads_classes = True
    max_classes = MAX_CLASSES

    def __init__(self, stream, thresholds):
        super().__init__(stream)
        self.thresholds = tuple(sorted(set(thresholds)))

    def fuse(self, other):
        return MultiLabelMatrices(self.stream, self.thresholds + other.thresholds)

    def states(self):
        cells = len(self.thresholds) * MAX_CLASSES * MAX_CLASSES * 4
        return {"cells": StateSpec("cells", (1, cells), sparse=True)}

    def add_batch(self, arrays, codes, n_slices):
        p, y = scores(arrays), label_matrix(arrays)
        n_classes = p.shape[1]
        example, labelled = np.nonzero(y > 0)  # (example, actual class) pairs
        spec = self.states()["cells"]
        per_threshold = MAX_CLASSES * MAX_CLASSES * 4
        parts = []
        step = max(1, _CHUNK // (n_classes * len(self.thresholds)))
        for start in range(0, len(example), step):
            ex, i = example[start:start + step], labelled[start:start + step]
            label_j = (y[ex] > 0).astype(np.int64)  # (pairs, classes)
            pair_cell = (i[:, None] * MAX_CLASSES + np.arange(n_classes)) * 4 + 2 * label_j
            for k, t in enumerate(self.thresholds):
                cells = k * per_threshold + pair_cell + (p[ex] > t)
                parts.append(_sum_cells(spec, n_slices, np.repeat(codes[ex], n_classes),
                                        cells.ravel(), np.repeat(arrays.w[ex], n_classes),
                                        len(self.thresholds) * per_threshold))
        if not parts:
            return {"cells": SparseColumn.from_entries(spec, n_slices, [], [], [])}
        out = parts[0]
        for part in parts[1:]:
            out.merge_from(part, np.arange(n_slices))
        return {"cells": out}


def _cells(stats, family):
    """(cell index, weight) of the slice's non-zero cells, in cell order."""
    row = stats(family)["cells"][0]
    cells = np.flatnonzero(row)
    return cells, row[cells]


class MultiClassConfusionMatrixPlot(Metric):
    """Weighted examples per (actual class, predicted class) at ``thresholds`` (default 0.0)
    or ``num_thresholds`` evenly spaced over [0, 1]; predicted class -1: top score <= threshold."""

    info = MetricInfo(config_keys=("thresholds", "num_thresholds"), plot=True, intervals=False,
                      per_class=False)
    default_thresholds = 0.0
    field = "multi_class_confusion_matrix_at_thresholds"

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        if "num_thresholds" in config:
            if "thresholds" in config:
                raise ValueError("give only one of thresholds and num_thresholds")
            n = arguments.whole_number(config, "num_thresholds", low=2)
            # TFMA's: -1e-7, 1/(n-1), ..., 1+1e-7, reported as 0, ..., 1
            inner = tuple((i + 1) / (n - 1) for i in range(n - 2))
            self.thresholds = (-1e-7,) + inner + (1 + 1e-7,)
            self.reported = (0.0,) + inner + (1.0,)
        else:
            self.thresholds = self.reported = _thresholds(config, self.default_thresholds)

    def families(self):
        return [MultiClassMatrices(self.stream, self.thresholds)]

    def compute(self, stats):
        cells, weight = _cells(stats, self.families()[0])
        per_threshold = MAX_CLASSES * MultiClassMatrices.width
        reported = _reported(stats.family(self.families()[0]).thresholds, self.thresholds,
                             self.reported)[cells // per_threshold]
        keep = ~np.isnan(reported)
        within = cells[keep] % per_threshold
        return {self.key: {self.field: {
            "threshold": reported[keep],
            "actual_class_id": within // MultiClassMatrices.width,
            "predicted_class_id": within % MultiClassMatrices.width - 1,
            "num_weighted_examples": weight[keep]}}}


def _reported(fused: tuple, mine: tuple, reported: tuple) -> np.ndarray:
    """Fused family's threshold index -> the threshold this metric reports (NaN: not its)."""
    out = np.full(len(fused), np.nan)
    out[[fused.index(t) for t in mine]] = reported
    return out


class MultiClassConfusionMatrixAtThresholds(MultiClassConfusionMatrixPlot):
    """The same matrices as a metric value, at ``thresholds`` (default 0.5)."""

    info = MetricInfo(config_keys=("thresholds",), intervals=False, per_class=False)
    default_thresholds = 0.5


class MultiLabelConfusionMatrixPlot(Metric):
    """Per labelled class i and class j: the weighted true/false positives/negatives of class j
    among the examples labelled i, at ``thresholds`` (default 0.5)."""

    info = MetricInfo(config_keys=("thresholds",), plot=True, intervals=False, per_class=False)

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.thresholds = _thresholds(config, 0.5)

    def families(self):
        return [MultiLabelMatrices(self.stream, self.thresholds)]

    def compute(self, stats):
        cells, weight = _cells(stats, self.families()[0])
        per_threshold = MAX_CLASSES * MAX_CLASSES * 4
        reported = _reported(stats.family(self.families()[0]).thresholds, self.thresholds,
                             self.thresholds)[cells // per_threshold]
        keep = ~np.isnan(reported)
        # one entry per (threshold, actual, predicted), its four outcomes side by side
        entry = cells[keep] // 4
        entries, inverse = np.unique(entry, return_inverse=True)
        counts = np.zeros((len(entries), 4))
        np.add.at(counts, (inverse, cells[keep] % 4), weight[keep])
        within = entries % (per_threshold // 4)
        return {self.key: {"multi_label_confusion_matrix_at_thresholds": {
            "threshold": reported[keep][np.searchsorted(entry, entries)],
            "actual_class_id": within // MAX_CLASSES, "predicted_class_id": within % MAX_CLASSES,
            **{name: counts[:, i] for i, name in enumerate(_OUTCOMES)}}}}
