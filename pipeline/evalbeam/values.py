"""Metric values of every kind as rows of numbers: what every view of a result reads.

A value read from the artifacts is a number, an array (a confusion metric at several
``thresholds``, in their order; a custom metric's array), a binary confusion matrix at
thresholds (``ConfusionMatrixAtThresholds``), a class-by-class matrix at thresholds
(``MultiClassConfusionMatrixAtThresholds``), values at cutoffs (TFMA's ``ValueAtCutoffs``), or,
rarely, something that holds no number (a message). :func:`flatten` turns each into
:class:`Cell` rows, one number each, labelled by threshold, matrix field and classes; a value
it cannot turn into numbers gets a reason from :func:`not_flattened` instead, so a view can
say what it leaves out.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from evalbeam.keys import MetricKey

_BINARY = "confusion_matrix_at_thresholds"
_MULTI_CLASS = "multi_class_confusion_matrix_at_thresholds"
_CUTOFFS = "value_at_cutoffs"
_CLASS_ID_COLUMNS = ("threshold", "actual_class_id", "predicted_class_id")


class Cell(NamedTuple):
    """One number of a metric value, with where it sits in the value."""

    value: float
    threshold: float | None = None  # the value's threshold (arrays and matrices at thresholds)
    field: str | None = None  # a column of a matrix ("precision", "true_positives", ...)
    classes: tuple | None = None  # (actual_class_id, predicted_class_id) of a class matrix
    lower: float | None = None  # the confidence interval, when computed
    upper: float | None = None

    def suffix(self) -> str:
        """``.field[actual,predicted]@threshold``: what the cell adds to the metric's name."""
        out = "" if not self.field else (
            self.field if self.field.startswith("[") else f".{self.field}")
        if self.classes is not None:
            out += f"[{self.classes[0]},{self.classes[1]}]"
        if self.threshold is not None:
            out += f"@{format_threshold(self.threshold)}"
        return out


def format_threshold(t: float) -> str:
    """A threshold as it was written in the config: 0.3 -> ``0.3``, 1.0 -> ``1``."""
    t = float(t)
    return str(int(t)) if t.is_integer() and abs(t) < 1e15 else repr(t)


def metric_thresholds(metrics) -> dict:
    """{MetricKey: thresholds} of the confusion metrics of a resolved plan (also averaged over
    classes) and of their diffs: one threshold for a number, several (the config's order)
    for an array."""
    out = {}
    for metric in metrics:
        inner = getattr(metric, "inner", metric)
        if hasattr(inner, "scalar") and hasattr(inner, "thresholds"):
            for key in metric.keys():
                out[key] = out[dataclasses.replace(key, is_diff=True)] = tuple(
                    float(t) for t in inner.thresholds)
    return out


def _bound(bounds, i):
    """The i-th entry of an interval bound that may be a number or an array."""
    if bounds is None:
        return None, None
    lower, upper = bounds
    if isinstance(lower, np.ndarray):
        return float(lower.ravel()[i]), float(upper.ravel()[i])
    return (float(lower), float(upper)) if i == 0 else (None, None)


def flatten(value, thresholds: tuple | None = None, bounds=None) -> list:
    """The :class:`Cell` rows of one metric value ([] when it holds no number: see
    :func:`not_flattened`). ``thresholds`` label an array's entries (else they are labelled
    by position in ``field``); ``bounds`` is the value's ``(lower, upper)`` interval."""
    if type(value) is float and bounds is None:
        return [Cell(value)]
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        lower, upper = _bound(bounds, 0)
        return [Cell(float(value), lower=lower, upper=upper)]
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        if thresholds is not None and value.ndim == 1 and len(thresholds) == len(flat):
            if bounds is None:
                return [Cell(v, threshold=t) for t, v in zip(thresholds, flat.tolist())]
            return [Cell(float(v), t, None, None, *_bound(bounds, i))
                    for i, (t, v) in enumerate(zip(thresholds, flat.tolist()))]
        index = np.ndindex(value.shape) if value.ndim else [()]
        return [Cell(float(v), None, "[" + ",".join(map(str, at)) + "]", None, *_bound(bounds, i))
                for i, (at, v) in enumerate(zip(index, flat.tolist()))]
    if isinstance(value, dict) and _BINARY in value:
        columns = value[_BINARY]
        out = []
        for i, t in enumerate(np.asarray(columns["threshold"]).tolist()):
            out += [Cell(float(np.asarray(v)[i]), threshold=t, field=f)
                    for f, v in columns.items() if f != "threshold"]
        return out
    if isinstance(value, dict) and _MULTI_CLASS in value:
        columns = value[_MULTI_CLASS]
        counts = [f for f in columns if f not in _CLASS_ID_COLUMNS]
        rows = zip(*(np.asarray(columns[f]).tolist() for f in _CLASS_ID_COLUMNS + tuple(counts)))
        return [Cell(float(v), threshold=t, field=f, classes=(int(a), int(p)))
                for t, a, p, *values in rows for f, v in zip(counts, values)]
    if isinstance(value, dict) and _CUTOFFS in value:
        columns = value[_CUTOFFS]
        return [Cell(float(v), field=f"cutoff:{int(c)}")
                for c, v in zip(np.asarray(columns["cutoff"]).tolist(),
                                np.asarray(columns["value"]).tolist())]
    return []


def not_flattened(value) -> str | None:
    """Why ``value`` has no rows in a table (None when :func:`flatten` gives it rows)."""
    if flatten(value):
        return None
    if isinstance(value, str):
        return f"no value, only the message {value!r}"
    if isinstance(value, bytes):
        return f"{len(value)} bytes, not a number"
    if isinstance(value, (dict, np.ndarray)):
        return "an empty value"
    return "a value of a kind evalbeam does not read"


def is_class_matrix(value) -> bool:
    """A class-by-class matrix: too many rows for a table's columns (K x K per threshold)."""
    return isinstance(value, dict) and _MULTI_CLASS in value


def metric_name(key: MetricKey) -> str:
    """The metric's name; a candidate-minus-baseline value is ``<name>_diff``."""
    return key.name + "_diff" if key.is_diff else key.name


def label(key: MetricKey, cell: Cell | None = None) -> str:
    """``model/output/sub key/aggregation/name.field@threshold (unweighted)``: a value's name
    in tables and summary.json."""
    name = metric_name(key) + (cell.suffix() if cell is not None else "")
    prefix = key.qualifier()
    return (f"{prefix}/{name}" if prefix else name) + (
        "" if key.example_weighted else " (unweighted)")
