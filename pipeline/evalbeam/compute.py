"""Compute: a slicing spec's merged SliceTable -> metrics, plots, confidence intervals and
diffs per slice (:func:`iter_slice_results`).

Metrics that can are computed for many slices at once (``compute_table`` over
:class:`TableStats`), a part of the table at a time; plots and matrices one slice at a time
(``compute`` over :class:`SliceStats`). Which slices are computed, and which get their plots,
is :func:`select_slices`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from evalbeam.metrics.resampling import ResampledStats, interval
from evalbeam.metrics.state import SliceTable, SparseColumn
from evalbeam.slicing import slice_sort_key


# Metrics are computed for a part of a spec's slices at a time: at most this many state values
# (histogram cells and entries, sums, resamples) and this many slices per part, so what the
# metrics derive (curves over every slice's entries) stays small however many slices there are.
CELLS_PER_PART = 1 << 21
SLICES_PER_PART = 1 << 14


class SliceStats:
    """One slice's state, looked up by family: ``stats(family)["name"]``."""

    def __init__(self, fused, row: dict):
        self._fused, self._row = fused, row

    def family(self, family):
        return self._fused.families[self._fused.family_index(family)]

    def __call__(self, family) -> dict:
        prefix = f"{self._fused.family_index(family)}."
        return {k[len(prefix):]: v for k, v in self._row.items() if k.startswith(prefix)}


class TableStats(SliceStats):
    """Every slice's state at once: dense states with a leading slice axis, sparse states as
    their column. ``memo(key, fn)`` shares a derived value between metrics."""

    def __init__(self, fused, table: SliceTable):
        table.compact()
        columns = {name: col if isinstance(col, SparseColumn) else col.data
                   for name, col in table.columns.items()}
        super().__init__(fused, columns)
        self.n = len(table)
        self._memo = {}

    def memo(self, key, fn):
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]


@dataclass
class SliceResult:
    """Everything computed for one slice."""

    slice_key: tuple
    example_count: int
    metrics: dict  # MetricKey -> value
    plots: dict  # MetricKey -> plot (columns of numpy arrays)
    intervals: dict = dataclasses.field(default_factory=dict)  # MetricKey -> (low, high, se)
    dof: int = 0  # degrees of freedom of the intervals (resamples - 1)
    # MetricKey -> degrees of freedom of an interval that left undefined resamples out
    dofs: dict = dataclasses.field(default_factory=dict)
    plots_cut: bool = False  # its plots were not computed (``max_plot_slices``)


@dataclass
class SliceSelection:
    """Which slices of a spec's table are computed, and which of those get their plots."""

    kept: np.ndarray  # rows of the table computed and written, ascending
    omitted: list  # keys of the slices below min_slice_size (never computed)
    plots: np.ndarray  # per kept slice: whether its plots are computed and written
    plotting: bool = True  # whether any plot is configured

    @property
    def plot_slices(self) -> int:
        return int(np.count_nonzero(self.plots))

    @property
    def plot_slices_cut(self) -> int:
        return len(self.plots) - self.plot_slices if self.plotting else 0


def select_slices(table: SliceTable, eval_plan) -> SliceSelection:
    """The slices to compute (those with at least ``min_slice_size`` examples, and the overall
    slice), and the ones among them whose plots are written: all, or the ``max_plot_slices``
    largest by weighted example count (ties broken by slice key). The overall slice, alone in
    its spec, always has its plots."""
    keys, overall = table.keys, table.index.get(())
    small = np.zeros(len(keys), bool)
    if eval_plan.min_slice_size > 1:
        small = table.counts < eval_plan.min_slice_size
        if overall is not None:
            small[overall] = False
    kept = np.flatnonzero(~small)
    omitted = [keys[i] for i in np.flatnonzero(small).tolist()]
    plotting = any(m.info.plot for m in eval_plan.metrics)
    limit = eval_plan.max_plot_slices
    plots = np.full(len(kept), plotting)
    if plotting and 0 < limit < len(kept):
        plots[:] = False
        plots[_largest(table.weights[kept], [keys[i] for i in kept.tolist()], limit)] = True
    return SliceSelection(kept, omitted, plots, plotting)


def _largest(weights: np.ndarray, keys: list, limit: int) -> np.ndarray:
    """Indices of the ``limit`` largest ``weights``; among equal weights the smallest keys."""
    cutoff = np.partition(weights, len(weights) - limit)[len(weights) - limit]
    above = np.flatnonzero(weights > cutoff)
    tied = np.flatnonzero(weights == cutoff).tolist()
    tied = sorted(tied, key=lambda i: slice_sort_key(keys[i]))[: limit - len(above)]
    return np.concatenate([above, np.array(tied, np.int64)])


def baseline_columns(slice_keys: list, baseline_metrics: dict) -> dict:
    """The baseline's metrics from an earlier result, as arrays over ``slice_keys`` (a leading
    slice axis before an array metric's own; NaN for a slice the baseline result does not
    have)."""
    shapes = {}
    for metrics in baseline_metrics.values():
        for k, v in metrics.items():
            shapes.setdefault(k, np.shape(v))
    missing = {k: np.full(shape, np.nan) for k, shape in shapes.items()}
    return {key: np.array([baseline_metrics.get(s, {}).get(key, missing[key]) for s in slice_keys],
                          dtype=np.float64).reshape((len(slice_keys),) + shape)
            for key, shape in shapes.items()}


def diff_metrics(columns: dict, baseline: str | None, ndim: int = 1) -> dict:
    """Candidate - baseline for every metric of numbers of every non-baseline model, keyed as
    the candidate's metric with ``is_diff`` (TFMA's diff metrics). ``columns`` hold arrays over
    slices (``ndim`` 1; an array metric has its own axes after), or over slices and resamples
    (``ndim`` 2)."""
    if baseline is None:
        return {}
    out = {}
    for key, values in columns.items():
        if (key.model_name != baseline and not key.is_diff and values.ndim >= ndim
                and np.issubdtype(values.dtype, np.number)):
            base = columns.get(dataclasses.replace(key, model_name=baseline))
            if base is not None and base.shape == values.shape:
                out[dataclasses.replace(key, is_diff=True)] = values - base
    return out


def _intervals(stats, points: dict, eval_plan, counts: np.ndarray):
    """Every slice's intervals of the metrics of numbers: a function of the slice's row giving
    ``({MetricKey: (lower, upper, standard error)}, {MetricKey: degrees of freedom where
    undefined resamples were left out})``. An array metric (a confusion metric at several
    thresholds) has arrays of its shape there, an interval per value, and its degrees of
    freedom per value. A slice with fewer than ``min_examples`` examples has none; bounds are
    clipped to the metric's ``value_range`` (a diff's: the widest difference of two values in
    it)."""
    resampling = eval_plan.resampling
    resampled_stats = ResampledStats(stats, resampling)
    samples, ranges = {}, {}

    def add(metric, values):
        samples.update(values)
        ranges.update(dict.fromkeys(values, metric.info.value_range))

    for metric in eval_plan.metrics:
        if metric.info.intervals:
            add(metric, metric.compute_table(resampled_stats) or {})
    for metric in eval_plan.metrics:
        if metric.of_metrics and all(k in samples for k in metric.input_keys().values()):
            add(metric, metric.compute_derived(samples))
    R = resampling.samples
    samples = {k: v.reshape((stats.n, R) + v.shape[1:]) for k, v in samples.items()
               if np.issubdtype(v.dtype, np.number) and points[k].shape == (stats.n,) + v.shape[1:]}
    if eval_plan.baseline_metrics is None:  # paired resamples: the diff's resamples
        diffs = diff_metrics(samples, eval_plan.baseline, ndim=2)
        samples.update(diffs)
        for key in diffs:
            low, high = ranges.get(dataclasses.replace(key, is_diff=False)) or (None, None)
            ranges[key] = None if low is None else (low - high, high - low)
    scalars, arrays = {}, {}
    for key, values in samples.items():
        lower, upper, se, defined = interval(points[key], values, resampling, ranges.get(key))
        if values.ndim == 2:
            scalars[key] = (lower.tolist(), upper.tolist(), se.tolist(), defined.tolist())
        else:  # dofs of every value of the slices with some value's resamples left out
            short = (defined < R).reshape(stats.n, -1).any(axis=1).tolist()
            arrays[key] = (lower, upper, se, np.maximum(defined - 1, 0), short)
    enough = (counts >= resampling.min_examples).tolist()

    def of_slice(i: int):
        if not enough[i]:
            return {}, {}
        intervals, dofs = {}, {}
        for key, (lower, upper, se, defined) in scalars.items():
            intervals[key] = (lower[i], upper[i], se[i])
            if defined[i] < R:
                dofs[key] = max(defined[i] - 1, 0)
        for key, (lower, upper, se, dof, short) in arrays.items():
            intervals[key] = (lower[i], upper[i], se[i])
            if short[i]:
                dofs[key] = dof[i]
        return intervals, dofs

    return of_slice


def count_intervals(counts: dict, result: SliceResult, resampling) -> None:
    """Add what became of one written slice's intervals to ``counts`` (summary.json's
    ``intervals``); an array metric counts each of its values."""
    def add(what, n=1):
        counts[what] = counts.get(what, 0) + n

    if result.example_count < resampling.min_examples:
        add("slices_below_min_examples")
        return
    for key, (lower, upper, _) in result.intervals.items():
        if isinstance(lower, np.ndarray):
            _count_array(add, result, key, lower, upper, resampling.samples)
        elif not (math.isnan(lower) or math.isnan(upper)):
            add("intervals")
            if key in result.dofs:
                add("intervals_with_resamples_left_out")
                add("resamples_left_out", resampling.samples - 1 - result.dofs[key])
        elif isinstance(result.metrics.get(key), float) and math.isfinite(result.metrics[key]):
            add("intervals_undefined")  # a defined value, too few defined resamples


def _count_array(add, result: SliceResult, key, lower, upper, R: int) -> None:
    given = ~(np.isnan(lower) | np.isnan(upper))
    add("intervals", int(np.count_nonzero(given)))
    dof = result.dofs.get(key)
    if dof is not None:
        left_out = given & (dof < R - 1)
        add("intervals_with_resamples_left_out", int(np.count_nonzero(left_out)))
        add("resamples_left_out", int((R - 1 - dof)[left_out].sum()))
    value = result.metrics.get(key)
    if isinstance(value, np.ndarray) and value.shape == given.shape:
        add("intervals_undefined", int(np.count_nonzero(~given & np.isfinite(value))))


def _with_baseline_values(metrics: dict, eval_plan, slice_key) -> dict:
    """``metrics`` without the baseline values an earlier result does not have in the slice
    (nor the diffs against them): absent, not NaN."""
    present, baseline = eval_plan.baseline_metrics.get(slice_key, {}), eval_plan.baseline
    return {k: v for k, v in metrics.items()
            if not (k.model_name == baseline and k not in present) and not (
                k.is_diff and dataclasses.replace(k, model_name=baseline, is_diff=False)
                not in present)}


def iter_slice_results(table: SliceTable, eval_plan, selection: SliceSelection | None = None):
    """A SliceResult per slice kept (``selection``, by default :func:`select_slices`), in table
    order. Metrics that can are computed for many slices at once, a part of the table at a
    time; the rest (plots, matrices) one slice at a time, as the results are consumed."""
    selection = selection if selection is not None else select_slices(table, eval_plan)
    if len(selection.kept) < len(table):
        table = table.take(selection.kept)  # slices below min_slice_size cost nothing more
    cells = np.cumsum(table.cells())
    start = 0
    while start < len(table):
        done = cells[start - 1] if start else 0
        stop = int(np.searchsorted(cells, done + CELLS_PER_PART, side="right"))
        stop = min(max(stop, start + 1), start + SLICES_PER_PART, len(table))
        part = table if (start, stop) == (0, len(table)) else table.take(np.arange(start, stop))
        yield from _part_results(part, eval_plan, selection.plots[start:stop],
                                 selection.plotting)
        start = stop


def _part_results(table: SliceTable, eval_plan, plots: np.ndarray, plotting: bool):
    stats = TableStats(eval_plan.fused, table)
    columns, one_at_a_time = {}, []
    for metric in eval_plan.metrics:
        values = metric.compute_table(stats)
        if values is None:
            one_at_a_time.append(metric)
        else:
            columns.update(values)
    for metric in eval_plan.metrics:
        if metric.of_metrics:
            columns.update(metric.compute_derived(columns))
    if eval_plan.baseline_metrics is not None:
        columns.update(baseline_columns(table.keys, eval_plan.baseline_metrics))
    columns.update(diff_metrics(columns, eval_plan.baseline))
    if eval_plan.resampling:
        intervals_of = _intervals(stats, columns, eval_plan, table.counts)
    dof = eval_plan.resampling.samples - 1 if eval_plan.resampling else 0
    del stats  # frees what the metrics derived (curves) before the slices are produced
    counts = table.counts.tolist()
    columns = {k: v.tolist() if v.ndim == 1 else v for k, v in columns.items()}
    with_plots = plots.tolist()
    for j, key in enumerate(table.keys):
        metrics = {k: values[j] for k, values in columns.items()}
        if eval_plan.baseline_metrics is not None:
            metrics = _with_baseline_values(metrics, eval_plan, key)
        intervals, dofs = intervals_of(j) if eval_plan.resampling else ({}, {})
        drawn = {}
        computed = [m for m in one_at_a_time if with_plots[j] or not m.info.plot]
        if computed:
            row = SliceStats(eval_plan.fused, table.row(key))
            for metric in computed:
                (drawn if metric.info.plot else metrics).update(metric.compute(row))
        yield SliceResult(key, counts[j], metrics, drawn, intervals, dof, dofs,
                          plotting and not with_plots[j])


def slice_results(table: SliceTable, eval_plan):
    """``(results, omitted)`` as lists (see :func:`iter_slice_results`)."""
    selection = select_slices(table, eval_plan)
    return list(iter_slice_results(table, eval_plan, selection)), selection.omitted
