"""Arrow arrays to numpy and back without importing pandas.

pyarrow's own conversions (``Array.to_numpy``, ``pa.array`` of a numpy array) import pandas
the first time they run when it is installed, to look for pandas types: about half a second
of every run, spent in each process that reads. Numbers and booleans without nulls, what a
batch's hot path converts, are read from (and wrapped in) their buffers here instead; anything
else goes to pyarrow's conversion.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32,
                pa.int64(): np.int64, pa.uint8(): np.uint8, pa.uint16(): np.uint16,
                pa.uint32(): np.uint32, pa.uint64(): np.uint64, pa.float16(): np.float16,
                pa.float32(): np.float32, pa.float64(): np.float64}


def to_numpy(array) -> np.ndarray:
    """``array`` (an Arrow array, chunked or not) as ``to_numpy(zero_copy_only=False)`` gives
    it: a read-only view of numbers without nulls; numbers with nulls as floats (integers as
    float64) with NaN for null; a new array of booleans without nulls."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    dtype = _NUMPY_TYPES.get(array.type)
    boolean = pa.types.is_boolean(array.type)
    if not (dtype is not None or boolean and not array.null_count):
        return array.to_numpy(zero_copy_only=False)
    n = len(array)
    if not n:
        return np.zeros(0, bool if boolean else dtype)
    buffers = array.buffers()
    if boolean:
        return _bits(buffers[1], array.offset, n)
    values = np.frombuffer(buffers[1], dtype, count=n,
                           offset=array.offset * np.dtype(dtype).itemsize)
    if not array.null_count:
        return values
    out = values.astype(np.float64 if np.issubdtype(dtype, np.integer) else dtype)
    out[~_bits(buffers[0], array.offset, n)] = np.nan
    return out


def _bits(buffer, offset: int, n: int) -> np.ndarray:
    """``n`` bits of an Arrow bitmap from bit ``offset``, as booleans."""
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), count=offset + n, bitorder="little")
    return bits[offset:].view(bool)


def to_arrow(values: np.ndarray) -> pa.Array:
    """A one-dimensional numpy array of numbers or booleans as an Arrow array (no nulls)."""
    values = np.ascontiguousarray(values)
    if values.dtype == bool:
        return pa.Array.from_buffers(pa.bool_(), len(values),
                                     [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [None, pa.py_buffer(values)])
