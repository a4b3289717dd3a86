"""Stable 64-bit hashes of values, with numpy: the same in every process, file and run (unlike
Python's ``hash`` of strings), for grouping values and for draws that must not depend on how
the data was split."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * MIX[0]
        h = (h ^ (h >> np.uint64(27))) * MIX[1]
        return h ^ (h >> np.uint64(31))


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


def value_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each value (numbers by their value, strings and bytes by their bytes),
    the same in every process, file and run."""
    typ = values.type
    if pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        h = values.cast(pa.int64()).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_floating(typ):
        f = values.cast(pa.float64()).to_numpy(zero_copy_only=False) + 0.0  # -0.0 -> 0.0
        h = f.view(np.uint64)
    else:
        if not (pa.types.is_binary(typ) or pa.types.is_large_binary(typ)):
            values = values.cast(pa.large_string())
        h = hash_bytes(values)
    return mix64(h)
