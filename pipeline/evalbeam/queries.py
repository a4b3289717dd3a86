"""Documents grouped into queries across batches and files, then pre-aggregated per slice.

A query's documents may sit in any batch of any file, so per-query statistics are computed
only after the pipeline has brought them together (the ``GroupByQuery`` step of
:class:`~evalbeam.api.Evaluate`):

1. :func:`split_by_query`, per batch: the columns the query metrics read, cut into one
   RecordBatch per query bucket (a stable hash of the query value, so equal values from any
   file land in the same bucket) -> ``(bucket, RecordBatch)``. Elements per batch: at most
   :data:`QUERY_BUCKETS`, never one per query or document.
2. GroupByKey on the bucket: every document of a query is in one group.
3. :func:`query_partials`, per bucket: documents sorted by query (``np.argsort``), per-query
   values by ``np.*.reduceat`` (:class:`~evalbeam.arrays.QueryArrays`), then per slicing spec
   one SliceTable over the slices of those queries (:func:`evalbeam.preagg.spec_tables`, as
   for rows), merged with the row path's tables by the same FusedCombineFn.

A query belongs to every slice one of its documents belongs to (TFMA merges the slice keys of
a query's examples), and counts once there. Its weight is its documents' weight, which they
must share (TFMA raises otherwise).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalbeam.arrow_numpy import to_arrow, to_numpy
from evalbeam.arrays import QueryArrays
from evalbeam.errors import InputError
from evalbeam.extract import source_of, to_float, with_source
from evalbeam.hashing import value_hashes
from evalbeam.metrics.ranking import OWN_LABEL
from evalbeam.metrics.state import weight_units
from evalbeam.preagg import spec_tables
from evalbeam.slicing import assign_slices, column_codes

QUERY_BUCKETS = 64  # groups of queries that cross the shuffle (the parallelism of step 3)

def query_bucket(values: pa.Array) -> np.ndarray:
    """The query bucket of each value, the same in every process and file."""
    return (value_hashes(values) % np.uint64(QUERY_BUCKETS)).astype(np.int64)


def query_heads(eval_plan) -> list:
    """``[(stream, head)]`` of the streams whose examples are queries."""
    return [(s, eval_plan.head(s.model, s.output)) for s in eval_plan.streams() if s.query_key]


def document_columns(eval_plan) -> list:
    """The columns the query path reads: query, labels, predictions, weights, gains, slices."""
    cols = [eval_plan.query_key]
    for stream, head in query_heads(eval_plan):
        cols += [head.label_key, head.prediction_key]
        if stream.weighted and head.example_weight_key:
            cols.append(head.example_weight_key)
    cols += eval_plan.query_columns()
    for spec in eval_plan.slice_specs:
        cols += spec.columns
    return list(dict.fromkeys(cols))


def split_by_query(batch: pa.RecordBatch, eval_plan) -> list:
    """``[(bucket, RecordBatch)]``: ``batch``'s documents (rows kept by extraction) by query
    bucket, with the columns the query path reads. Checks the gain / label columns that query
    metrics read: a value for every document, finite."""
    source = source_of(batch)
    for name in eval_plan.query_columns():
        col = batch.column(name)
        if col.null_count:
            raise InputError(f"{source}: column {name!r} (read by a query metric) has "
                             f"{col.null_count} null value(s); every document needs one")
        values = to_float(col)
        if not np.isfinite(values).all():
            raise InputError(f"{source}: column {name!r} (read by a query metric) has "
                             f"{int((~np.isfinite(values)).sum())} NaN or infinite value(s); "
                             "expected finite numbers")
    if not batch.num_rows:
        return []
    data = batch.select(document_columns(eval_plan))
    query = _encode(data.column(eval_plan.query_key))
    bucket = query_bucket(query.dictionary)[to_numpy(query.indices)]
    order = np.argsort(bucket, kind="stable")
    data = data.take(to_arrow(order))
    counts = np.bincount(bucket, minlength=QUERY_BUCKETS)
    ends = np.cumsum(counts)
    return [(b, with_source(data.slice(end - n, n), source))
            for b, (n, end) in enumerate(zip(counts.tolist(), ends.tolist())) if n]


def _encode(column: pa.Array) -> pa.DictionaryArray:
    """The query column dictionary-encoded (it has no nulls: extraction dropped them)."""
    return column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)


def _documents(batches: list):
    """One RecordBatch of ``batches`` and, per row, the name of its source."""
    sources = [source_of(b) for b in batches]
    table = pa.concat_tables([pa.Table.from_batches([b.replace_schema_metadata(None)])
                              for b in batches], promote_options="permissive")
    data = table.combine_chunks().to_batches()[0]
    row_source = np.repeat(np.arange(len(batches)), [b.num_rows for b in batches])
    return data, sources, row_source


def query_partials(batches, eval_plan) -> list:
    """``[(spec_index, SliceTable)]`` for the whole queries in ``batches`` (one bucket)."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return []
    data, sources, row_source = _documents(batches)
    query = _encode(data.column(eval_plan.query_key))
    codes = to_numpy(query.indices).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    data, row_source, codes = data.take(to_arrow(order)), row_source[order], codes[order]
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    sizes = np.diff(np.append(starts, len(codes)))
    query_of_row = np.repeat(np.arange(len(starts)), sizes)

    columns = {}

    def column(name):
        if name not in columns:
            columns[name] = to_float(data.column(name))
        return columns[name]

    def where(i):
        value = query.dictionary[int(codes[starts[i]])].as_py()
        return (f"{sources[row_source[starts[i]]]}: query {value!r} "
                f"(query_key {eval_plan.query_key!r})")

    hashes = value_hashes(query.dictionary)[codes[starts]]
    arrays, query_weights = {}, None
    for stream, head in query_heads(eval_plan):
        if stream.weighted and head.example_weight_key:
            w = column(head.example_weight_key)
            low, high = np.minimum.reduceat(w, starts), np.maximum.reduceat(w, starts)
            differ = np.flatnonzero(low != high)
            if len(differ):
                i = differ[0]
                raise InputError(f"{where(i)} has documents with different weights in column "
                                 f"{head.example_weight_key!r} ({low[i]:g} and {high[i]:g}); "
                                 "a query's documents must share one weight")
        else:
            low = np.ones(len(starts))
        if query_weights is None:  # the first output's weights rank the slices
            query_weights = low

        def docs(name, label=head.label_key):
            return column(label if name == OWN_LABEL else name)
        arrays[stream] = QueryArrays(column(head.prediction_key), starts, sizes, low, docs,
                                     hashes)

    codes_of = column_codes(data)

    def assignments():
        for index, spec in enumerate(eval_plan.slice_specs):
            assignment = assign_slices(spec, codes_of, data.num_rows)
            n_slices = len(assignment.keys)
            if not n_slices:
                yield index, assignment.keys, assignment.codes, None
                continue
            rows = query_of_row if assignment.rows is None else query_of_row[assignment.rows]
            pairs = np.unique(rows * n_slices + assignment.codes)  # a query joins a slice once
            yield index, assignment.keys, pairs % n_slices, pairs // n_slices

    # the row path counts the slices' examples, unless every metric reads queries
    units = weight_units(query_weights) if eval_plan.counts_queries else None
    return spec_tables(eval_plan, eval_plan.fused.indexed_families(queries=True), arrays,
                       assignments(), units)
