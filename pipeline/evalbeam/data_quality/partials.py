"""One batch's statistics partials: per slicing spec, the statistics table of every row read
(rows the metrics drop too), in the slices their slicing values give, carried by that spec's
partial table (``SliceTable.statistics``) into the same combine.

Coarse specs are rolled up from finer ones as the metrics are (:mod:`evalbeam.rollup`): the
statistics' states are sums, minima, maxima and value counts, each reduced by its own rule.
"""
from __future__ import annotations

import numpy as np

from evalbeam import rollup
from evalbeam.data_quality import accumulate
from evalbeam.data_quality.accumulate import KEPT, SUMS, spec_statistics, value_table
from evalbeam.data_quality.columns import batch_features
from evalbeam.data_quality.plan import DATA
from evalbeam.metrics.state import REDUCE, DenseColumn, SliceTable
from evalbeam.slicing import assign_slices, column_codes, rows_without_value


def row_weights(batch, dq) -> np.ndarray | None:
    """Each row's example weight (a null or NaN weight: 0); None without a weight column."""
    if not dq.weight_column or dq.weight_column not in batch.schema.names:
        return None
    from evalbeam.extract import to_float

    w = to_float(batch.column(dq.weight_column))  # (a null: NaN)
    return np.where(np.isnan(w), 0.0, w)


def _slicing(batch, specs) -> dict:
    """The batch's slice assignments per spec, rolled up where a spec can be."""
    n = batch.num_rows
    column = column_codes(batch)
    nulls = [rows_without_value(spec, column, n) for spec in specs]
    rolled = rollup.sources(tuple(specs))
    assigned = {i: assign_slices(spec, column, n) for i, spec in enumerate(specs)
                if i not in rolled}
    ways = {}
    for i, source in rolled.items():
        way = rollup.roll_up(specs[i], specs[source], assigned[source], column, n)
        if way is None:
            assigned[i] = assign_slices(specs[i], column, n)
        else:
            ways[i] = way
    return dict(column=column, rolled=rolled, assigned=assigned, ways=ways, null_rows=nulls)


def statistics_tables(batch, eval_plan, slicing: dict | None = None,
                      weights: np.ndarray | None = None) -> dict:
    """``{spec index: statistics SliceTable}`` of ``batch`` (every row of it); ``slicing``:
    the batch's slice assignments and ``weights`` its rows' example weights (checked: none
    NaN), when the metrics made them for the same rows."""
    dq = eval_plan.data_quality
    slicing = slicing or _slicing(batch, eval_plan.slice_specs)
    features = batch_features(batch, dq, slicing["column"])
    w = weights if weights is not None else row_weights(batch, dq)
    n = batch.num_rows
    rolled, assigned, ways = slicing["rolled"], slicing["assigned"], slicing["ways"]
    nulls = slicing["null_rows"]
    tables = _counted(features, w, assigned, n, dq, nulls)
    for i, (keys, group, rest) in ways.items():
        source = tables[rolled[i]]
        table = source.reduce_slices(group, keys) if len(source) else None
        if rest is not None:
            counted = spec_statistics(features, w, keys, rest[0], rest[1], n, dq)
            table = counted if table is None else table.merge(counted)
        if table is None:
            table = spec_statistics(features, w, [], np.zeros(0, np.int64), None, n, dq)
        table.null_rows = nulls[i]
        tables[i] = table
    return tables


JOINT_SLICES = 1 << 16  # at most this many combinations of the counted specs' slices


def _counted(features, w, assigned: dict, n: int, dq, nulls) -> dict:
    """The tables of the specs counted directly. Where several of them put each row in exactly
    one slice, their sums (SUMS) and the counts per value of features of few values
    (:func:`~evalbeam.data_quality.accumulate.value_table`) are counted once, per combination
    of their slices (B1's age x country x device), and each spec's are the sums over the other
    specs' slices; the numbers' sketches are counted per spec."""
    joint = [i for i, a in sorted(assigned.items()) if a.rows is None and len(a.keys)]
    sizes = [len(assigned[i].keys) for i in joint]
    if len(joint) < 2 or int(np.prod(sizes, dtype=np.float64)) > JOINT_SLICES:
        return {i: spec_statistics(features, w, a.keys, a.codes, a.rows, n, dq,
                                   null_rows=nulls[i]) for i, a in assigned.items()}
    codes = assigned[joint[0]].codes.astype(np.int64)  # (a copy, combined in place)
    for i, size in zip(joint[1:], sizes[1:]):
        codes *= size
        codes += assigned[i].codes
    cells = int(np.prod(sizes))
    counts = np.bincount(codes, minlength=cells)
    weights = np.bincount(codes, weights=w, minlength=cells) if w is not None else None
    counted = counts.astype(np.float64), weights
    totals = counts, (counted[0] if weights is None else weights)
    values = {}
    for name, f in features.items():
        table = _slicing_column_table(f, name, [assigned[i].keys for i in joint], sizes,
                                      counted, n)
        if table is None:
            table = value_table(f, w, codes, None, cells, n)
        if table is not None:
            values[name] = table
    sums = spec_statistics(features, w, list(range(cells)), codes, None, n, dq, parts=(SUMS,),
                           tables=values, totals=totals)
    tables = {}
    for at, i in enumerate(joint):
        a = assigned[i]
        table = _joint_to_spec(sums, sizes, at, a.keys)
        rolled = {name: tuple(None if t is None else _on_axis(t, sizes, at) for t in pair)
                  for name, pair in values.items()}
        kept = spec_statistics(features, w, a.keys, a.codes, None, n, dq, parts=(KEPT,),
                               tables=rolled)
        table.specs = {**table.specs, **kept.specs}  # (the same slices, in the same order)
        table.columns.update(kept.columns)
        table.null_rows = nulls[i]
        tables[i] = table
    for i, a in assigned.items():
        if i not in tables:
            tables[i] = spec_statistics(features, w, a.keys, a.codes, a.rows, n, dq,
                                        null_rows=nulls[i])
    return tables


def _on_axis(joint: np.ndarray, sizes: list, at: int, reduce=np.add) -> np.ndarray:
    """Per slice of the ``at``-th joint spec, the reduction of a joint table's rows (one per
    combination of the specs' ``sizes`` slices, the last spec's varying fastest) over the
    other specs' slices."""
    others = tuple(k for k in range(len(sizes)) if k != at)
    return reduce.reduce(joint.reshape(tuple(sizes) + joint.shape[1:]), axis=others)


def _joint_to_spec(sums: SliceTable, sizes: list, at: int, keys: list) -> SliceTable:
    """The ``at``-th joint spec's table of the joint table ``sums`` (dense columns only),
    each state reduced by its own rule."""
    columns = {name: DenseColumn(col.spec, _on_axis(col.data[: len(sums)], sizes, at,
                                                    REDUCE[col.spec.reduce]))
               for name, col in sums.columns.items()}
    return SliceTable.from_batch(sums.specs, keys, _on_axis(sums.counts, sizes, at), columns,
                                 weights=_on_axis(sums.weights, sizes, at))


def _slicing_column_table(f, name: str, keys: list, sizes: list, counted: tuple, n_rows: int):
    """The :func:`~evalbeam.data_quality.accumulate.value_table` over the joint combinations
    of a feature that is a slicing column of one of their specs (one value per row, none
    missing), read off the combinations' counts and weights (``counted``): each combination
    holds a single value of it. None when it is not one, or a slice's value is not among the
    feature's own."""
    at = next((at for at, spec_keys in enumerate(keys)
               if any(column == name for column, _ in spec_keys[0])), None)
    if at is None or f.parent is not None or f.present is not None:
        return None
    if f.kind.numeric and f.value_codes is not None:
        index = {float(v): i for i, v in enumerate(f.distinct.tolist())}
    elif not f.kind.numeric and f.index is not None:
        index = {v: i for i, v in enumerate(f.dictionary.to_pylist())}
    else:
        return None
    cells = int(np.prod(sizes))
    if cells * max(len(index), 1) > max(accumulate.VALUE_TABLE_CELLS,
                                         accumulate.DENSE_PER_ROW * n_rows):
        return None
    where = [column for column, _ in keys[at][0]].index(name)
    try:
        of_key = np.array([index[float(k[where][1]) if f.kind.numeric else k[where][1]]
                           for k in keys[at]], np.int64)
    except (KeyError, TypeError, ValueError):
        return None
    value = of_key[(np.arange(cells) // int(np.prod(sizes[at + 1:]))) % sizes[at]]
    tables = []
    for total in counted:
        table = None
        if total is not None:
            table = np.zeros((cells, len(index)))
            table[np.arange(cells), value] = total
        tables.append(table)
    return tuple(tables)


def attach_statistics(partials: list, batch, eval_plan, dataset: str = DATA,
                      slicing: dict | None = None, weights: np.ndarray | None = None) -> list:
    """``partials`` (``[(spec index, SliceTable)]``) carrying the statistics of ``batch``
    for ``dataset``: each spec's first table holds them (a table without slices is added for a
    spec that has none); ``slicing``, ``weights``: as :func:`statistics_tables` takes them."""
    stats = statistics_tables(batch, eval_plan, slicing, weights)
    first = {}
    for index, table in partials:
        first.setdefault(index, table)
    added = []
    specs = eval_plan.fused.state_specs()
    for index, table in stats.items():
        if index not in first:
            first[index] = SliceTable.from_batch(specs, [], np.zeros(0, np.int64), {})
            added.append((index, first[index]))
        first[index].statistics[dataset] = table
    return sorted(partials + added, key=lambda item: item[0])
