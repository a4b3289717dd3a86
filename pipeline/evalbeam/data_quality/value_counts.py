"""Value counts per slice: a :class:`~evalbeam.metrics.state.SliceTable` column holding, for
each slice, the distinct values of a string or bytes feature it saw, with their counts (and
weights), keyed by the values' 64-bit hashes (:func:`evalbeam.hashing.hash_bytes`, mixed).

State size follows what was seen: only the (slice, value) pairs that occurred are kept, and a
slice keeps at most ``cap`` distinct values exactly. A slice that sees more is *capped*: it
keeps the ``cap`` values of smallest hash (a uniform sample of its distinct values, K minimum
values: their counts stay exact, since a value of smallest hash in the union is of smallest
hash in every part that holds it) and the ``top`` most frequent of the rest. Its distinct
count is then estimated as ``(cap - 1) / h`` with ``h`` the cap-th smallest hash as a fraction
of 2^64 (relative standard error about ``1 / sqrt(cap - 2)``, 1% at the default cap of
10,000), the same whatever the partitioning; its top values are the most frequent values it
kept, whose counts are lower bounds (exact for the values of the sample).

Merging aligns slices by row (as every column does) and adds counts of equal hashes; the
values themselves (to name top values) are kept once per column, for the hashes still held.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalbeam.arrow_numpy import to_arrow

DEFAULT_CAP = 10_000
DEFAULT_TOP = 1_000
_SCALE = float(2 ** 64)


class ValueCounts:
    """A per-slice map ``hash -> (count[, weight])`` with the values behind the hashes."""

    def __init__(self, spec):
        self.spec = spec
        self.channels = spec.shape[0]
        self.cap, self.top = spec.cap or DEFAULT_CAP, DEFAULT_TOP
        self.n = 0
        self.capped = np.zeros(0, bool)
        self.rows = np.zeros(0, np.int64)
        self.hashes = np.zeros(0, np.uint64)
        self.values = np.zeros((0, self.channels))
        self._parts: list = []  # pending (rows, hashes, values) appended since compacting
        self.store_hashes = np.zeros(0, np.uint64)  # sorted, unique
        self.store_values = pa.nulls(0, pa.large_binary())  # (empty)
        self._stores: list = []  # pending (hashes, values)
        self._sorted = True

    # -- from one batch -------------------------------------------------------------------
    @classmethod
    def from_pairs(cls, spec, n: int, codes: np.ndarray, index: np.ndarray,
                   dictionary: pa.Array, dictionary_hashes: np.ndarray,
                   channels: list) -> "ValueCounts":
        """``n`` slices; value ``i`` is ``dictionary[index[i]]`` in slice ``codes[i]``, adding
        ``channels[c][i]`` to channel ``c`` (the first: 1 per value, counted)."""
        width = max(len(dictionary), 1)
        key = codes.astype(np.int64) * width + index
        if n * width <= max(1 << 20, 8 * len(key)):  # few cells: count them all
            tables = [np.bincount(key, weights=c if k else None, minlength=n * width)
                      .reshape(n, width).astype(np.float64) for k, c in enumerate(channels)]
            return cls.from_table(spec, tables[0], tables[1] if len(tables) > 1 else None,
                                  dictionary, dictionary_hashes)
        uniq, inverse = np.unique(key, return_inverse=True)
        sums = np.stack([np.bincount(inverse, weights=c, minlength=len(uniq))
                         for c in channels], axis=1)
        return cls._of_entries(spec, n, uniq // width, uniq % width, sums, dictionary,
                               dictionary_hashes)

    @classmethod
    def from_table(cls, spec, counts: np.ndarray, weights: np.ndarray | None,
                   dictionary: pa.Array, dictionary_hashes: np.ndarray) -> "ValueCounts":
        """``counts[s, j]`` (and ``weights[s, j]``) of ``dictionary[j]`` in slice ``s``."""
        rows, which = np.nonzero(counts)
        sums = counts[rows, which][:, None] if weights is None else \
            np.stack([counts[rows, which], weights[rows, which]], axis=1)
        return cls._of_entries(spec, len(counts), rows, which, sums, dictionary,
                               dictionary_hashes)

    @classmethod
    def _of_entries(cls, spec, n, rows, which, sums, dictionary, dictionary_hashes):
        """Entries ``(slice, dictionary index, channel sums)``, one per (slice, value), in
        slice order (the dictionary's values are distinct)."""
        col = cls(spec)
        col.reserve(n)
        if len(rows):
            col.rows, col.hashes, col.values = rows, dictionary_hashes[which], sums
            used = np.flatnonzero(np.bincount(which, minlength=len(dictionary)))
            col._stores.append((dictionary_hashes[used], dictionary.take(to_arrow(used))))
            if np.bincount(rows, minlength=n).max(initial=0) > col.cap:
                col._sorted = False
                col.compact()
        return col

    # -- the column protocol of SliceTable ------------------------------------------------
    def reserve(self, n: int) -> None:
        if n > self.n:
            self.capped = np.concatenate([self.capped, np.zeros(n - self.n, bool)])
            self.n = n

    def merge_from(self, other: "ValueCounts", rows: np.ndarray) -> None:
        other.compact()
        if len(other.rows):
            self._parts.append((rows[other.rows], other.hashes, other.values))
            self._stores += [(other.store_hashes, other.store_values)] + other._stores
            self._sorted = False
        self.capped[rows] |= other.capped[: other.n]
        if sum(len(p[0]) for p in self._parts) > max(1 << 20, len(self.rows)):
            self.compact()
        if len(self._stores) > 64:  # (each merge brings one)
            self._merge_stores()

    def compact(self) -> None:
        if self._sorted:
            return
        rows = np.concatenate([self.rows] + [p[0] for p in self._parts])
        hashes = np.concatenate([self.hashes] + [p[1] for p in self._parts])
        values = np.concatenate([self.values] + [p[2] for p in self._parts])
        self._parts = []
        order = np.argsort(hashes)  # then by slice, stably (a radix sort for few slices)
        order = order[np.argsort(rows[order].astype(np.min_scalar_type(max(self.n, 1))),
                                 kind="stable")]
        rows, hashes, values = rows[order], hashes[order], values[order]
        if len(rows):
            new = np.concatenate([[True], (rows[1:] != rows[:-1]) | (hashes[1:] != hashes[:-1])])
            starts = np.flatnonzero(new)
            rows, hashes = rows[starts], hashes[starts]
            values = np.add.reduceat(values, starts, axis=0)
        self.rows, self.hashes, self.values = rows, hashes, values
        self._apply_cap()
        self._sorted = True

    def _apply_cap(self) -> None:
        """A slice holding more than ``cap`` values becomes capped: it keeps its ``cap``
        smallest hashes and the ``top`` most frequent of the others (ties: smaller hash)."""
        per_row = np.bincount(self.rows, minlength=self.n)
        over = np.flatnonzero(per_row > self.cap)
        if not len(over):
            return
        starts = np.concatenate([[0], np.cumsum(per_row)[:-1]])
        keep = np.ones(len(self.rows), bool)
        for r in over.tolist():  # (per slice, not per value)
            rest = np.arange(starts[r] + self.cap, starts[r] + per_row[r])  # hashes sorted
            if len(rest) > self.top:
                order = np.lexsort((self.hashes[rest], -self.values[rest, 0]))
                keep[rest[order[self.top:]]] = False
        self.capped[over] = True
        if not keep.all():
            self.rows, self.hashes, self.values = (self.rows[keep], self.hashes[keep],
                                                   self.values[keep])

    def _merge_stores(self) -> None:
        """The values behind the hashes as one sorted store: the pending stores added in
        (once asked for: values are looked up at the end, and stores travel as they are);
        values no entry refers to any longer are let go once they are most of the store."""
        if not self._stores and len(self.store_hashes) <= 2 * len(self.hashes) + (1 << 16):
            return
        hashes = np.concatenate([self.store_hashes] + [h for h, _ in self._stores])
        values = pa.concat_arrays([self.store_values] +
                                  [v.cast(pa.large_binary()) for _, v in self._stores])
        self._stores = []
        uniq, first = np.unique(hashes, return_index=True)
        if len(uniq) > 2 * len(self.hashes) + (1 << 16):
            kept = np.isin(uniq, self.hashes)
            uniq, first = uniq[kept], first[kept]
        self.store_hashes = uniq
        self.store_values = values.take(to_arrow(first))

    def _row_slice(self, i: int):
        self.compact()
        lo, hi = np.searchsorted(self.rows, [i, i + 1])
        return lo, hi

    def row(self, i: int) -> dict:
        """``{"hashes", "values" (n, channels), "capped"}`` of slice ``i``."""
        lo, hi = self._row_slice(i)
        return {"hashes": self.hashes[lo:hi], "values": self.values[lo:hi],
                "capped": bool(self.capped[i])}

    def value_of(self, hashes: np.ndarray) -> list:
        """The values (bytes) behind ``hashes``."""
        self.compact()
        self._merge_stores()
        at = np.searchsorted(self.store_hashes, hashes)
        return self.store_values.take(to_arrow(at)).to_pylist()

    def reduce_rows(self, group: np.ndarray, n: int) -> "ValueCounts":
        self.compact()
        out = ValueCounts(self.spec)
        out.reserve(n)
        target = group[self.rows] if len(self.rows) else self.rows
        kept = target >= 0
        if kept.any():
            out._parts.append((target[kept], self.hashes[kept], self.values[kept]))
            out._stores = [(self.store_hashes, self.store_values)] + list(self._stores)
            out._sorted = False
        for r in np.flatnonzero(self.capped[: len(group)] & (group[: self.n] >= 0)):
            out.capped[group[r]] = True
        out.compact()
        return out

    def take(self, rows: np.ndarray) -> "ValueCounts":
        self.compact()
        out = ValueCounts(self.spec)
        out.reserve(len(rows))
        position = np.full(self.n, -1, np.int64)
        position[rows] = np.arange(len(rows))
        new = position[self.rows] if len(self.rows) else self.rows
        kept = new >= 0
        out.rows, out.hashes, out.values = new[kept], self.hashes[kept], self.values[kept]
        out.capped[:] = self.capped[rows]
        out.store_hashes, out.store_values = self.store_hashes, self.store_values
        out._stores = list(self._stores)
        return out

    def cells(self) -> np.ndarray:
        self.compact()
        return np.bincount(self.rows, minlength=self.n).astype(np.int64) * (self.channels + 1)

    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.hashes.nbytes + self.values.nbytes +
                   sum(p[0].nbytes * 3 for p in self._parts) +
                   self.store_hashes.nbytes + self.store_values.nbytes +
                   sum(h.nbytes + v.nbytes for h, v in self._stores))

    def __getstate__(self):
        self.compact()
        self._merge_stores()
        state = dict(self.__dict__)
        state["rows"] = self.rows.astype(np.min_scalar_type(max(self.n, 1)))
        state["store_values"] = _to_numpy_bytes(self.store_values)
        return state

    def __setstate__(self, state):
        state["rows"] = state["rows"].astype(np.int64)
        offsets, data = state["store_values"]
        state["store_values"] = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(data)])
        self.__dict__.update(state)


def _to_numpy_bytes(array: pa.Array):
    """A large_binary array as (offsets, data) numpy arrays (they pickle out of band)."""
    array = array.cast(pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return (offsets - offsets[0]).copy(), data[offsets[0]:offsets[-1]].copy()


def estimate_unique(hashes: np.ndarray, capped: bool, cap: int) -> int:
    """The distinct count of a slice: exact when not capped; else the K-minimum-values
    estimate from its ``cap`` smallest hashes."""
    if not capped:
        return int(len(hashes))
    kth = float(np.sort(hashes)[cap - 1]) + 1.0
    return int(round((cap - 1) / (kth / _SCALE)))
