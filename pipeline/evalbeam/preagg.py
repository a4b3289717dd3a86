"""Pre-aggregation: the examples of one batch (rows, or whole queries) -> per slicing spec, one
:class:`~evalbeam.metrics.state.SliceTable` holding every configured family's state for all the
spec's slices of that batch (one ``np.bincount`` per statistic over the slice codes).

:func:`batch_partials` does it for a RecordBatch of rows; :func:`evalbeam.queries.query_partials`
for the queries of one query bucket. Both go through :func:`spec_tables`, per slicing spec:
slice codes -> each family's ``add_batch`` -> example counts and weights -> a SliceTable.
A spec whose slices are unions of a finer spec's takes its row tables from that spec's
(:mod:`evalbeam.rollup`) instead.
"""
from __future__ import annotations

import numpy as np

from evalbeam import rollup
from evalbeam.data_quality.partials import attach_statistics
from evalbeam.data_quality.plan import BASELINE, DATA
from evalbeam.extract import extract, to_float
from evalbeam.metrics.base import Stream
from evalbeam.metrics.classes import binary_view, pools_classes
from evalbeam.metrics.resampling import POISSON_BOOTSTRAP
from evalbeam.metrics.state import SliceTable, weight_units
from evalbeam.slicing import assign_slices, column_codes, rows_without_value


# Values the class views of one batch may hold at once: a view of one class (or k) holds one
# per row, a pooled view one per (row, class), and each has its derived arrays besides.
MAX_VIEW_ENTRIES = 1 << 22
# (Example, resample) pairs the Poisson bootstrap of one batch may hold at once: each drawn
# pair is a weighted copy of the example (about 100 bytes with what is derived from it).
MAX_RESAMPLED_ENTRIES = 1 << 23


def spec_tables(eval_plan, families: list, arrays: dict, assignments, units: np.ndarray | None,
                *, tally: dict | None = None, null_rows: list | None = None) -> list:
    """``[(spec_index, SliceTable)]``: for each slicing spec, the state of ``families``
    (``[(index, family)]``) for every slice of the examples in ``arrays`` (the arrays each
    family reads, by ``family.source()``), and the slices' example counts and weights.

    ``assignments`` gives ``(spec_index, keys, codes, rows)`` per spec: the slice code of each
    (example, slice) pair and its example (``rows``; None: pair i is example i). ``units``
    holds each example's weight in :func:`weight_units` (None: the examples are not counted,
    as queries are not while the row path counts the slices' rows). The first spec's table
    carries ``tally``; a spec without slices has a table only to carry that or its
    ``null_rows`` (by spec index: rows in none of its slices).
    """
    specs = eval_plan.fused.state_specs()
    out = []
    for index, keys, codes, rows in assignments:
        n_slices = len(keys)
        first = tally if index == 0 else None
        nulls = null_rows[index] if null_rows else 0
        if not n_slices:
            if first or nulls:
                out.append((index, SliceTable.from_batch(specs, [], np.zeros(0, np.int64), {},
                                                         first, null_rows=nulls)))
            continue
        taken = arrays if rows is None else {s: a.take(rows) for s, a in arrays.items()}
        columns, entry_codes = {}, {1: codes}
        for i, family in families:
            examples = taken[family.source()]
            if not (family.vectors or family.stream.query_key):  # (queries have no classes)
                examples = binary_view(examples, family.stream)
            if examples.per_row not in entry_codes:  # a pooled class view: an entry per class
                entry_codes[examples.per_row] = np.repeat(codes, examples.per_row)
            for name, col in family.add_batch(examples, entry_codes[examples.per_row],
                                              n_slices).items():
                columns[f"{i}.{name}"] = col
        counts, weights = np.zeros(n_slices, np.int64), None
        if units is not None:
            counts = np.bincount(codes, minlength=n_slices)
            weights = np.bincount(codes, minlength=n_slices,
                                  weights=units if rows is None else units[rows])
        out.append((index, SliceTable.from_batch(specs, keys, counts, columns, first, weights,
                                                 nulls)))
    return out


def batch_partials(batch, eval_plan):
    """``(extracted, [(spec_index, SliceTable), ...])`` for one RecordBatch (by spec; a batch
    computed in parts, :func:`_in_parts`, has a table per part and spec).

    The first spec's first table carries the batch's row tally. Every table counts the rows in
    no slice of its spec for lack of a slicing value (``null_rows``).
    """
    extracted = extract(batch, eval_plan)
    tally = {"rows_read": extracted.rows_read, "rows_used": extracted.batch.num_rows}
    tally.update({f"dropped:{reason}": n for reason, n in extracted.dropped.items()})
    dq = eval_plan.data_quality
    every_row = dq is not None and extracted.kept is None  # (the statistics' rows: shared)
    slicing = {} if every_row else None
    partials = _partials(extracted, eval_plan, tally, slicing)
    if dq is not None:  # every row read, dropped ones too
        weights = extracted.numbers.get(dq.weight_column) if every_row else None
        partials = attach_statistics(partials, batch, eval_plan, DATA, slicing or None, weights)
    return extracted, partials


def baseline_partials(batch, eval_plan) -> list:
    """``[(spec_index, SliceTable)]`` of a batch of baseline data: its statistics only (no
    metrics, no row tally)."""
    return attach_statistics([], batch, eval_plan, BASELINE)


def _partials(extracted, eval_plan, tally: dict | None, slicing: dict | None = None) -> list:
    """``slicing``: filled with the batch's slice assignments (for the statistics of the same
    rows) when given and the batch is computed whole."""
    entries = _view_entries(extracted, eval_plan)
    parts = max(-(-entries // MAX_VIEW_ENTRIES),
                -(-_resampled_entries(extracted, eval_plan, entries) // MAX_RESAMPLED_ENTRIES))
    if parts > 1 and extracted.rows_read > 1:
        return _in_parts(extracted, eval_plan, parts, tally)
    return _row_tables(extracted, eval_plan, tally, slicing)


def _in_parts(extracted, eval_plan, parts: int, tally: dict | None) -> list:
    """:func:`_partials` of the rows read cut into ``parts`` ranges (:meth:`Extracted.part`;
    each example keeps its draws, which come from its identity), and their tables are
    partials of their own (the combine adds them up; merging them here would only copy them
    once more)."""
    step = -(-extracted.rows_read // parts)
    tables = []
    for start in range(0, extracted.rows_read, step):
        tables.extend(_partials(extracted.part(start, start + step), eval_plan,
                                tally if start == 0 else None))
    return sorted(tables, key=lambda item: item[0])


def _row_tables(extracted, eval_plan, tally: dict | None, slicing: dict | None = None) -> list:
    data = extracted.batch
    column = column_codes(data)
    null_rows = [rows_without_value(spec, column, data.num_rows) for spec in eval_plan.slice_specs]
    families = eval_plan.fused.indexed_families(queries=False)
    if not families:  # only query metrics (evalbeam.queries): the tally (and overall slice)
        keys = [()] if eval_plan.slice_specs[0].is_overall else []
        specs = eval_plan.fused.state_specs()
        first = SliceTable.from_batch(specs, keys, np.zeros(len(keys), np.int64), {}, tally,
                                      null_rows=null_rows[0])
        return [(0, first)] + [
            (index, SliceTable.from_batch(specs, [], np.zeros(0, np.int64), {}, null_rows=n))
            for index, n in enumerate(null_rows) if index and n]

    units = _weight_units(extracted, eval_plan)
    specs = eval_plan.slice_specs
    rolled = {} if eval_plan.query_key else rollup.sources(tuple(specs))
    assigned = {i: assign_slices(spec, column, data.num_rows)
                for i, spec in enumerate(specs) if i not in rolled}
    ways = {}  # rolled-up spec -> how its slices come from its source's (rollup.roll_up)
    for i, source in rolled.items():
        way = rollup.roll_up(specs[i], specs[source], assigned[source], column, data.num_rows)
        if way is None:  # this batch counts the spec's examples directly
            assigned[i] = assign_slices(specs[i], column, data.num_rows)
        else:
            ways[i] = way
    if slicing is not None:
        slicing.update(column=column, rolled=rolled, assigned=assigned, ways=ways,
                       null_rows=null_rows)
    tables = dict(spec_tables(eval_plan, families, extracted.streams,
                              [(i, a.keys, a.codes, a.rows) for i, a in sorted(assigned.items())],
                              units, tally=tally, null_rows=null_rows))
    for i, (keys, group, rest) in ways.items():
        source = tables.get(rolled[i])
        table = source.reduce_slices(group, keys) if source is not None and len(source) else None
        if rest is not None:  # the examples in none of the source's slices, counted directly
            (_, counted), = spec_tables(eval_plan, families, extracted.streams,
                                        [(i, keys, *rest)], units)
            table = counted if table is None else table.merge(counted)
        first = tally if i == 0 else None
        if table is None and (first or null_rows[i]):
            table = SliceTable.from_batch(eval_plan.fused.state_specs(), [],
                                          np.zeros(0, np.int64), {})
        if table is not None:
            table.tally, table.null_rows = dict(first or {}), null_rows[i]
            tables[i] = table
    return sorted(tables.items(), key=lambda item: item[0])


def _weight_units(extracted, eval_plan) -> np.ndarray:
    """Each row's weight for ranking slices (:func:`evalbeam.compute.select_slices`): the first
    model output's example weight (1 without one), in :func:`weight_units`."""
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
