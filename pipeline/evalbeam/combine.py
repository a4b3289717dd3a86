"""Per-batch partial accumulators and the fused CombineFn that adds them up per slicing spec.

For each batch, :func:`batch_partials` builds one :class:`~evalbeam.metrics.state.SliceTable`
per slicing spec holding every configured family's state for all slices of that batch (one
``np.bincount`` per statistic over the slice codes). :class:`FusedCombineFn` merges those
tables; :func:`slice_results` turns a merged table into metric values and plots per slice.
"""
from __future__ import annotations

import dataclasses
import math
import pickle
import struct
from dataclasses import dataclass

import apache_beam as beam
import numpy as np
import pyarrow as pa

from evalbeam.extract import Extracted, extract, to_float
from evalbeam.metrics.base import Stream
from evalbeam.metrics.classes import binary_view, pools_classes
from evalbeam.metrics.resampling import POISSON_BOOTSTRAP, ResampledStats, interval
from evalbeam.metrics.state import SliceTable, SparseColumn, weight_units
from evalbeam.slicing import assign_slices, column_codes, rows_without_value, slice_sort_key


# Values the class views of one batch may hold at once: a view of one class (or k) holds one
# per row, a pooled view one per (row, class), and each has its derived arrays besides.
MAX_VIEW_ENTRIES = 1 << 22
# (Example, resample) pairs the Poisson bootstrap of one batch may hold at once: each drawn
# pair is a weighted copy of the example (about 100 bytes with what is derived from it).
MAX_RESAMPLED_ENTRIES = 1 << 23
# Metrics are computed for a part of a spec's slices at a time: at most this many state values
# (histogram cells and entries, sums, resamples) and this many slices per part, so what the
# metrics derive (curves over every slice's entries) stays small however many slices there are.
CELLS_PER_PART = 1 << 21
SLICES_PER_PART = 1 << 14


def batch_partials(batch, eval_plan):
    """``(extracted, [(spec_index, SliceTable), ...])`` for one RecordBatch (by spec; a batch
    computed in parts, :func:`_in_parts`, has a table per part and spec).

    The first spec's table is always there and carries the batch's row tally. Every table
    counts the rows in no slice of its spec for lack of a slicing value (``null_rows``).
    """
    extracted = extract(batch, eval_plan)
    entries = _view_entries(extracted, eval_plan)
    parts = max(-(-entries // MAX_VIEW_ENTRIES),
                -(-_resampled_entries(extracted, eval_plan, entries) // MAX_RESAMPLED_ENTRIES))
    if parts > 1 and batch.num_rows > 1:
        return _in_parts(batch, eval_plan, parts)
    tally = {"rows_read": extracted.rows_read, "rows_used": extracted.batch.num_rows}
    tally.update({f"dropped:{reason}": n for reason, n in extracted.dropped.items()})
    data = extracted.batch
    column = column_codes(data)
    null_rows = [rows_without_value(spec, column, data.num_rows) for spec in eval_plan.slice_specs]

    specs = eval_plan.fused.state_specs()
    families = eval_plan.fused.indexed_families(queries=False)
    if not families:  # only query metrics (evalbeam.queries): the tally (and overall slice)
        keys = [()] if eval_plan.slice_specs[0].is_overall else []
        first = SliceTable.from_batch(specs, keys, np.zeros(len(keys), np.int64), {}, tally,
                                      null_rows=null_rows[0])
        return extracted, [(0, first)] + [
            (index, SliceTable.from_batch(specs, [], np.zeros(0, np.int64), {}, null_rows=n))
            for index, n in enumerate(null_rows) if index and n]
    units = _weight_units(extracted, eval_plan)
    out = []
    for index, spec in enumerate(eval_plan.slice_specs):
        assignment = assign_slices(spec, column, data.num_rows)
        n_slices = len(assignment.keys)
        if not n_slices and index:
            if null_rows[index]:
                out.append((index, SliceTable.from_batch(specs, [], np.zeros(0, np.int64), {},
                                                         null_rows=null_rows[index])))
            continue
        streams = extracted.streams
        if assignment.rows is not None:
            streams = {s: a.take(assignment.rows) for s, a in streams.items()}
        columns, codes = {}, {1: assignment.codes}
        for i, family in families:
            arrays = streams[family.source()]
            if not family.vectors:
                arrays = binary_view(arrays, family.stream)
            if arrays.per_row not in codes:  # a pooled class view: one entry per class
                codes[arrays.per_row] = np.repeat(assignment.codes, arrays.per_row)
            for name, col in family.add_batch(arrays, codes[arrays.per_row], n_slices).items():
                columns[f"{i}.{name}"] = col
        counts = np.bincount(assignment.codes, minlength=n_slices)
        weights = np.bincount(assignment.codes, minlength=n_slices, weights=(
            units if assignment.rows is None else units[assignment.rows]))
        out.append((index, SliceTable.from_batch(specs, assignment.keys, counts, columns,
                                                 tally if index == 0 else None, weights,
                                                 null_rows[index])))
    return extracted, out


def _weight_units(extracted, eval_plan) -> np.ndarray:
    """Each row's weight for ranking slices (:func:`select_slices`): the first model output's
    example weight (1 without one), in :func:`weight_units`."""
    heads = eval_plan.heads()
    n = extracted.batch.num_rows
    if not heads or not heads[0].example_weight_key:
        return weight_units(np.ones(n))
    head = heads[0]
    w = next((a.w for s, a in extracted.streams.items() if isinstance(s, Stream) and s.weighted
              and (s.model, s.output) == (head.model, head.output)), None)
    if w is None:
        w = to_float(extracted.batch.column(head.example_weight_key))
    return weight_units(w)


def _view_entries(extracted, eval_plan) -> int:
    """How many values the batch's class views of multi-class outputs hold."""
    views = {(f.stream.base, f.stream.sub_key, f.stream.micro_average)
             for _, f in eval_plan.fused.indexed_families(queries=False)
             if not f.vectors and f.baseline is None}
    total = 0
    for base, sub_key, micro in views:
        p = extracted.streams[base].p
        if p.ndim == 2:
            pooled = pools_classes(Stream(sub_key=sub_key, micro_average=micro))
            total += p.size if pooled else len(p)
    return total


def _resampled_entries(extracted, eval_plan, view_entries: int) -> int:
    """How many (example, resample) pairs the batch's Poisson bootstrap draws from (a pooled
    class view's examples are its (row, class) entries)."""
    resampling = eval_plan.resampling
    if resampling is None or resampling.method != POISSON_BOOTSTRAP:
        return 0
    return resampling.samples * max(extracted.batch.num_rows, view_entries)


def _in_parts(batch, eval_plan, parts: int):
    """:func:`batch_partials` of ``batch`` cut into ``parts`` row ranges: each range is a batch
    of its own (its own resamples, drawn from its content), and its tables are partials of
    their own (the combine adds them up; merging them here would only copy them once more)."""
    step = -(-batch.num_rows // parts)
    pieces, tables = [], []
    for start in range(0, batch.num_rows, step):
        extracted, partials = batch_partials(batch.slice(start, step), eval_plan)
        # without its arrays (and the resampled copies cached on them)
        pieces.append(Extracted(extracted.batch, {}, extracted.rows_read, extracted.dropped))
        tables.extend(partials)
    dropped = {}
    for piece in pieces:
        for reason, n in piece.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
    kept = pa.concat_batches([piece.batch for piece in pieces])
    whole = Extracted(kept, {}, sum(piece.rows_read for piece in pieces), dropped)
    return whole, sorted(tables, key=lambda item: item[0])


class SliceTableCoder(beam.coders.Coder):
    """Pickles a SliceTable, its arrays out of band, mostly-zero arrays as a bit mask of their
    non-zero 8-byte words plus those words (the states of many small slices, e.g. resamples
    of a slice with a few examples, are mostly zeros); estimates its size without pickling it
    (runners sample the size of elements, and a partial table can be tens of megabytes)."""

    _HEAD = struct.Struct("<IQ")  # buffers, bytes of the pickle
    _FRAME = struct.Struct("<BQQ")  # packed or not, bytes of the buffer, bytes sent
    _PACK_FROM = 1 << 12  # smaller buffers go as they are

    def encode(self, table: SliceTable) -> bytes:
        buffers = []
        head = pickle.dumps(table, protocol=5, buffer_callback=buffers.append)
        frames, payloads = [], []
        for buffer in buffers:
            raw = buffer.raw()
            packed, payload = False, raw
            if raw.nbytes % 8 == 0 and raw.nbytes >= self._PACK_FROM:
                words = np.frombuffer(raw, np.uint64)
                nonzero = words != 0
                if np.count_nonzero(nonzero) < len(words) // 2:
                    packed = True
                    payload = np.packbits(nonzero).tobytes() + words[nonzero].tobytes()
            frames.append(self._FRAME.pack(packed, raw.nbytes, len(payload)))
            payloads.append(payload)
        return b"".join([self._HEAD.pack(len(buffers), len(head)), *frames, head, *payloads])

    def decode(self, data: bytes) -> SliceTable:
        view = memoryview(data)
        count, head_size = self._HEAD.unpack_from(view)
        offset = self._HEAD.size
        frames = [self._FRAME.unpack_from(view, offset + i * self._FRAME.size)
                  for i in range(count)]
        offset += count * self._FRAME.size
        head = view[offset:offset + head_size]
        offset += head_size
        buffers = []
        for packed, size, sent in frames:
            payload = view[offset:offset + sent]
            offset += sent
            if not packed:
                buffers.append(bytearray(payload))  # a writable copy: tables merge in place
                continue
            words, mask = size // 8, (size // 8 + 7) // 8
            nonzero = np.unpackbits(np.frombuffer(payload[:mask], np.uint8), count=words)
            out = np.zeros(words, np.uint64)
            out[nonzero.view(bool)] = np.frombuffer(payload[mask:], np.uint64)
            buffers.append(out)
        return pickle.loads(head, buffers=buffers)

    def is_deterministic(self) -> bool:
        return False

    _MAX_ESTIMATE = (1 << 31) - 1  # Beam keeps size estimates in a C int

    def estimate_size(self, table: SliceTable) -> int:
        return min(max(int(table.nbytes()), 0), self._MAX_ESTIMATE)


beam.coders.registry.register_coder(SliceTable, SliceTableCoder)
PARTIAL_TYPE = beam.typehints.Tuple[int, SliceTable]  # (slicing spec index, partial table)


class FusedCombineFn(beam.CombineFn):
    """Every metric family of one slicing spec in one accumulator (a SliceTable)."""

    def __init__(self, eval_plan):
        self.state_specs = eval_plan.fused.state_specs()

    def get_accumulator_coder(self):
        return SliceTableCoder()

    def create_accumulator(self):
        return SliceTable(self.state_specs)

    def add_input(self, accumulator, table):
        return accumulator.merge(table)

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        first = next(accumulators)
        for other in accumulators:  # mutate only the first, as Beam allows
            first.merge(other)
        return first

    def compact(self, accumulator):
        return accumulator.compact()

    def extract_output(self, accumulator):
        return accumulator.compact()


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
