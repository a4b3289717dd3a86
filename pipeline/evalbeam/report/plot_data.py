"""The plots of one slice as compact, JSON-ready dicts: what the report's plots draw.

One dict per plot and kind (a ConfusionMatrixPlot and a CalibrationPlot that TFMA stores under
one key are two dicts), each ``{"kind", "name", "model", "output", "sub_key", "weighted",
...columns}`` with the columns as lists of numbers rounded to 6 significant digits (NaN and
infinities: None). The artifacts keep every point; the page keeps few:

- **Confusion matrices at thresholds** (the ROC and precision-recall curves, the matrix at a
  threshold): ``threshold``, ``tp``, ``fp``, ``tn``, ``fn`` at no more than
  :data:`MAX_POINTS` of the stored thresholds (``thresholds_stored``). A threshold whose counts
  equal those of the threshold below it adds no point and is left out; the first and last
  thresholds are always kept. When more remain than the cap, they are chosen at even steps of
  a progress that is half the threshold's rank and half the length of the ROC curve walked so
  far (``|d tpr| + |d fpr|``): the curve keeps its bends and the threshold slider still covers
  the flat stretches. Every kept point is a stored row, exactly. The plots of several models
  with the same name keep the same thresholds, chosen from all their curves.
- **Buckets** (calibration, score distribution, predicted vs true, residual histogram): the
  stored buckets inside the range are merged, consecutive ones together, into at most
  :data:`MAX_BUCKETS` (sums add up; means are weighted by the examples); the buckets outside
  the range stay as they are (an infinite edge is None); buckets without weight are left out.
- **Gain and lift**: at most :data:`MAX_POINTS` points, evenly by index, the ends kept.
- **Class-by-class matrices** (multi-class plots and values, multi-label plots): their
  non-zero cells, as stored, at all thresholds, or, when that is more than
  :data:`MAX_CELLS` cells, at as many thresholds as fit, evenly spread, the first and last
  kept (``thresholds_stored`` says how many there are); a matrix with more than
  :data:`MAX_CLASSES` classes is not drawn (the dict says why in ``not_drawn``).

A plot of a kind this module does not know is a dict with ``not_drawn`` too, never dropped.
"""
from __future__ import annotations

import math

import numpy as np

from evalbeam.keys import MetricKey
from evalbeam.values import is_class_matrix

MAX_POINTS = 200  # thresholds of a confusion-matrix plot, points of a gain or lift curve
MAX_BUCKETS = 50  # buckets of a calibration plot, score distribution, ... inside the range
MAX_CLASSES = 50  # classes of a class-by-class matrix drawn as a heatmap
MAX_CELLS = 10_000  # cells of a class-by-class matrix over all its kept thresholds

_MATRICES = "confusion_matrix_at_thresholds"
_CALIBRATION = "calibration_histogram_buckets"
_MULTI_CLASS = "multi_class_confusion_matrix_at_thresholds"
_MULTI_LABEL = "multi_label_confusion_matrix_at_thresholds"
# TFMA stores these two plots under one key without a name: the name they had in the config
_UNNAMED = {_MATRICES: "confusion_matrix_plot", _CALIBRATION: "calibration_plot"}
_COUNTS = (("tp", "true_positives"), ("fp", "false_positives"), ("tn", "true_negatives"),
           ("fn", "false_negatives"))


def slice_plots(result, slice_key, models: dict | None = None) -> list:
    """The plots of slice ``slice_key`` of ``result`` (an :class:`EvalResult`): its plots and
    its metric values that are class-by-class matrices, as page-ready dicts (see the module's
    docstring), in key order. ``models`` (``{"candidate": name, "baseline": name or None}``)
    keeps only those models' plots; None, or a candidate None (a run with several
    candidates), keeps every model's."""
    wanted = None
    if models is not None and models.get("candidate") is not None:
        wanted = {m for m in models.values() if m is not None}
    found = []  # (MetricKey, kind, columns)
    for key, plot in result.plots.get(slice_key, {}).items():
        for kind, columns in plot.items():
            # ScoreDistributionPlot also writes its counts as TFMA's matrices (not of a curve)
            if kind == _MATRICES and ("score_distribution" in plot
                                      or key.name == "score_distribution_plot"):
                continue
            found.append((key, kind, columns))
    for key, value in result.metrics.get(slice_key, {}).items():
        if is_class_matrix(value) and not key.is_diff:
            found.append((key, _MULTI_CLASS, value[_MULTI_CLASS]))
    found = [f for f in found if wanted is None or f[0].model_name in wanted]
    found.sort(key=lambda f: (MetricKey.sort_key(f[0]), f[1]))
    kept = _shared_thresholds([(k, c) for k, kind, c in found if kind == _MATRICES])
    out = []
    for key, kind, columns in found:
        head = {"kind": kind, "name": key.name or _UNNAMED.get(kind, kind),
                "model": key.model_name, "output": key.output_name,
                "sub_key": str(key.sub_key or ""), "weighted": bool(key.example_weighted)}
        if kind == _MATRICES:
            head.update(kept[key])
        elif kind in _BUILDERS:
            head.update(_BUILDERS[kind](columns))
        else:
            head["not_drawn"] = f"plots of kind {kind} are not drawn by this report"
        out.append(head)
    return out


def numbers(values) -> list:
    """A column as JSON numbers: 6 significant digits, integers without a fraction, None for
    NaN and infinities."""
    out = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        if not math.isfinite(v):
            out.append(None)
            continue
        v = float(f"{v:.6g}")
        out.append(int(v) if v.is_integer() and abs(v) < 1e15 else v)
    return out


def _shared_thresholds(plots: list) -> dict:
    """{MetricKey: the page's columns} of the confusion-matrix plots, with one choice of
    thresholds for the plots that differ only by model (and have the same thresholds)."""
    groups = {}
    for key, columns in plots:
        same = (key.name, key.output_name, key.sub_key, key.example_weighted,
                tuple(np.asarray(columns["threshold"]).tolist()))
        groups.setdefault(same, []).append((key, columns))
    out = {}
    for (*_, thresholds), members in groups.items():
        if not thresholds:
            out.update({key: {"not_drawn": "the plot holds no thresholds"} for key, _ in members})
            continue
        rows = kept_thresholds([c for _, c in members])
        for key, columns in members:
            out[key] = {"thresholds_stored": len(columns["threshold"]),
                        "threshold": numbers(np.asarray(columns["threshold"])[rows]),
                        **{short: numbers(np.asarray(columns[name])[rows])
                           for short, name in _COUNTS}}
    return out


def kept_thresholds(matrices: list, cap: int = MAX_POINTS) -> np.ndarray:
    """Indices of the thresholds kept of confusion matrices at the same thresholds (one
    column dict per model): the rule of the module's docstring."""
    n = len(matrices[0]["threshold"])
    if n <= 2:
        return np.arange(n)
    counts = np.stack([np.asarray(m[f], dtype=np.float64) for m in matrices
                       for f in ("true_positives", "false_positives")])
    changed = np.concatenate([[True], (np.diff(counts, axis=1) != 0).any(axis=0)])
    changed[-1] = True
    rows = np.flatnonzero(changed)
    if len(rows) <= cap:
        return rows
    walked = np.zeros(len(rows))
    for m in matrices:
        steps = np.zeros(len(rows))
        for count, other in (("true_positives", "false_negatives"),
                             ("false_positives", "true_negatives")):
            c = np.asarray(m[count], dtype=np.float64)
            total = c[0] + np.asarray(m[other], dtype=np.float64)[0]
            if total > 0:
                steps[1:] += np.abs(np.diff(c[rows])) / total
        length = np.cumsum(steps)
        if length[-1] > 0:
            walked += length / length[-1]
    progress = 0.5 * np.arange(len(rows)) / (len(rows) - 1) + 0.5 * walked / len(matrices)
    progress[-1] = max(progress[-1], 1.0)  # the last row reaches the last step
    picks = np.searchsorted(progress, np.linspace(0.0, 1.0, cap), side="left")
    return rows[np.unique(np.minimum(picks, len(rows) - 1))]


def _by_index(n: int, cap: int = MAX_POINTS) -> np.ndarray:
    """At most ``cap`` of ``n`` indices, evenly spread, the first and last kept."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, cap)).astype(np.int64))


def _merged_buckets(lower, upper, sums: dict, weight: np.ndarray, cap: int = MAX_BUCKETS):
    """Buckets merged as the module's docstring says, those without weight left out:
    ({buckets_stored, range (of the finite edges), lower, upper}, {name: summed column},
    summed weight)."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    inside = np.isfinite(lower) & np.isfinite(upper)
    size = max(1, math.ceil(inside.sum() / cap))
    rank = np.cumsum(inside) - 1
    starts = ~inside | np.concatenate([[True], ~inside[:-1]]) | (rank % size == 0)
    group = np.cumsum(starts) - 1
    n = group[-1] + 1 if len(group) else 0
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:] - 1, [len(group) - 1]]) if n else first
    total = np.bincount(group, weights=weight, minlength=n)
    keep = total > 0
    summed = {name: np.bincount(group, weights=np.asarray(v, dtype=np.float64),
                                minlength=n)[keep] for name, v in sums.items()}
    edges = np.concatenate([lower[inside], upper[inside]])
    extent = numbers([edges.min(), edges.max()]) if len(edges) else [None, None]
    return {"buckets_stored": len(lower), "range": extent, "lower": numbers(lower[first][keep]),
            "upper": numbers(upper[last][keep])}, summed, total[keep]


def _calibration(c: dict) -> dict:
    edges, sums, weight = _merged_buckets(
        c["lower_threshold_inclusive"], c["upper_threshold_exclusive"],
        {"weighted_label": c["total_weighted_label"],
         "weighted_prediction": c["total_weighted_refined_prediction"]},
        np.asarray(c["num_weighted_examples"], dtype=np.float64))
    return {**edges, "weight": numbers(weight), **{name: numbers(v) for name, v in sums.items()}}


def _score_distribution(c: dict) -> dict:
    negatives = np.asarray(c["weighted_negatives"], dtype=np.float64)
    positives = np.asarray(c["weighted_positives"], dtype=np.float64)
    edges, sums, _ = _merged_buckets(
        c["lower_threshold_exclusive"], c["upper_threshold_inclusive"],
        {"negatives": negatives, "positives": positives}, negatives + positives)
    return {**edges, **{name: numbers(v) for name, v in sums.items()}}


def _predicted_vs_true(c: dict) -> dict:
    weight = np.asarray(c["num_weighted_examples"], dtype=np.float64)
    means = {name: np.nan_to_num(np.asarray(c[name], dtype=np.float64) * weight)
             for name in ("mean_prediction", "mean_label")}
    edges, sums, weight = _merged_buckets(
        c["lower_threshold_inclusive"], c["upper_threshold_exclusive"], means, weight)
    return {**edges, "weight": numbers(weight),
            **{name: numbers(v / weight) for name, v in sums.items()}}


def _residual_histogram(c: dict) -> dict:
    edges, _, weight = _merged_buckets(
        c["lower_threshold_inclusive"], c["upper_threshold_exclusive"], {},
        np.asarray(c["num_weighted_examples"], dtype=np.float64))
    return {**edges, "weight": numbers(weight)}


def _population_curve(column: str):
    def build(c: dict) -> dict:
        rows = _by_index(len(c["population_fraction"]))
        return {"points_stored": len(c["population_fraction"]),
                "population_fraction": numbers(np.asarray(c["population_fraction"])[rows]),
                column: numbers(np.asarray(c[column])[rows])}
    return build


def _class_matrix(counts: tuple):
    def build(c: dict) -> dict:
        actual = np.asarray(c["actual_class_id"], dtype=np.int64)
        predicted = np.asarray(c["predicted_class_id"], dtype=np.int64)
        classes = np.union1d(actual, predicted[predicted >= 0])
        if len(classes) > MAX_CLASSES:
            return {"not_drawn": f"{len(classes)} classes, more than the {MAX_CLASSES} a "
                                 "heatmap shows"}
        threshold = np.asarray(c["threshold"], dtype=np.float64)
        stored, per_threshold = np.unique(threshold, return_counts=True)
        kept = stored
        if len(threshold) > MAX_CELLS:
            kept = stored[_by_index(len(stored), max(2, MAX_CELLS // per_threshold.max()))]
        rows = np.isin(threshold, kept)
        return {"thresholds_stored": len(stored), "threshold": numbers(threshold[rows]),
                "actual": actual[rows].tolist(), "predicted": predicted[rows].tolist(),
                **{short: numbers(np.asarray(c[name])[rows]) for short, name in counts}}
    return build


_BUILDERS = {  # kind -> its page columns (confusion matrices: _shared_thresholds)
    _CALIBRATION: _calibration,
    "score_distribution": _score_distribution,
    "predicted_vs_true": _predicted_vs_true,
    "residual_histogram": _residual_histogram,
    "gain_curve": _population_curve("gain"),
    "lift_curve": _population_curve("lift"),
    _MULTI_CLASS: _class_matrix((("weight", "num_weighted_examples"),)),
    _MULTI_LABEL: _class_matrix(_COUNTS),
}
