"""Stable 64-bit hashes of values, with numpy: the same in every process, file and run (unlike
Python's ``hash`` of strings), for grouping values and for draws that must not depend on how
the data was split."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalbeam.arrow_numpy import to_numpy

MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit."""
    return _mix_in_place(h ^ (h >> np.uint64(30)), first_done=True)


def _mix_in_place(h: np.ndarray, first_done: bool = False) -> np.ndarray:
    """:func:`mix64` of ``h`` (uint64), computed in ``h`` itself."""
    with np.errstate(over="ignore"):
        if not first_done:
            h ^= h >> np.uint64(30)
        h *= MIX[0]
        h ^= h >> np.uint64(27)
        h *= MIX[1]
        h ^= h >> np.uint64(31)
    return h


def hash_bytes(array: pa.Array) -> np.ndarray:
    """A 64-bit polynomial hash of each value's bytes (no Python loop over values)."""
    array = array.cast(pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], np.int64)
    offsets = offsets[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]:offsets[-1]].astype(np.uint64)
    lengths = np.diff(offsets)
    position = np.arange(len(data)) - np.repeat(offsets[:-1] - offsets[0], lengths)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(int(lengths.max(initial=0)) + 1, 1099511628211, np.uint64))
        terms = (data + np.uint64(1)) * powers[position]
    sums = np.zeros(len(lengths), np.uint64)
    nonempty = lengths > 0
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(terms, (offsets[:-1] - offsets[0])[nonempty])
    return sums ^ lengths.astype(np.uint64)


NULL = np.uint64(0x9E3779B97F4A7C15)  # a missing value's hash (before mixing)


def number_hashes(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each number, by its value whatever its type: a whole number hashes
    as the integer (1, 1.0 and True alike), any other as its float64 bits (-0.0 as 0.0)."""
    f = np.asarray(values, np.float64) + 0.0
    whole = (f == np.floor(f)) & (np.abs(f) < 2.0 ** 63)
    ints = np.where(whole, f, 0.0).astype(np.int64).view(np.uint64)
    return mix64(np.where(whole, ints, f.view(np.uint64)))


def value_hashes(array) -> np.ndarray:
    """A 64-bit hash of each value of an Arrow array: numbers by their value
    (:func:`number_hashes`, integers exactly), strings and bytes by their bytes, lists by
    their values in order, a null as :data:`NULL`; the same in every process, file and run."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    typ = array.type
    if pa.types.is_dictionary(typ):
        indices = to_numpy(pc.fill_null(array.indices, 0))
        h = value_hashes(array.dictionary)[indices] if len(array.dictionary) else \
            np.zeros(len(array), np.uint64)
    elif pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        h = _list_hashes(array)
    elif pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        ints = to_numpy(pc.fill_null(array.cast(pa.int64()), 0))
        h = mix64(ints.view(np.uint64))
    elif pa.types.is_floating(typ):
        h = number_hashes(to_numpy(pc.fill_null(array.cast(pa.float64()), 0.0)))
    else:
        if not (pa.types.is_binary(typ) or pa.types.is_large_binary(typ)):
            array = array.cast(pa.large_string())
        h = mix64(hash_bytes(array))
    if array.null_count:
        h = np.where(to_numpy(pc.is_valid(array)), h, NULL)
    return h


def _list_hashes(array) -> np.ndarray:
    lengths = to_numpy(pc.fill_null(pc.list_value_length(array), 0))
    lengths = lengths.astype(np.int64)
    values = value_hashes(pc.list_flatten(array))  # the values of the rows, in order
    starts = np.cumsum(lengths) - lengths
    position = np.arange(len(values), dtype=np.uint64) - np.repeat(starts, lengths).astype(np.uint64)
    with np.errstate(over="ignore"):
        terms = mix64(values + mix64(position + np.uint64(1)))
    sums = np.zeros(len(lengths), np.uint64)
    nonempty = lengths > 0
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(terms, starts[nonempty])
    return mix64(sums ^ lengths.astype(np.uint64))


def row_hashes(columns: list) -> np.ndarray:
    """One 64-bit hash per row of some float64 columns' values, in order (-0.0 as 0.0): one
    mix per column."""
    h = np.zeros(len(columns[0]) if columns else 0, np.uint64)
    for i, column in enumerate(columns):
        with np.errstate(over="ignore"):
            h *= MIX[0]
            h += (column + 0.0).view(np.uint64) + np.uint64(i + 1)
        h = _mix_in_place(h)
    return h


def distinct(h: np.ndarray) -> np.ndarray:
    """``h`` with each repeat of a value made distinct by its order among the repeats (the
    first keeps the value): equal hashes become different ones, all others stay."""
    order = np.argsort(h)  # (deterministic: the same rows, the same order)
    ranked = h[order]
    repeat = ranked[1:] == ranked[:-1]
    if not repeat.any():
        return h
    n = len(h)
    starts = np.flatnonzero(np.concatenate([[True], ~repeat]))
    rank = (np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))).astype(np.uint64)
    out = np.empty_like(h)
    with np.errstate(over="ignore"):
        out[order] = np.where(rank == 0, ranked, mix64(ranked + rank * MIX[1]))
    return out


def draws(hashes: np.ndarray, kind: int, high: int, shape: tuple, dtype=np.int64) -> np.ndarray:
    """Uniform integers in [0, high) of ``shape`` (a leading axis per hash), drawn from each
    hash alone (``kind`` picks an independent sequence). A power of two up to 2**16 takes
    16-bit lanes, four per 64-bit mix; any other ``high`` a mix per value (modulo ``high``)."""
    width = int(np.prod(shape[1:], dtype=np.int64))
    lanes = high <= 1 << 16 and high & (high - 1) == 0
    words = -(-width // 4) if lanes else width
    salt = mix64(np.arange(1, words + 1, dtype=np.uint64) + np.uint64(kind << 32))
    x = _mix_in_place(hashes[:, None] ^ salt[None, :])
    if lanes:  # (little-endian words, so that every machine reads the same lanes)
        x = x.astype("<u8", copy=False).view("<u2")[:, :width]
        if high < 1 << 16:
            x = x & np.uint16(high - 1)
        return x.astype(dtype, copy=False).reshape(shape)
    return (x % np.uint64(high)).astype(dtype).reshape(shape)
