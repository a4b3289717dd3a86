"""Slicing specs -> per-batch slice codes.

For one batch and one slicing spec, :func:`assign_slices` returns which rows take part
(``rows``; ``None`` means every row once), an integer slice code per (row, slice) pair and the
slice key of each code. Columns are dictionary-encoded once per batch (:class:`ColumnCodes`)
and shared by every spec; crosses combine codes arithmetically and keep only the combinations
that occur.

Rules (as TFMA): ``{}`` is the overall slice; ``feature_keys`` makes one slice per value and
the cross product over several columns; ``feature_values`` keeps only the given value and puts
it in the key; a list-valued column puts the example in the slice of each distinct value; a
null or empty value puts it in no slice of that spec.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalbeam.arrow_numpy import to_numpy
from evalbeam.errors import ConfigError


@dataclass(frozen=True)
class SliceSpec:
    """A resolved slicing spec: columns to slice by, and fixed column values."""

    feature_keys: tuple = ()
    feature_values: tuple = ()  # ((column, typed value), ...)

    @property
    def columns(self) -> list:
        return list(self.feature_keys) + [c for c, _ in self.feature_values]

    @property
    def is_overall(self) -> bool:
        return not self.feature_keys and not self.feature_values

    def describe(self) -> str:
        if self.is_overall:
            return "overall"
        parts = list(self.feature_keys) + [f"{c}={v}" for c, v in self.feature_values]
        return " x ".join(parts)


def slice_sort_key(key: tuple) -> tuple:
    """An order of slice keys that also holds when a column's values mix types: numbers, then
    text, then bytes (NaN last)."""
    def rank(value):
        if isinstance(value, (int, float)):
            return (0, value) if value == value else (3, 0)
        return (1, value) if isinstance(value, str) else (2, bytes(value))
    return tuple((column,) + rank(value) for column, value in key)


def config_value(text: str):
    """TFMA's reading of a ``feature_values`` string: '.' -> float, else int if it parses, else str."""
    if "." in text:
        try:
            return float(text)
        except ValueError:
            return text
    try:
        return int(text)
    except ValueError:
        return text


def resolve_slice_spec(spec_proto) -> SliceSpec:
    """A slicing spec of the config, checked."""
    keys = tuple(spec_proto.feature_keys)
    values = tuple(sorted((c, config_value(v)) for c, v in spec_proto.feature_values.items()))
    overlap = set(keys) & {c for c, _ in values}
    if overlap:
        raise ConfigError(f"slicing_specs: column {sorted(overlap)[0]!r} is in both feature_keys "
                          "and feature_values")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"slicing_specs: feature_keys {list(keys)} repeat a column")
    if spec_proto.slice_keys_sql:
        raise ConfigError("slicing_specs.slice_keys_sql is not supported")
    return SliceSpec(keys, values)


def _py(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, bool):
        return int(value)
    return value


@dataclass
class ColumnCodes:
    """A column of one batch as (row, code) pairs, sorted by row, one pair per distinct value."""

    rows: np.ndarray | None  # None: every row exactly once, in order
    codes: np.ndarray
    values: list  # code -> Python value
    n_rows: int
    # a column of scalars: the whole column dictionary-encoded (its dictionary distinct, nulls
    # in its indices); None for lists
    dictionary_array: pa.DictionaryArray | None = None

    @classmethod
    def encode(cls, array: pa.Array) -> "ColumnCodes":
        n = len(array)
        if pa.types.is_list(array.type) or pa.types.is_large_list(array.type) or \
                pa.types.is_fixed_size_list(array.type):
            parents = to_numpy(pc.list_parent_indices(array))
            inner = cls.encode(pc.list_flatten(array))
            rows = parents if inner.rows is None else parents[inner.rows]
            # one pair per distinct (row, value): an example joins each slice once
            pair = np.unique(rows.astype(np.int64) * max(len(inner.values), 1) + inner.codes)
            width = max(len(inner.values), 1)
            return cls(pair // width, pair % width, inner.values, n)
        encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
        values = [_py(v) for v in encoded.dictionary.to_pylist()]
        if encoded is array and (None in values or len(set(values)) < len(values)):
            # a dictionary may repeat a value or hold a null: one code per distinct value
            encoded = pc.dictionary_encode(array.dictionary_decode())
            values = [_py(v) for v in encoded.dictionary.to_pylist()]
        indices = encoded.indices
        if indices.null_count:
            valid = np.flatnonzero(to_numpy(pc.is_valid(indices)))
            codes = to_numpy(indices)[valid]
            return cls(valid.astype(np.int64), codes.astype(np.int64), values, n, encoded)
        return cls(None, to_numpy(indices).astype(np.int64), values, n, encoded)

    def pair_rows(self) -> np.ndarray:
        return np.arange(self.n_rows, dtype=np.int64) if self.rows is None else self.rows


def _matches(value, wanted) -> bool:
    if isinstance(wanted, str):
        return isinstance(value, str) and value == wanted
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == wanted


def _cross(a_rows, a_codes, b: ColumnCodes):
    """All (row, code_a * |b| + code_b) pairs for rows present in both."""
    width = max(len(b.values), 1)
    if a_rows is None and b.rows is None:
        return None, a_codes * width + b.codes
    b_rows = b.pair_rows()
    n = b.n_rows
    per_row = np.bincount(b_rows, minlength=n)
    start = np.concatenate([[0], np.cumsum(per_row)[:-1]])
    a_rows_arr = np.arange(len(a_codes), dtype=np.int64) if a_rows is None else a_rows
    reps = per_row[a_rows_arr]
    a_idx = np.repeat(np.arange(len(a_rows_arr)), reps)
    offsets = np.arange(len(a_idx)) - np.repeat(np.cumsum(reps) - reps, reps)
    b_idx = start[a_rows_arr[a_idx]] + offsets
    return a_rows_arr[a_idx], a_codes[a_idx] * width + b.codes[b_idx]


@dataclass
class SliceAssignment:
    rows: np.ndarray | None  # rows of each (row, slice) pair; None = every row once, in order
    codes: np.ndarray
    keys: list
    # (column, code -> value) of the spec's feature_keys, outermost first, and each slice's
    # combined code over them (``((code_0 * width_1 + code_1) * width_2 + ...)``)
    radix: list = field(default_factory=list)
    combined: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))


class BatchColumns:
    """``name -> ColumnCodes`` of a batch's columns (called as a function), each encoded once
    when first asked for (every slicing spec of a batch shares them)."""

    def __init__(self, batch: pa.RecordBatch):
        self.batch = batch
        self.encoded: dict = {}

    def __call__(self, name: str) -> ColumnCodes:
        if name not in self.encoded:
            self.encoded[name] = ColumnCodes.encode(self.batch.column(name))
        return self.encoded[name]

    def known(self, name: str) -> ColumnCodes | None:
        """The column's codes if it was encoded already, else None."""
        return self.encoded.get(name)


def column_codes(batch: pa.RecordBatch) -> BatchColumns:
    return BatchColumns(batch)


def rows_without_value(spec: SliceSpec, column, n_rows: int) -> int:
    """Rows of the batch in no slice of ``spec`` because one of its columns has no value there
    (null, or an empty list)."""
    has_value = None
    for name in spec.columns:
        col = column(name)
        if col.rows is None:
            continue
        present = np.zeros(n_rows, bool)
        present[col.rows] = True
        has_value = present if has_value is None else has_value & present
    return 0 if has_value is None else n_rows - int(np.count_nonzero(has_value))


def slice_pairs(spec: SliceSpec, column, n_rows: int):
    """``(rows, combined, radix)``: the (row, slice) pairs of one batch for ``spec``, each
    slice as its combined code over ``radix`` (see :class:`SliceAssignment`); ``rows`` None
    means every row once, in order."""
    rows, codes = None, np.zeros(n_rows, np.int64)
    radix = []  # (column, values) in the order their codes were combined
    for name in spec.feature_keys:
        col = column(name)
        rows, codes = _cross(rows, codes, col)
        radix.append((name, col.values))
    for name, wanted in spec.feature_values:
        col = column(name)
        pair_hit = value_hits(col, wanted)[col.codes]
        keep_rows = np.zeros(n_rows, bool)
        keep_rows[col.pair_rows()[pair_hit]] = True
        if rows is None:
            rows = np.flatnonzero(keep_rows)
            codes = codes[rows]
        else:
            mask = keep_rows[rows]
            rows, codes = rows[mask], codes[mask]
    return rows, codes, radix


def value_hits(col: ColumnCodes, wanted) -> np.ndarray:
    """Per code of ``col``: whether its value is ``wanted`` (a ``feature_values`` value)."""
    return np.array([_matches(v, wanted) for v in col.values], dtype=bool)


def radix_widths(radix: list) -> list:
    return [max(len(values), 1) for _, values in radix]


def slice_keys(combined: np.ndarray, radix: list, fixed) -> list:
    """The slice key of each combined code over ``radix``, with the spec's ``fixed``
    ``feature_values`` entries, entries sorted by column."""
    fixed = list(fixed)
    keys = []
    for code in combined.tolist():
        entries = []
        for (name, values), width in zip(reversed(radix), reversed(radix_widths(radix))):
            code, digit = divmod(code, width)
            entries.append((name, values[digit]))
        keys.append(tuple(sorted(entries + fixed, key=lambda e: e[0])))
    return keys


def assign_slices(spec: SliceSpec, column, n_rows: int) -> SliceAssignment:
    """Slice codes of one batch for ``spec``; ``column(name)`` gives a cached :class:`ColumnCodes`."""
    if spec.is_overall:
        return SliceAssignment(None, np.zeros(n_rows, np.int64), [()])
    rows, codes, radix = slice_pairs(spec, column, n_rows)
    # keep only the combinations that occur
    space = math.prod(radix_widths(radix))
    if space <= 4 * len(codes) + 4096:
        present = np.bincount(codes, minlength=space) > 0
        occurring = np.flatnonzero(present)
        if len(occurring) < space:  # (else every code is its own slice's)
            codes = (np.cumsum(present) - 1)[codes]
    else:
        occurring, codes = np.unique(codes, return_inverse=True)
    keys = slice_keys(occurring, radix, spec.feature_values)
    return SliceAssignment(rows, codes.astype(np.int64, copy=False), keys, radix, occurring)
