"""Metrics over time: the values of several finished runs in time order, each against its
run's value thresholds (what ``evalbeam history`` prints and :func:`evalbeam.history` gives).

Reads finished results only (:class:`~evalbeam.io.result.EvalResult`, summary.json).

Order of runs (:func:`run_order`): each run stands at the start of its data span (ties: the
span's end, then the evaluation time); a run without a data span stands at its evaluation
time; runs with neither (written before evalbeam recorded it) come last, in the order given.
The last run in this order is the *latest*, the one ``--fail_on_alert`` checks.

Bounds of a value (``lower_bound``, ``upper_bound``): those of the run's value thresholds
(not change or cross-slice thresholds) that check the value in its slice; with several, the
tightest of each side. A value violates them when it is below a lower bound, above an upper
bound, or NaN (as validation decides).
"""
from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass

from evalbeam.errors import EvalbeamError, InputError
from evalbeam.keys import MetricKey, slice_name
from evalbeam.run_facts import moment, span_text
from evalbeam.values import Cell, is_class_matrix, label

__all__ = ["History", "ValueThreshold", "history", "run_order", "value_thresholds"]


def _time(text):
    """An ISO date or date-time as an aware UTC datetime; None when missing or unreadable."""
    try:
        return None if text is None else moment(str(text))
    except ValueError:
        return None


def _when(result):
    """Where a run stands in time: (start, end, evaluated) or None (see :func:`run_order`)."""
    span, evaluated = result.data_span, _time(result.summary.get("evaluated_at"))
    start = _time(span[0]) if span else None
    if start is not None:
        return start, _time(span[1]) or start, evaluated or start
    return None if evaluated is None else (evaluated, evaluated, evaluated)


def run_order(results) -> list:
    """Positions of ``results`` in time order: by data span start (then end, then evaluation
    time), else by evaluation time; runs with neither last, in the order given."""
    when = [_when(r) for r in results]
    timed = sorted((w, i) for i, w in enumerate(when) if w is not None)
    return [i for _, i in timed] + [i for i, w in enumerate(when) if w is None]


@dataclass(frozen=True)
class ValueThreshold:
    """One value threshold of a run's config: the values it checks (``label``, their column
    in ``evalbeam show``; ``key`` and, for a metric at several thresholds, ``at``), its
    bounds (None: open) and the slices it applies to."""

    label: str
    key: MetricKey
    lower: float | None
    upper: float | None
    at: float | None  # the confusion threshold of the value checked (None: every value of key)
    threshold: object  # the config's evalbeam.config.Threshold

    def applies(self, slice_key) -> bool:
        """Whether the threshold checks the slice ``slice_key``."""
        from evalbeam.validate import applies

        return applies(self.threshold, tuple(slice_key))

    @property
    def every_slice(self) -> bool:
        """Whether it applies to every slice (no slicing specs of its own)."""
        return self.threshold.slice_specs is None

    @property
    def slices(self) -> str:
        """The slices it applies to, in words: ``every slice`` or the slicing specs."""
        specs = self.threshold.slice_specs
        return "every slice" if specs is None else "; ".join(s.describe() for s in specs)

    def checks(self, key: MetricKey, cell: Cell) -> bool:
        """Whether the threshold checks this number (in a slice it applies to)."""
        if key != self.key or (cell.field is not None and not cell.field.startswith("[")):
            return False
        return self.at is None or (cell.threshold is not None and math.isclose(
            cell.threshold, self.at, rel_tol=1e-9, abs_tol=1e-12))

    def violated_by(self, value: float) -> bool:
        return _violates(value, self.lower, self.upper)

    def describe(self) -> str:
        """``auc >= 0.75``, ``0.1 <= calibration <= 1.2``."""
        if self.lower is not None and self.upper is not None:
            return f"{self.lower:g} <= {self.label} <= {self.upper:g}"
        if self.lower is not None:
            return f"{self.label} >= {self.lower:g}"
        return f"{self.label} <= {self.upper:g}" if self.upper is not None else self.label


def _violates(value, lower, upper) -> bool:
    return math.isnan(value) or (lower is not None and value < lower) or (
        upper is not None and value > upper)


class ValueThresholds(list):
    """A run's :class:`ValueThreshold` list; ``reason`` says why it is empty when the run's
    config cannot be resolved here (else None)."""

    reason: str | None = None


def value_thresholds(result) -> ValueThresholds:
    """The value thresholds of ``result``'s config (not change or cross-slice thresholds):
    one :class:`ValueThreshold` per value checked (a metric at several thresholds: one per
    threshold, ``precision@0.3``). When the config cannot be resolved here (a custom metric's
    module not importable), none, with the reason in ``.reason``."""
    out = ValueThresholds()
    try:
        plan = result.eval_plan()
    except EvalbeamError as e:
        out.reason = e.message
        return out
    confusion = result.thresholds
    for t in plan.thresholds:
        if t.is_change or t.cross_specs is not None:
            continue
        lower = None if math.isinf(t.lower) else t.lower
        upper = None if math.isinf(t.upper) else t.upper
        ats = confusion.get(t.key, ())
        if len(ats) > 1:
            out += [ValueThreshold(label(t.key, Cell(math.nan, threshold=a)), t.key, lower,
                                   upper, a, t) for a in ats]
        else:
            out.append(ValueThreshold(label(t.key), t.key, lower, upper, None, t))
    return out


@dataclass(frozen=True)
class Point:
    """One value of one run: a row of :meth:`History.to_dataframe`."""

    run: int  # position of the run in History.results (time order)
    slice_key: tuple
    key: MetricKey
    cell: Cell
    metric: str  # the column label, as ``evalbeam show`` names it
    lower_bound: float | None  # the tightest value thresholds checking it (None: none)
    upper_bound: float | None
    violated: bool
    thresholds: tuple  # the ValueThresholds checking it

    @property
    def slice(self) -> str:
        return slice_name(self.slice_key)

    @property
    def value(self) -> float:
        return self.cell.value


def _bounds(found) -> tuple:
    lowers = [t.lower for t in found if t.lower is not None]
    uppers = [t.upper for t in found if t.upper is not None]
    return (max(lowers) if lowers else None), (min(uppers) if uppers else None)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{c}={v}" for c, vs in value.items()
                for v in (vs if isinstance(vs, (list, tuple, set)) else [vs])]
    return [value] if isinstance(value, str) else list(value)


class History:
    """Several finished runs in time order (:func:`run_order`) and their values: by default
    every metric of the Overall slice.

    ``metric``: a metric name (every value of that name: weighted and unweighted, every model
    and threshold) or a column label (``precision@0.5``, ``auc (unweighted)``), or a list of
    them. ``slice``: ``"COLUMN=VALUE"`` or a list of them (or a dict column -> value(s)), as
    ``evalbeam show --slice``: values of one column are alternatives, different columns all
    apply. ``all_slices``: every slice instead of Overall.
    """

    def __init__(self, results, metric=None, slice=None, all_slices: bool = False):  # noqa: A002
        from evalbeam.table import _close, _filter_slices, _names, _spec_order

        results = list(results)
        if not results:
            raise InputError("history needs at least one result directory")
        self.results = [results[i] for i in run_order(results)]
        self.thresholds = [value_thresholds(r) for r in self.results]
        self.notes = [f"{t.reason}: its values are shown without threshold bounds"
                      for t in self.thresholds if t.reason]
        filters = _as_list(slice)
        if filters and all_slices:
            raise EvalbeamError("give --slice or --all_slices, not both")
        everywhere = dict.fromkeys(s for r in self.results for s in r.metrics)
        chosen = set(_filter_slices(list(everywhere), filters)) if filters else None
        candidates, known, matrices = [], set(), set()
        for run, result in enumerate(self.results):
            slices = [s for s in result.metrics if all_slices or (
                s == () if chosen is None else s in chosen)]
            for s in _spec_order(result, slices):
                values = result.metrics[s]
                for key in sorted(values, key=MetricKey.sort_key):
                    if is_class_matrix(values[key]):
                        matrices.add(label(key))
                        continue
                    for cell in result.cells(s, key):
                        names = _names(key, cell)
                        known |= names
                        candidates.append((run, s, key, cell, names))
        wanted = set(_as_list(metric))
        missing = sorted(wanted - known)
        if missing:
            raise EvalbeamError(f"--metric {missing[0]}: no such metric in the runs given"
                                + _close(missing[0], {n for n in known if "/" not in n}))
        self.points = []
        for run, s, key, cell, names in candidates:
            if wanted and not wanted & names:
                continue
            found = tuple(t for t in self.thresholds[run] if t.checks(key, cell) and
                          t.applies(s))
            lower, upper = _bounds(found)
            self.points.append(Point(run, s, key, cell, label(key, cell), lower, upper,
                                     any(t.violated_by(cell.value) for t in found), found))
        if chosen is None and not all_slices:
            self.notes += [f"{r.output_dir}: no Overall slice (its config has no empty "
                           "slicing spec); --slice or --all_slices choose others"
                           for r in self.results if () not in r.metrics]
        self.notes += [f"{name}: a class-by-class matrix per threshold, not in the series "
                       "(`evalbeam show --json` lists its entries)" for name in sorted(matrices)]

    @property
    def latest(self):
        """The latest run (the last in time order)."""
        return self.results[-1]

    def latest_violations(self) -> list:
        """The :class:`Point` values of the latest run that violate a value threshold."""
        last = len(self.results) - 1
        return [p for p in self.points if p.run == last and p.violated]

    def facts(self, run: int) -> dict:
        """run_dir, run_name, data_span (text), evaluated_at (ISO text) of a run."""
        r = self.results[run]
        return {"run_dir": r.output_dir, "run_name": r.run_name or "",
                "data_span": span_text(r.data_span),
                "evaluated_at": r.summary.get("evaluated_at", "")}

    def to_dataframe(self):
        """A pandas DataFrame, one row per run x slice x value, runs in time order: run_dir,
        run_name, data_span (``START..END``, "" when none), evaluated_at (UTC timestamp, NaT
        when not recorded), slice (its name), metric (the column label of ``evalbeam show``),
        value, lower_bound / upper_bound (of the value thresholds checking it, NaN when none),
        violated, lower / upper (the value's confidence interval, NaN when none), and the
        MetricKey's fields model, output, sub_key, aggregation, weighted, threshold."""
        import pandas as pd

        nan = math.nan
        facts = [self.facts(i) for i in range(len(self.results))]
        rows = self.points

        def num(v):
            return nan if v is None else v

        frame = pd.DataFrame({
            "run_dir": [facts[p.run]["run_dir"] for p in rows],
            "run_name": [facts[p.run]["run_name"] for p in rows],
            "data_span": [facts[p.run]["data_span"] for p in rows],
            "evaluated_at": pd.to_datetime(
                [self.results[p.run].evaluated_at for p in rows], utc=True),
            "slice": [p.slice for p in rows],
            "metric": [p.metric for p in rows],
            "value": [p.value for p in rows],
            "lower_bound": [num(p.lower_bound) for p in rows],
            "upper_bound": [num(p.upper_bound) for p in rows],
            "violated": pd.array([p.violated for p in rows], dtype=bool),
            "lower": [num(p.cell.lower) for p in rows],
            "upper": [num(p.cell.upper) for p in rows],
            "model": [p.key.model_name for p in rows],
            "output": [p.key.output_name for p in rows],
            "sub_key": [str(p.key.sub_key or "") for p in rows],
            "aggregation": [p.key.aggregation_type or "" for p in rows],
            "weighted": pd.array([p.key.example_weighted for p in rows], dtype=bool),
            "threshold": [num(p.cell.threshold) for p in rows]})
        return frame

    def _repr_html_(self) -> str:
        from evalbeam.report import build_report
        from evalbeam.report.notebook import iframe_html

        return iframe_html(build_report(self.results))


def _same(path: str) -> str:
    """What tells two spellings of one directory apart (``runs/a/`` is ``runs/a``)."""
    return path.rstrip("/") if "://" in path else os.path.realpath(path)


def _expand(dirs) -> list:
    """Result directories (or EvalResults) from paths, local globs or a list of them."""
    if isinstance(dirs, (str, os.PathLike)) or hasattr(dirs, "summary"):
        dirs = [dirs]
    out = []
    for d in dirs:
        if hasattr(d, "summary"):
            out.append(d)
            continue
        d = os.fspath(d)
        if "://" not in d and glob.has_magic(d):
            found = sorted(p for p in glob.glob(d) if os.path.isdir(p))
            if not found:
                raise InputError(f"{d}: no directory matches")
            out += found
        else:
            out.append(d)
    return out


def load_runs(dirs) -> tuple:
    """``(results, notes)``: each directory's result, read once when given twice (a note
    says so)."""
    from evalbeam.io.result import load_result

    results, seen, notes = [], {}, []
    for d in _expand(dirs):
        if hasattr(d, "summary"):
            results.append(d)
            continue
        same = _same(d)
        if same in seen:
            notes.append(f"{d}: given twice (as {seen[same]}); read once")
            continue
        seen[same] = d
        results.append(load_result(d))
    return results, notes


def history(dirs, metric=None, slice=None, all_slices: bool = False) -> History:  # noqa: A002
    """The :class:`History` of result directories ``dirs`` (paths, local globs such as
    ``"runs/*/"``, or a list of them; a directory given twice is read once): by default every
    metric of the Overall slice, runs in time order. ``metric``, ``slice`` and
    ``all_slices`` as for :class:`History`."""
    results, notes = load_runs(dirs)
    out = History(results, metric, slice, all_slices)
    out.notes[:0] = notes
    return out

