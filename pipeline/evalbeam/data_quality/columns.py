"""One batch's feature columns as the numpy arrays statistics are summed from, built once per
batch and shared by every slicing spec (:class:`FeatureArrays`).

A feature's *values* are its non-null scalars, or the non-null entries of its lists; each value
knows its row (``parent``; None when every row holds exactly one value, in order). Strings and
bytes are dictionary-encoded (a dictionary-encoded column keeps its dictionary), each value an
index into the dictionary, whose entries are hashed once (64 bits, mixed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalbeam.arrow_numpy import to_arrow, to_numpy
from evalbeam.data_quality import sketch
from evalbeam.data_quality.kinds import BYTES, FLOAT, INT, STRING, Kind, kind_of
from evalbeam.hashing import hash_bytes, mix64

TYPE_CODES = {"": 0, INT: 1, FLOAT: 2, STRING: 3, BYTES: 4}  # a feature's type: the largest seen
TYPE_NAMES = {v: k for k, v in TYPE_CODES.items()}


@dataclass
class FeatureArrays:
    name: str
    kind: Kind
    present: np.ndarray | None  # per row: has a value (None: every row)
    num_values: np.ndarray | None  # per row: values it holds (None: 1 each)
    parent: np.ndarray | None  # per value: its row (None: value i is row i)
    numbers: np.ndarray | None = None  # numeric: each value, in its own type
    buckets: np.ndarray | None = None  # numeric: sketch bucket per value (-1 for NaN)
    # numeric of few distinct values in the batch: each value's index into ``distinct``
    value_codes: np.ndarray | None = None
    distinct: np.ndarray | None = None  # float64
    distinct_buckets: np.ndarray | None = None
    cache: dict = field(default_factory=dict)  # x - shift, ...: shared by the batch's specs
    index: np.ndarray | None = None  # strings: dictionary index per value
    dictionary: pa.Array | None = None
    dictionary_hashes: np.ndarray | None = None
    dictionary_lengths: np.ndarray | None = None


def _is_list(typ) -> bool:
    return (pa.types.is_list(typ) or pa.types.is_large_list(typ) or
            pa.types.is_fixed_size_list(typ) or pa.types.is_list_view(typ))


def _rows_of(array: pa.Array):
    """``(present, num_values, values, parent)``: per row whether it has a value and how many
    values, and the non-null values with their rows (None: every row, one each)."""
    if _is_list(array.type):
        if pa.types.is_list_view(array.type):
            array = array.cast(pa.large_list(array.type.value_type))
        present = to_numpy(pc.is_valid(array))
        lengths = to_numpy(pc.fill_null(pc.list_value_length(array), 0))
        values = pc.list_flatten(array)
        parent = to_numpy(pc.list_parent_indices(array)).astype(np.int64)
        if values.null_count:
            valid = to_numpy(pc.is_valid(values))
            values = values.filter(to_arrow(valid))
            parent = parent[valid]
        return present, lengths.astype(np.int64), values, parent
    if not array.null_count:
        return None, None, array, None
    present = to_numpy(pc.is_valid(array))
    return present, present.astype(np.int64), array.filter(to_arrow(present)), \
        np.flatnonzero(present)


def numbers_of(array: pa.Array):
    """``(float64 values, parent, present, num_values)`` of a numeric (or boolean, or
    dictionary of numbers) column."""
    values, parent, present, num_values = _numbers(array)
    return values.astype(np.float64, copy=False), parent, present, num_values


def _numbers(array: pa.Array):
    """:func:`numbers_of`, the values in their own type (integers, floats)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    present, num_values, values, parent = _rows_of(array)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_boolean(values.type):
        values = values.cast(pa.int8())
    elif pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    elif pa.types.is_float16(values.type):
        values = values.cast(pa.float32())
    return to_numpy(values), parent, present, num_values


FEW_VALUES = 4096  # a numeric feature of at most this many distinct values in a batch is
# summed per (slice, value): one count per cell instead of a pass per statistic
_SAMPLE = 256


def _few_values(raw: np.ndarray):
    """``(index of each value in distinct, distinct values as float64)`` when ``raw`` (values
    in their own type) holds few distinct values (judged from its first values, then
    checked), else None; integers of a narrow range are their offset from the smallest (no
    hashing)."""
    if len(raw) < 4 * _SAMPLE:
        return None
    sample = np.unique(raw[:_SAMPLE])  # sorted; NaN last
    if len(sample) > _SAMPLE // 4:
        return None
    if np.issubdtype(raw.dtype, np.integer):
        low, high = int(raw.min()), int(raw.max())
        if high - low < FEW_VALUES:
            return np.subtract(raw, low, dtype=np.int64), \
                np.arange(low, high + 1, dtype=np.float64)
    if not np.isnan(sample).any():  # every value among the sample's?
        found = _among(raw, sample)
        if found is not None:
            return found, sample.astype(np.float64)
    encoded = pc.dictionary_encode(to_arrow(raw))
    distinct = to_numpy(encoded.dictionary)
    if len(distinct) > FEW_VALUES:
        return None
    return to_numpy(encoded.indices).astype(np.int64), distinct.astype(np.float64)


def _among(x: np.ndarray, sample: np.ndarray) -> np.ndarray | None:
    """Each value's index in ``sample`` (sorted, distinct) if every value is in it, else None:
    a comparison per sample value when there are a few (a binary search each costs more)."""
    if len(sample) > 8:
        at = np.minimum(np.searchsorted(sample, x), len(sample) - 1)
        return at.astype(np.int64) if np.array_equal(sample[at], x) else None
    at = np.zeros(len(x), np.int64)
    found = x == sample[0]
    for v in sample[1:]:
        at += x >= v
        found |= x == v
    return at if found.all() else None


def feature_arrays(array, name: str, kind: Kind | None = None, shift: float = 0.0,
                   encoded=None) -> FeatureArrays:
    """The arrays of one feature column of a batch (its kind from its type unless given;
    numbers sketched as ``x - shift``); ``encoded``: the column's
    :class:`~evalbeam.slicing.ColumnCodes` when slicing encoded it already (a column of
    scalars: each value's code, its dictionary distinct), whose codes are reused."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    own = kind_of(array.type, name)
    kind = own if kind is None or not own.type else Kind(own.type, own.is_list or kind.is_list)
    if not own.type:  # a column of nulls only
        n = len(array)
        return FeatureArrays(name, kind, np.zeros(n, bool), np.zeros(n, np.int64),
                             np.zeros(0, np.int64))
    if encoded is not None and (encoded.dictionary_array is None or _is_list(array.type)):
        encoded = None  # (a list column's codes are per distinct (row, value))
    if kind.numeric:
        raw, parent, present, num_values = _numbers(array)
        few = _few_values(raw) if encoded is None or not _integers(encoded, raw) else \
            (encoded.codes, np.array(encoded.values, np.float64))
        if few is not None:
            codes, distinct = few
            return FeatureArrays(name, kind, present, num_values, parent, numbers=raw,
                                 value_codes=codes, distinct=distinct,
                                 distinct_buckets=sketch.bucket_of(
                                     distinct - shift if shift else distinct))
        shifted = np.subtract(raw, shift, dtype=np.float64)
        if raw.dtype == np.float32 and np.float32(shift) == shift:
            # (x - c rounded to single precision once, as from the doubles: no pass over them)
            sketched = np.subtract(raw, np.float32(shift))
        else:
            sketched = shifted
        return FeatureArrays(name, kind, present, num_values, parent, numbers=raw,
                             buckets=sketch.bucket_of(sketched), cache={"shifted": shifted})
    if encoded is not None:  # its values' codes, the rows that have one
        dictionary, index, parent = encoded.dictionary_array.dictionary, encoded.codes, \
            encoded.rows
        present, num_values = _present(parent, len(array))
    else:
        present, num_values, values, parent = _rows_of(array)
        if pa.types.is_dictionary(values.type) and \
                pc.count_distinct(values.dictionary, mode="all").as_py() < len(values.dictionary):
            values = values.dictionary_decode()  # a dictionary repeating a value: made distinct
        values = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        dictionary, index = values.dictionary, values.indices
        if index.null_count:  # a dictionary column's nulls: in its values' indices
            keep = to_numpy(pc.is_valid(index))
            index = index.filter(to_arrow(keep))
            parent = np.flatnonzero(keep) if parent is None else parent[keep]
            if present is None:
                present, num_values = _present(parent, len(array))
        index = to_numpy(index).astype(np.int64)
    if pa.types.is_fixed_size_binary(dictionary.type) or pa.types.is_string_view(dictionary.type) \
            or pa.types.is_binary_view(dictionary.type):
        dictionary = dictionary.cast(pa.large_binary())
    hashes = mix64(hash_bytes(dictionary))
    lengths = to_numpy(pc.binary_length(dictionary.cast(pa.large_binary()))).astype(np.int64)
    return FeatureArrays(name, kind, present, num_values, parent, index=index,
                         dictionary=dictionary, dictionary_hashes=hashes,
                         dictionary_lengths=lengths)


def _present(parent: np.ndarray | None, n: int) -> tuple:
    """``(present, num_values)`` of a column of scalars whose values are in rows ``parent``
    (None: every row)."""
    if parent is None:
        return None, None
    present = np.zeros(n, bool)
    present[parent] = True
    return present, present.astype(np.int64)


def _integers(encoded, raw: np.ndarray) -> bool:
    """Whether slicing's codes of a column stand for its values here: integers (or
    booleans) of few distinct values."""
    return raw.dtype.kind in "iub" and len(encoded.values) <= FEW_VALUES


def batch_features(batch: pa.RecordBatch, dq, columns=None) -> dict:
    """``name -> FeatureArrays`` of the features of ``dq`` (a DataQualityPlan; every column
    of the batch when it names none) present in ``batch``; ``columns``: the batch's
    :class:`~evalbeam.slicing.BatchColumns`, whose encodings are reused."""
    names = dq.features if dq.features else [n for n in batch.schema.names
                                             if not n.startswith("__")]
    out = {}
    for name in names:
        if name in batch.schema.names:
            encoded = columns.known(name) if columns is not None else None
            out[name] = feature_arrays(batch.column(name), name, dq.kinds.get(name),
                                       dq.shifts.get(name, 0.0), encoded)
    return out
