"""Statistics state of one batch for every slice of a slicing spec at once: a
:class:`~evalbeam.metrics.state.SliceTable` whose columns are each feature's sums, minima,
maxima, quantile sketch (numbers) and value counts (strings and bytes), summed with
``np.bincount`` (``np.minimum.at`` / ``np.maximum.at`` for extremes) over the same slice codes
the metrics use; merged and rolled up as every SliceTable is. A feature of few distinct values
in the batch (a label, a weight, a country) is first counted per (slice, value), and all its
columns are read from that table (:func:`value_table`).

Columns per feature ``f`` (state names ``f|family:part``):

- ``common:sum``  examples with a value, values; the same weighted
- ``common:min``  fewest values in an example with a value
- ``common:max``  most values in one; whether some example held a list; the type code
- ``num:sum``     finite values, sum s (x - c), sum (s (x - c))^2, zeros, NaNs; the same
  weighted, with ``c`` the feature's shift and ``s`` its scale
  (:class:`~evalbeam.data_quality.plan.DataQualityPlan`)
- ``num:min`` / ``num:max``  the extremes (NaN left out)
- ``num:sketch``  counts (and weights) per sketch bucket (:mod:`~evalbeam.data_quality.sketch`)
- ``str:sum``     values, their total length in bytes
- ``str:min`` / ``str:max``  the shortest and longest value (bytes)
- ``str:values``  counts (and weights) per distinct value
  (:mod:`~evalbeam.data_quality.value_counts`)

The table's example counts are the rows read in each slice and its weights their example
weights (a null or NaN weight counts 0).
"""
from __future__ import annotations

import functools

import numpy as np

from evalbeam.data_quality import sketch
from evalbeam.data_quality.columns import TYPE_CODES
from evalbeam.data_quality.value_counts import ValueCounts
from evalbeam.metrics.state import DENSE_PER_ROW, DenseColumn, SliceTable, SparseColumn, StateSpec

COMMON_SUM = ("non_missing", "values", "w_non_missing", "w_values")
NUM_SUM = ("finite", "s1", "s2", "zeros", "nan", "w_finite", "w_s1", "w_s2", "w_nan")
STR_SUM = ("values", "length")


@functools.lru_cache(maxsize=4096)  # (the same for every batch: made once)
def state_specs(name: str, kind, weighted: bool, cap: int = 0) -> dict:
    """The state specs of a feature of ``kind`` (its type: numeric or not); not to be
    changed."""
    channels = 2 if weighted else 1
    specs = {f"{name}|common:sum": StateSpec(f"{name}|common:sum", (len(COMMON_SUM),)),
             f"{name}|common:min": StateSpec(f"{name}|common:min", (1,), "min"),
             f"{name}|common:max": StateSpec(f"{name}|common:max", (3,), "max")}
    if kind.numeric:
        specs.update({
            f"{name}|num:sum": StateSpec(f"{name}|num:sum", (len(NUM_SUM),)),
            f"{name}|num:min": StateSpec(f"{name}|num:min", (1,), "min"),
            f"{name}|num:max": StateSpec(f"{name}|num:max", (1,), "max"),
            f"{name}|num:sketch": StateSpec(f"{name}|num:sketch", (channels, sketch.BUCKETS),
                                            sparse=True)})
    elif kind.type:
        specs.update({
            f"{name}|str:sum": StateSpec(f"{name}|str:sum", (len(STR_SUM),)),
            f"{name}|str:min": StateSpec(f"{name}|str:min", (1,), "min"),
            f"{name}|str:max": StateSpec(f"{name}|str:max", (1,), "max"),
            f"{name}|str:values": StateSpec(f"{name}|str:values", (channels,), counts=True,
                                            cap=cap)})
    return specs


def _pairs_of_values(parent, n_rows: int, rows, codes):
    """``(value index, slice code)`` of each (value, slice) pair: a value is in the slices of
    its row. ``parent`` None: value i is row i; ``rows`` None: row i is in slice codes[i]."""
    if rows is None:
        if parent is None:
            return None, codes
        return None, codes[parent]
    if parent is None:  # one value per row: the pair's row is the value
        return rows, codes
    counts = np.bincount(parent, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    reps = counts[rows]
    pair = np.repeat(np.arange(len(rows)), reps)
    offsets = np.arange(len(pair)) - np.repeat(np.cumsum(reps) - reps, reps)
    return starts[rows[pair]] + offsets, codes[pair]


def _take(a, index):
    return a if index is None else a[index]


def _extreme(ufunc, identity, codes, values, n: int) -> np.ndarray:
    """Each slice's extreme (float64) of ``values``, found in single precision for
    single-precision values (``ufunc.at`` is fast only when it casts nothing)."""
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    out = np.full(n, identity, dtype)
    if len(codes):
        ufunc.at(out, codes, values.astype(dtype, copy=False))
    return out.astype(np.float64, copy=False)


SUMS, KEPT = "sums", "kept"  # the parts of a table: see spec_statistics
# A feature of few distinct values (numbers of few values, strings) is counted per (slice,
# value) in a dense table of at most this many cells (or DENSE_PER_ROW per value), every
# statistic then read from the table; beyond it, from the values themselves.
VALUE_TABLE_CELLS = 1 << 21


def spec_statistics(features: dict, w: np.ndarray | None, keys: list, codes: np.ndarray,
                    rows, n_rows: int, dq, tally: dict | None = None,
                    null_rows: int = 0, parts=(SUMS, KEPT), tables: dict | None = None,
                    totals: tuple | None = None) -> SliceTable:
    """The statistics table of one batch for one slicing spec: ``keys`` its slices, ``codes``
    the slice of each (row, slice) pair and ``rows`` their rows (None: row i is pair i);
    ``w`` the rows' weights (None: unweighted). ``parts``: SUMS, the columns that are sums,
    minima and maxima (which a finer table's slices add up to: see
    :func:`evalbeam.data_quality.partials.statistics_tables`); KEPT, the numbers' sketches and
    the value counts; a table of KEPT only counts no examples (its SUMS part does).
    ``tables``: the :func:`value_table` of features of few values for these slices, when
    known (rolled up from a finer table's); else counted here.
    ``totals``: the slices' example counts and weights, when known."""
    n = len(keys)
    weighted = w is not None
    row_w = _take(w, rows) if weighted else None
    if SUMS not in parts:
        counts, weights = np.zeros(n, np.int64), np.zeros(n)
    elif totals is not None:
        counts, weights = totals
    else:
        counts = np.bincount(codes, minlength=n).astype(np.int64)
        weights = np.bincount(codes, weights=row_w, minlength=n) if weighted else \
            counts.astype(np.float64)
    specs, columns = {}, {}
    for name, f in features.items():
        fspecs = state_specs(name, f.kind, weighted, dq.value_cap)
        table = (tables or {}).get(name)
        made = _feature_columns(f, fspecs, name, w, row_w, codes, rows, n, n_rows, dq,
                                (counts, weights), parts, table)
        specs.update({k: fspecs[k] for k in made})
        columns.update(made)
    return SliceTable.from_batch(specs, keys, counts, columns, tally, weights, null_rows)


def value_table(f, w: np.ndarray | None, codes: np.ndarray, rows, n: int, n_rows: int):
    """``(counts, weights or None)``, each ``(n, values)``: a feature's values counted per
    (slice, distinct value) over the (row, slice) pairs ``codes``, ``rows`` (as in
    :func:`spec_statistics`); None for a feature of many values, or when the table would be
    large."""
    value_codes = f.value_codes if f.kind.numeric else f.index
    if value_codes is None:
        return None
    m = max(len(f.distinct) if f.kind.numeric else len(f.dictionary), 1)
    index, v_codes = _pairs_of_values(f.parent, n_rows, rows, codes)
    if n * m > max(VALUE_TABLE_CELLS, DENSE_PER_ROW * len(v_codes)):
        return None
    key = v_codes * m
    key += _take(value_codes, index)
    counts = np.bincount(key, minlength=n * m).reshape(n, m).astype(np.float64)
    if w is None:
        return counts, None
    value_w = _take(_take(w, f.parent), index)
    return counts, np.bincount(key, weights=value_w, minlength=n * m).reshape(n, m)


def _feature_columns(f, specs, name, w, row_w, codes, rows, n, n_rows, dq, totals,
                     parts=(SUMS, KEPT), table=None) -> dict:
    out = _common_columns(f, specs, name, row_w, codes, rows, n, totals) if SUMS in parts else {}
    if not f.kind.type:
        return out
    if table is None:
        table = value_table(f, w, codes, rows, n, n_rows)
    if table is not None:
        if f.kind.numeric:
            out.update(_numeric_of_table(f, specs, name, *table, n, dq, parts))
        else:
            out.update(_strings_of_table(f, specs, name, *table, n, parts))
        return out
    index, v_codes = _pairs_of_values(f.parent, n_rows, rows, codes)
    value_w = None
    if w is not None:
        value_w = _take(_take(w, f.parent), index)
    if f.kind.numeric:
        whole = totals if f.parent is None and f.present is None else None
        out.update(_numeric_columns(f, specs, name, index, v_codes, value_w, n, dq, whole,
                                    parts))
    else:
        out.update(_string_columns(f, specs, name, index, v_codes, value_w, n, parts))
    return out


def _common_columns(f, specs, name, row_w, codes, rows, n, totals) -> dict:
    def dense(part, data):
        return DenseColumn(specs[f"{name}|{part}"], data)

    present = _take(f.present, rows) if f.present is not None else None
    p_codes = codes if present is None else codes[present]
    p_w = None if row_w is None else (row_w if present is None else row_w[present])
    common = np.zeros((n, len(COMMON_SUM)))
    if present is None:  # every example has a value: the slices' counts and weights
        common[:, 0] = totals[0]
        if p_w is not None:
            common[:, 2] = totals[1]
    else:
        common[:, 0] = np.bincount(p_codes, minlength=n)
        if p_w is not None:
            common[:, 2] = np.bincount(p_codes, weights=p_w, minlength=n)
    seen = common[:, 0] > 0
    cmax = np.full((n, 3), -np.inf)
    if f.kind.is_list:
        p_nv = np.asarray(_take(f.num_values, rows), np.float64)
        p_nv = p_nv if present is None else p_nv[present]
        common[:, 1] = np.bincount(p_codes, weights=p_nv, minlength=n)
        if p_w is not None:
            common[:, 3] = np.bincount(p_codes, weights=p_w * p_nv, minlength=n)
        cmin = _extreme(np.minimum, np.inf, p_codes, p_nv, n)[:, None]
        cmax[:, 0] = _extreme(np.maximum, -np.inf, p_codes, p_nv, n)
    else:  # one value per example that has one
        common[:, 1], common[:, 3] = common[:, 0], common[:, 2]
        cmin = np.where(seen, 1.0, np.inf)[:, None]
        cmax[seen, 0] = 1.0
    cmax[seen, 1] = float(f.kind.is_list)
    cmax[seen, 2] = TYPE_CODES[f.kind.type]
    return {f"{name}|common:sum": dense("common:sum", common),
            f"{name}|common:min": dense("common:min", cmin),
            f"{name}|common:max": dense("common:max", cmax)}


def _numeric_of_table(f, specs, name, counts, weights, n, dq, parts) -> dict:
    """The numbers' columns of a feature of few distinct values from its :func:`value_table`:
    the count (and weight) of each (slice, value)."""
    v = f.distinct
    nan = np.isnan(v)
    seen = (counts > 0) & ~nan
    out = {}
    if SUMS in parts:
        finite = np.isfinite(v)
        d = np.where(finite, (v - dq.shifts.get(name, 0.0)) * dq.scales.get(name, 1.0), 0.0)
        sums = np.zeros((n, len(NUM_SUM)))
        for at, table in ((0, counts), (5, weights)):
            if table is not None:  # (columns picked out only when some are not finite)
                sums[:, at] = table.sum(axis=1) if finite.all() else \
                    table[:, finite].sum(axis=1)
                sums[:, at + 1] = table @ d
                sums[:, at + 2] = table @ (d * d)
                if nan.any():
                    sums[:, at + 4 if at == 0 else 8] = table[:, nan].sum(axis=1)
        zero = np.flatnonzero(v == 0)
        if len(zero):
            sums[:, 3] = counts[:, zero].sum(axis=1)
        low = np.where(seen, v, np.inf).min(axis=1, initial=np.inf)[:, None]
        high = np.where(seen, v, -np.inf).max(axis=1, initial=-np.inf)[:, None]
        out.update({f"{name}|num:sum": DenseColumn(specs[f"{name}|num:sum"], sums),
                    f"{name}|num:min": DenseColumn(specs[f"{name}|num:min"], low),
                    f"{name}|num:max": DenseColumn(specs[f"{name}|num:max"], high)})
    if KEPT in parts:  # a few buckets per slice: kept as entries (sparse)
        rows, values = np.nonzero(seen)
        channels = [counts[rows, values]] + ([weights[rows, values]] if weights is not None
                                             else [])
        out[f"{name}|num:sketch"] = SparseColumn.from_entries(
            specs[f"{name}|num:sketch"], n, rows, f.distinct_buckets[values],
            np.stack(channels, axis=1))
    return out


def _numeric_columns(f, specs, name, index, v_codes, value_w, n, dq, whole=None,
                     parts=(SUMS, KEPT)) -> dict:
    """``whole``: the slices' example counts and weights when every example has exactly one
    value."""
    x = _take(f.numbers, index)
    buckets = f.buckets if f.buckets is not None else f.distinct_buckets[f.value_codes]
    buckets = _take(buckets, index)
    nan = f.cache.get("nan") if index is None else None
    if nan is None:
        nan = buckets < 0
        if index is None:
            f.cache["nan"] = nan
    if not nan.any():  # the values that are numbers (NaN left out)
        c, xv, b, vw = v_codes, x, buckets, value_w
    else:
        valued = ~nan
        c, xv, b = v_codes[valued], x[valued], buckets[valued]
        vw = value_w[valued] if value_w is not None else None
    out = {}
    if SUMS in parts:
        shifted = f.cache.get("shifted") if index is None else None
        if shifted is None:
            shifted = np.subtract(x, dq.shifts.get(name, 0.0), dtype=np.float64)
        sums = _numeric_sums(v_codes, value_w, n, nan, whole, x, shifted,
                             dq.scales.get(name, 1.0))
        low = _extreme(np.minimum, np.inf, c, xv, n)[:, None]
        high = _extreme(np.maximum, -np.inf, c, xv, n)[:, None]
        out.update({f"{name}|num:sum": DenseColumn(specs[f"{name}|num:sum"], sums),
                    f"{name}|num:min": DenseColumn(specs[f"{name}|num:min"], low),
                    f"{name}|num:max": DenseColumn(specs[f"{name}|num:max"], high)})
    if KEPT in parts:
        channels = [None] + ([vw] if vw is not None else [])  # (None: counted)
        span = f.cache.get("span") if index is None else None
        if span is None and len(b):
            span = int(b.min()), int(b.max())
            if index is None:  # (the same buckets for the batch's other specs)
                f.cache["span"] = span
        out[f"{name}|num:sketch"] = SparseColumn.from_rows(specs[f"{name}|num:sketch"], c, n,
                                                           b, channels, span)
    return out


def _numeric_sums(v_codes, value_w, n, nan, whole, x, shifted, scale) -> np.ndarray:
    """The ``num:sum`` columns: sums of ``d = scale (x - c)`` (``shifted``: ``x - c``), 0 for
    non-finite values (no masking where all are finite: a mask per value costs more than the
    sums), its square and their weighted sums; each product made in turn in one buffer (a
    new array costs about a pass more)."""
    sums = np.zeros((n, len(NUM_SUM)))
    finite = np.isfinite(x)
    fin = None if finite.all() else finite.astype(np.float64)
    d = shifted * scale if scale != 1.0 else shifted
    if fin is not None:
        d = np.where(finite, d, 0.0)
        sums[:, 0] = np.bincount(v_codes, weights=fin, minlength=n)
    elif whole is not None:
        sums[:, 0] = whole[0]
    else:
        sums[:, 0] = np.bincount(v_codes, minlength=n)
    sums[:, 1] = np.bincount(v_codes, weights=d, minlength=n)
    product = np.empty_like(d)
    with np.errstate(over="ignore"):  # (beyond the first rows' scale: infinite sums)
        sums[:, 2] = np.bincount(v_codes, weights=np.multiply(d, d, out=product), minlength=n)
        zero = x == 0
        if zero.any():
            sums[:, 3] = np.bincount(v_codes, weights=zero, minlength=n)
        if fin is not None:
            sums[:, 4] = np.bincount(v_codes, weights=nan, minlength=n)
        if value_w is not None:
            if fin is None and whole is not None:  # a value per example: the slices' weights
                sums[:, 5] = whole[1]
            else:
                sums[:, 5] = np.bincount(v_codes, weights=value_w * fin if fin is not None else
                                         value_w, minlength=n)
            np.multiply(value_w, d, out=product)
            sums[:, 6] = np.bincount(v_codes, weights=product, minlength=n)
            product *= d
            sums[:, 7] = np.bincount(v_codes, weights=product, minlength=n)
            if fin is not None:
                sums[:, 8] = np.bincount(v_codes, weights=value_w * nan, minlength=n)
    return sums


def _string_sums(specs, name, sums, low, high) -> dict:
    return {f"{name}|str:sum": DenseColumn(specs[f"{name}|str:sum"], sums),
            f"{name}|str:min": DenseColumn(specs[f"{name}|str:min"], low[:, None]),
            f"{name}|str:max": DenseColumn(specs[f"{name}|str:max"], high[:, None])}


def _strings_of_table(f, specs, name, counts, weights, n, parts) -> dict:
    """The strings' columns from their :func:`value_table` (values: the dictionary's)."""
    out = {}
    if SUMS in parts:
        lengths = f.dictionary_lengths.astype(np.float64)
        sums = np.stack([counts.sum(axis=1), counts @ lengths], axis=1)
        seen = counts > 0
        out.update(_string_sums(specs, name, sums,
                                np.where(seen, lengths, np.inf).min(axis=1, initial=np.inf),
                                np.where(seen, lengths, -np.inf).max(axis=1, initial=-np.inf)))
    if KEPT in parts:
        out[f"{name}|str:values"] = ValueCounts.from_table(
            specs[f"{name}|str:values"], counts, weights, f.dictionary, f.dictionary_hashes)
    return out


def _string_columns(f, specs, name, index, v_codes, value_w, n, parts=(SUMS, KEPT)) -> dict:
    which = _take(f.index, index)
    out = {}
    if SUMS in parts:
        lengths = f.dictionary_lengths[which].astype(np.float64)
        sums = np.zeros((n, len(STR_SUM)))
        sums[:, 0] = np.bincount(v_codes, minlength=n)
        sums[:, 1] = np.bincount(v_codes, weights=lengths, minlength=n)
        out.update(_string_sums(specs, name, sums,
                                _extreme(np.minimum, np.inf, v_codes, lengths, n),
                                _extreme(np.maximum, -np.inf, v_codes, lengths, n)))
    if KEPT in parts:
        channels = [np.ones(len(v_codes))] + ([value_w] if value_w is not None else [])
        out[f"{name}|str:values"] = ValueCounts.from_pairs(
            specs[f"{name}|str:values"], n, v_codes, which, f.dictionary, f.dictionary_hashes,
            channels)
    return out
