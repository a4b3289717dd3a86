"""Per-slice state, declared once with its reduction; create, merge and size follow from it.

A :class:`SliceTable` is the accumulator of one slicing spec: the slice keys it has seen,
the unweighted number of examples per slice, and one column per declared state with a leading
slice axis (Arrow's hash-aggregate shape). Merging two tables aligns their slice keys and
reduces each column by its declared reduction; no metric writes a merge of its own.

Large per-slice states (the 10,000-bucket prediction histograms) are kept sparse for slices
that saw few examples and densified once they fill up, so the state size follows what was
seen rather than the configured resolution.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

REDUCE = {"sum": np.add, "min": np.minimum, "max": np.maximum}
# A batch's bucketed states are dense while they hold at most this many cells, or at most
# DENSE_PER_ROW cells per example (then zero-filling costs no more than bucketing the rows).
DENSE_CELLS = 1 << 20
DENSE_PER_ROW = 8
_IDENTITY = {"sum": 0.0, "min": np.inf, "max": -np.inf}
REDUCTIONS = tuple(REDUCE)


def leave_one_out(groups: np.ndarray, reduce: str) -> np.ndarray:
    """``groups`` (n, G, ...) holds a state per group (axis 1); entry ``g`` of the result is
    the state of every group but ``g`` (the jackknife's leave-one-group-out resample).

    A sum subtracts the group from the total; a minimum or maximum has no inverse, so each
    entry combines the running reduction of the groups before ``g`` with that of the groups
    after it (the identity where there are none).
    """
    if reduce == "sum":
        return groups.sum(axis=1, keepdims=True) - groups
    ufunc = REDUCE[reduce]
    none = np.full_like(groups[:, :1], _IDENTITY[reduce])
    before = ufunc.accumulate(np.concatenate([none, groups[:, :-1]], axis=1), axis=1)
    after = ufunc.accumulate(np.concatenate([none, groups[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return ufunc(before, after)


def state_name(statistic: tuple) -> str:
    """The state name of a statistic ``(kind, *arguments)``, e.g. ``("ndcg", "gain", 5)`` ->
    ``"ndcg:gain:5"``: families that sum per-example quantities name their states so."""
    return ":".join(str(part) for part in statistic)


def by_statistic(states: dict, statistics) -> dict:
    """``{statistic: state}`` of the ``statistics`` among ``states`` (keyed by state name)."""
    return {stat: states[state_name(stat)] for stat in statistics}


@dataclass(frozen=True)
class StateSpec:
    """One per-slice state array: its name, per-slice shape and how two of them combine."""

    name: str
    shape: tuple = ()
    reduce: str = "sum"
    sparse: bool = False  # only for "sum" states whose last axis is long (histograms)
    # a sparse state's channels in this many blocks kept apart (one per resample), each
    # sparse or dense on its own (see SparseColumn)
    blocks: int = 1
    # counts of distinct values per slice (evalbeam.data_quality.value_counts): shape
    # (channels,), at most ``cap`` values kept exactly per slice (0: the default)
    counts: bool = False
    cap: int = 0

    def __post_init__(self):
        if self.reduce not in REDUCE:
            raise ValueError(f"Expected reduce to be one of {sorted(REDUCE)}, got {self.reduce!r}")
        if self.sparse and (self.reduce != "sum" or len(self.shape) != 2):
            raise ValueError("sparse states must be 'sum' states of shape (channels, buckets)")
        if self.blocks != 1 and not (self.sparse and self.blocks > 0
                                     and self.shape[0] % self.blocks == 0):
            raise ValueError(f"Expected blocks to divide a sparse state's {self.shape[0]} "
                             f"channels, got {self.blocks}")


class DenseColumn:
    """A state with a leading slice axis, grown by doubling."""

    def __init__(self, spec: StateSpec, data: np.ndarray | None = None):
        self.spec = spec
        self.data = data if data is not None else self._fill(0)
        self.n = len(self.data)

    def _fill(self, n):
        return np.full((n,) + self.spec.shape, _IDENTITY[self.spec.reduce], dtype=np.float64)

    def reserve(self, n: int) -> None:
        if n > len(self.data):
            grown = self._fill(max(n, 2 * len(self.data), 8))
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.n = max(self.n, n)

    def merge_from(self, other: "DenseColumn", rows: np.ndarray) -> None:
        # rows are distinct (one target row per source slice), so fancy assignment is safe.
        target = self.data[rows]
        REDUCE[self.spec.reduce](target, other.data[: other.n], out=target)
        self.data[rows] = target

    def row(self, i: int) -> np.ndarray:
        return self.data[i]

    def reduce_rows(self, group: np.ndarray, n: int, grouped=None) -> "DenseColumn":
        """``n`` rows, row ``g`` the reduction of this column's rows ``i`` with ``group[i] ==
        g`` (none: the identity); rows of group -1 are left out. ``grouped``: ``_groups(group)``
        when known."""
        out = DenseColumn(self.spec, self._fill(n))
        order, starts, targets = grouped or _groups(group)
        if len(order):
            out.data[targets] = _reduce_groups(REDUCE[self.spec.reduce], self.data, order, starts)
        return out

    def compact(self) -> None:
        self.data = self.data[: self.n].copy()

    def take(self, rows: np.ndarray) -> "DenseColumn":
        return DenseColumn(self.spec, self.data[: self.n][rows])

    def cells(self) -> np.ndarray:
        """Values held per row."""
        return np.full(self.n, int(np.prod(self.spec.shape, dtype=np.int64)), np.int64)


class SparseColumn:
    """A long per-slice sum state ``(channels, buckets)``, dense for full slices, COO for the rest.

    The state is held in *units* of ``(channels / blocks, buckets)``: one per slice, or with
    ``spec.blocks`` B > 1 (a state per resample, :class:`~evalbeam.metrics.resampling.Replicated`)
    B per slice, unit ``row * B + b`` holding block ``b`` of the slice's channels. Each unit is
    dense once it fills up (``dense[slot[unit]]``) or keeps (unit, bucket, values) entries,
    possibly repeated until :meth:`compact` adds them up; so a slice's resamples hold what each
    of them saw, not B blocks of every bucket any of them saw.

    Dense units hold only the window of buckets ``lo .. lo + width - 1`` that some dense unit
    saw, widened as needed (bucket ``b`` at ``dense[slot, :, b - lo]``): a quantile sketch of
    thousands of buckets whose values fill a few hundred is held, merged and shipped as those.
    """

    MAX_PENDING = 1 << 20

    def __init__(self, spec: StateSpec):
        self.spec = spec
        self.blocks = spec.blocks
        self.channels = spec.shape[0] // spec.blocks  # per unit
        self.buckets = spec.shape[1]
        self.densify_at = max(self.buckets // 8, 1)
        self.n = 0  # rows (slices); they hold n * blocks units
        self.slot = np.zeros(0, np.int64)  # unit -> dense slot or -1
        self.lo, self.width = 0, 0  # the buckets dense units hold
        self.dense = np.zeros((0, self.channels, 0))
        self.n_dense = 0
        self._rows: list[np.ndarray] = []  # units of the entries
        self._buckets: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._pending = 0  # entries appended since the last compact
        self._kept = 0  # entries the last compact kept
        self._sorted = True  # entries unique per (unit, bucket) and sorted by unit

    # -- construction from one batch ------------------------------------------------------
    @classmethod
    def from_dense(cls, spec: StateSpec, dense: np.ndarray, lo: int = 0) -> "SparseColumn":
        """Rows ``dense`` of shape ``(n, channels, width)``: buckets ``lo .. lo + width - 1``
        (all of them by default)."""
        col = cls(spec)
        col.n = len(dense)
        col.n_dense = col.n * col.blocks
        col.slot = np.arange(col.n_dense, dtype=np.int64)
        col.lo, col.width = int(lo), dense.shape[-1]
        if col.lo < 0 or col.lo + col.width > col.buckets:
            raise ValueError(f"Expected buckets within 0..{col.buckets - 1}, got "
                             f"{col.lo}..{col.lo + col.width - 1}")
        col.dense = dense.reshape((col.n_dense, col.channels, col.width))
        return col

    @classmethod
    def from_entries(cls, spec: StateSpec, n: int, units, buckets, values) -> "SparseColumn":
        """``n`` rows holding the entries ``(units, buckets, values)`` (units are rows when
        ``spec.blocks`` is 1)."""
        col = cls(spec)
        col.reserve(n)
        col._append(units, buckets, values)
        return col

    @classmethod
    def of_units(cls, spec: StateSpec, col: "SparseColumn") -> "SparseColumn":
        """The rows of ``col`` (one unit each) as the units of ``col.n / spec.blocks`` rows of
        ``spec``: row ``u`` of ``col`` becomes block ``u % blocks`` of row ``u // blocks``."""
        out = cls(spec)
        if col.channels != out.channels or col.buckets != out.buckets or col.n % out.blocks:
            raise ValueError(f"Expected rows of {out.channels} x {out.buckets} cells, a multiple "
                             f"of {out.blocks} of them; got {col.n} of {col.spec.shape}")
        out.n = col.n // out.blocks
        out.slot, out.dense, out.n_dense = col.slot, col.dense, col.n_dense
        out.lo, out.width = col.lo, col.width
        out._rows, out._buckets = list(col._rows), list(col._buckets)
        out._values = list(col._values)
        out._pending, out._kept, out._sorted = col._pending, col._kept, col._sorted
        return out

    @classmethod
    def from_rows(cls, spec: StateSpec, codes: np.ndarray, n_slices: int, bucket: np.ndarray,
                  channels: list, span: tuple | None = None) -> "SparseColumn":
        """One batch's sums: ``channels[c]`` (per-example values; None: 1 each, counted) added
        into the cell ``(codes[i], c, bucket[i])``; dense over the buckets seen when that is
        cheap, else one entry per cell seen. ``span``: the least and greatest bucket, when
        known."""
        nbk = spec.shape[1]
        if not len(codes):
            return cls.from_entries(spec, n_slices, [], [], [])
        low, high = span if span is not None else (int(bucket.min()), int(bucket.max()))
        width = high - low + 1
        if n_slices * width <= max(DENSE_CELLS, DENSE_PER_ROW * len(codes)):
            cell = codes * width  # (in place from here: a new array costs about a pass)
            cell += bucket
            cell -= low
            dense = np.empty((n_slices, len(channels), width))
            for k, c in enumerate(channels):
                dense[:, k, :] = np.bincount(cell, weights=c, minlength=n_slices * width) \
                    .reshape(n_slices, width)
            return cls.from_dense(spec, dense, low)
        cell = codes * nbk + bucket
        uniq, inverse = np.unique(cell, return_inverse=True)
        values = np.stack([np.bincount(inverse, weights=c, minlength=len(uniq)).astype(np.float64)
                           for c in channels], axis=1)
        return cls.from_entries(spec, n_slices, uniq // nbk, uniq % nbk, values)

    # -- growth and merge -----------------------------------------------------------------
    def _units(self, rows: np.ndarray) -> np.ndarray:
        """The units of ``rows``, row by row."""
        if self.blocks == 1:
            return rows
        return (rows[:, None] * self.blocks + np.arange(self.blocks)).ravel()

    def reserve(self, n: int) -> None:
        if n > self.n:
            grown = np.full((n - self.n) * self.blocks, -1, np.int64)
            self.slot = np.concatenate([self.slot, grown])
            self.n = n

    def _append(self, units, buckets, values) -> None:
        if len(units):
            self._rows.append(np.asarray(units, np.int64))
            self._buckets.append(np.asarray(buckets, np.int64))
            self._values.append(np.asarray(values, np.float64).reshape(len(units), self.channels))
            self._pending += len(units)
            self._sorted = False

    def _widen(self, lo: int, hi: int) -> None:
        """Dense units hold (at least) buckets ``lo .. hi - 1``."""
        if self.width and lo >= self.lo and hi <= self.lo + self.width:
            return
        if self.width:
            lo, hi = min(lo, self.lo), max(hi, self.lo + self.width)
        grown = np.zeros((len(self.dense), self.channels, hi - lo))
        if self.width:
            grown[: self.n_dense, :, self.lo - lo:self.lo - lo + self.width] = \
                self.dense[: self.n_dense]
        self.dense, self.lo, self.width = grown, lo, hi - lo

    def _make_dense(self, units: np.ndarray) -> None:
        units = units[self.slot[units] < 0]
        if not len(units):
            return
        need = self.n_dense + len(units)
        if need > len(self.dense):
            grown = np.zeros((max(need, 2 * len(self.dense), 4), self.channels, self.width))
            grown[: self.n_dense] = self.dense[: self.n_dense]
            self.dense = grown
        self.slot[units] = np.arange(self.n_dense, need)
        self.n_dense = need
        if self._rows:  # entries of the units made dense are folded in by compact
            self._sorted = False

    def merge_from(self, other: "SparseColumn", rows: np.ndarray) -> None:
        units = self._units(rows)  # other's unit -> ours
        other_dense = np.flatnonzero(other.slot[: other.n * other.blocks] >= 0)
        if len(other_dense) and other.width:
            targets = units[other_dense]
            self._widen(other.lo, other.lo + other.width)
            self._make_dense(targets)
            mine, theirs = self.slot[targets], other.slot[other_dense]
            window = slice(other.lo - self.lo, other.lo - self.lo + other.width)
            if not _is_range(mine):  # (a batch's slices in another order: ours in order)
                order = np.argsort(mine)
                mine, theirs = mine[order], theirs[order]
            if _is_range(mine):  # the common case: added in place
                theirs = slice(theirs[0], theirs[-1] + 1) if _is_range(theirs) else theirs
                self.dense[mine[0]:mine[-1] + 1, :, window] += other.dense[theirs]
            else:
                self.dense[mine, :, window] += other.dense[theirs]
        for u, b, v in zip(other._rows, other._buckets, other._values):
            self._append(units[u], b, v)
        # compacting adds up the kept entries again: only once as many came since, so merging
        # many partials into a large state costs a few passes over it, not one per partial
        if self._pending > max(self.MAX_PENDING, self._kept):
            self.compact()

    def compact(self) -> None:
        """Add up repeated entries, fold entries of dense units, densify units that filled up."""
        if self.n_dense < len(self.dense):
            self.dense = self.dense[: self.n_dense].copy()
        if not self._rows or self._sorted:  # nothing to add up
            return
        # (each intermediate is let go once used: the entries can be most of the state, e.g.
        # hundreds of MB for the resamples of thousands of slices)
        flat = np.concatenate(self._rows) * self.buckets + np.concatenate(self._buckets)
        self._rows, self._buckets = [], []
        uniq, inverse = np.unique(flat, return_inverse=True)
        del flat
        values = np.concatenate(self._values)
        self._values, self._pending = [], 0
        summed = np.stack([np.bincount(inverse, weights=values[:, c], minlength=len(uniq))
                           for c in range(self.channels)], axis=1)
        del inverse, values
        units, buckets = uniq // self.buckets, uniq % self.buckets
        del uniq
        per_unit = np.bincount(units, minlength=self.n * self.blocks)
        self._make_dense(np.flatnonzero(per_unit >= self.densify_at))
        slots = self.slot[units]
        into_dense = slots >= 0
        if into_dense.any():
            folded = buckets[into_dense]
            self._widen(int(folded.min()), int(folded.max()) + 1)
            for c in range(self.channels):
                np.add.at(self.dense[:, c, :], (slots[into_dense], folded - self.lo),
                          summed[into_dense, c])
            keep = ~into_dense
            units, buckets, summed = units[keep], buckets[keep], summed[keep]
        del slots, into_dense
        self._append(units, buckets, summed)
        self._pending, self._kept = 0, len(units)
        self._sorted = True

    def reduce_rows(self, group: np.ndarray, n: int) -> "SparseColumn":
        """``n`` rows, row ``g`` the sum of this column's rows ``i`` with ``group[i] == g``
        (block by block); rows of group -1 are left out. A unit dense here makes its target
        dense; entries stay entries (added up by :meth:`compact`)."""
        B = self.blocks
        out = SparseColumn(self.spec)
        out.reserve(n)

        def target(units):  # -1 for units of rows left out
            g = group[units // B]
            return np.where(g >= 0, g * B + units % B, -1)

        dense_units = np.flatnonzero(self.slot[: self.n * B] >= 0)
        order, starts, targets = _groups(target(dense_units))
        if len(order):
            out.dense = _reduce_groups(np.add, self.dense, self.slot[dense_units[order]], starts)
            out.lo, out.width = self.lo, self.width
            out.n_dense = len(targets)
            out.slot[targets] = np.arange(len(targets))
        for units, buckets, values in zip(self._rows, self._buckets, self._values):
            units = target(units)
            kept = units >= 0
            out._append(units[kept], buckets[kept], values[kept])
        return out

    def row(self, i: int) -> np.ndarray:
        if not self._sorted:
            self.compact()
        B = self.blocks
        if B == 1 and self.slot[i] >= 0 and self.width == self.buckets:
            return self.dense[self.slot[i]]
        out = np.zeros((B, self.channels, self.buckets))
        slots = self.slot[i * B:(i + 1) * B]
        out[slots >= 0, :, self.lo:self.lo + self.width] = self.dense[slots[slots >= 0]]
        if self._rows:
            lo, hi = np.searchsorted(self._rows[0], [i * B, (i + 1) * B])
            out[self._rows[0][lo:hi] - i * B, :, self._buckets[0][lo:hi]] = self._values[0][lo:hi]
        return out.reshape(self.spec.shape)

    def dense_rows(self, rows: np.ndarray) -> tuple:
        """``(grid, lo)``: rows ``rows`` as one dense array ``(rows, channels, width)`` of the
        buckets ``lo .. lo + width - 1``, every bucket they hold a value in (blocks 1)."""
        self.compact()
        slots = self.slot[rows]
        dense = slots >= 0
        lo, hi = (self.lo, self.lo + self.width) if dense.any() else (self.buckets, 0)
        if self._rows:
            position = np.full(self.n, -1, np.int64)
            position[rows] = np.arange(len(rows))
            at = position[self._rows[0]]
            kept = at >= 0
            buckets = self._buckets[0][kept]
            if len(buckets):
                lo, hi = min(lo, int(buckets.min())), max(hi, int(buckets.max()) + 1)
        lo, hi = (0, 1) if hi <= lo else (lo, hi)  # (nothing held: one empty bucket)
        out = np.zeros((len(rows), self.channels, hi - lo))
        if dense.any():
            out[dense, :, self.lo - lo:self.lo - lo + self.width] = self.dense[slots[dense]]
        if self._rows:
            out[at[kept], :, buckets - lo] = self._values[0][kept]
        return out, lo

    def take(self, rows: np.ndarray) -> "SparseColumn":
        """Rows ``rows`` (ascending) as a new column, in that order."""
        self.compact()
        out = SparseColumn(self.spec)
        out.reserve(len(rows))
        units = self._units(rows)
        slots = self.slot[units]
        dense = slots >= 0
        out.dense = self.dense[slots[dense]]
        out.lo, out.width = self.lo, self.width
        out.n_dense = len(out.dense)
        out.slot[dense] = np.arange(out.n_dense)
        if self._rows and len(rows):
            entry_units = self._rows[0]
            if rows[-1] - rows[0] == len(rows) - 1:  # a range: its entries are contiguous
                lo, hi = np.searchsorted(entry_units, [units[0], units[-1] + 1])
                pick, new_units = slice(lo, hi), entry_units[lo:hi] - units[0]
            else:
                position = np.full(self.n * self.blocks, -1, np.int64)
                position[units] = np.arange(len(units))
                pick = np.flatnonzero(position[entry_units] >= 0)
                new_units = position[entry_units[pick]]
            out._append(new_units, self._buckets[0][pick], self._values[0][pick])
            out._pending, out._sorted = 0, True  # still unique and sorted by unit
            out._kept = len(new_units)
        return out

    def cells(self) -> np.ndarray:
        """Values per row that reading its state walks over: every cell of a dense unit, the
        entries of the others; with blocks, every bucket a row holds in some block counts in
        each block (a jackknife's resamples read them all, :mod:`~evalbeam.metrics.resampling`)."""
        self.compact()
        B = self.blocks
        dense = (self.slot[: self.n * B] >= 0).reshape(self.n, B).sum(axis=1)
        out = dense * (self.channels * self.width)
        if self._rows:
            units, buckets = self._rows[0], self._buckets[0]
            if B > 1:  # the row's distinct buckets
                seen = np.unique(units // B * self.buckets + buckets)
                units = seen // self.buckets
            out += np.bincount(units, minlength=self.n) * (B * self.channels)
        return out.astype(np.int64)

    def entries(self):
        """Every non-zero ``(unit, bucket, values)`` of every unit, sorted by unit then bucket
        (units are rows when ``spec.blocks`` is 1)."""
        if not self._sorted:
            self.compact()
        units = [self._rows[0]] if self._rows else []
        buckets = [self._buckets[0]] if self._buckets else []
        values = [self._values[0]] if self._values else []
        if self.n_dense:
            slot_units = np.empty(self.n_dense, np.int64)
            dense_units = np.flatnonzero(self.slot[: self.n * self.blocks] >= 0)
            slot_units[self.slot[dense_units]] = dense_units
            slots, bucket = np.nonzero((self.dense[: self.n_dense] != 0).any(axis=1))
            units.append(slot_units[slots])
            buckets.append(bucket + self.lo)
            values.append(self.dense[slots, :, bucket])
        if not units:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, self.channels)))
        units, buckets, values = (np.concatenate(a) for a in (units, buckets, values))
        order = np.argsort(units * self.buckets + buckets, kind="stable")
        return units[order], buckets[order], values[order]

    def __getstate__(self):
        # Mostly-zero dense units (a histogram filled from a few thousand examples) travel as a
        # bit mask of their non-zero cells plus those cells' values.
        self.compact()
        state = dict(self.__dict__)
        dense = state["dense"] = state["dense"][: self.n_dense]
        if np.count_nonzero(dense) < dense.size // 2:
            nonzero = dense != 0
            state["dense"] = (dense.shape, np.packbits(nonzero, axis=None), dense[nonzero])
        # entry indices in the narrowest integers that hold them (most of a sparse state)
        state["_rows"] = [a.astype(np.min_scalar_type(self.n * self.blocks)) for a in self._rows]
        state["_buckets"] = [a.astype(np.min_scalar_type(self.buckets)) for a in self._buckets]
        return state

    def __setstate__(self, state):
        if isinstance(state["dense"], tuple):
            shape, mask, values = state["dense"]
            dense = state["dense"] = np.zeros(shape)
            dense[np.unpackbits(mask, count=dense.size).view(bool).reshape(shape)] = values
        for name in ("_rows", "_buckets"):
            state[name] = [a.astype(np.int64) for a in state[name]]
        self.__dict__.update(state)


def _groups(group: np.ndarray):
    """``(order, starts, targets)``: the positions of ``group``'s non-negative values sorted
    by group (stably), where each group starts in that order, and the groups."""
    kept = np.flatnonzero(group >= 0)
    order = kept[np.argsort(group[kept], kind="stable")]
    sorted_groups = group[order]
    if not len(order):
        return order, order, order
    starts = np.flatnonzero(np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]]))
    return order, starts, sorted_groups[starts]


def _reduce_groups(ufunc, data: np.ndarray, rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc`` over each group of ``data[rows]``, group ``g`` starting at ``starts[g]``:
    the rows of a group combined one after the other, in order."""
    if data[0].size <= 64:  # (reduceat walks a long row's cells one at a time)
        return ufunc.reduceat(data[rows], starts, axis=0)
    if len(starts) == 1:
        block = data[rows[0]:rows[-1] + 1] if _is_range(rows) else data[rows]
        return ufunc.reduce(block, axis=0, keepdims=True)
    sizes = np.diff(np.append(starts, len(rows)))
    out = data[rows[starts]]
    for k in range(1, int(sizes.max())):  # the k-th row of every group that has one
        longer = np.flatnonzero(sizes > k)
        if len(longer) == len(starts):
            ufunc(out, data[rows[starts + k]], out=out)
        else:
            out[longer] = ufunc(out[longer], data[rows[starts[longer] + k]])
    return out


def _is_range(a: np.ndarray) -> bool:
    return len(a) > 0 and a[-1] - a[0] == len(a) - 1 and bool((np.diff(a) == 1).all())


def make_column(spec: StateSpec):
    if spec.counts:
        from evalbeam.data_quality.value_counts import ValueCounts

        return ValueCounts(spec)
    return SparseColumn(spec) if spec.sparse else DenseColumn(spec)


WEIGHT_UNIT = 1e-6  # the resolution of SliceTable.weights


def weight_units(w: np.ndarray) -> np.ndarray:
    """Example weights as whole multiples of :data:`WEIGHT_UNIT` (float64 integers): decimal
    weights with up to six decimals are exact, and so are their sums (up to 9e9 per slice),
    whatever the order in which partials are merged."""
    return np.rint(np.asarray(w, np.float64) * 1e6)


class SliceTable:
    """The accumulator of one slicing spec: slice keys, example counts and state columns.

    ``weights`` holds each slice's weighted example count in units of :data:`WEIGHT_UNIT`
    (exact, for ranking slices the same way on every runner). ``null_rows`` counts the rows in
    no slice of the spec because a slicing column had no value. ``tally`` counts rows by
    outcome (read, used, dropped for a reason) over the batches seen; only the first slicing
    spec's tables carry it, so rows are counted once.

    ``statistics`` holds, by dataset (the data evaluated, baseline data), the tables of the
    data's statistics for the same slicing spec (:mod:`evalbeam.data_quality.accumulate`):
    they travel and merge with this table, in the same combine.
    """

    def __init__(self, specs: dict[str, StateSpec]):
        self.specs = specs
        self.keys: list = []
        self._index: dict | None = {}
        self.counts = np.zeros(0, np.int64)
        self.weights = np.zeros(0)
        self.null_rows = 0
        self.columns = {name: make_column(spec) for name, spec in specs.items()}
        self.tally: dict = {}
        self.statistics: dict = {}

    @classmethod
    def from_batch(cls, specs, keys: list, counts: np.ndarray, columns: dict,
                   tally: dict | None = None, weights: np.ndarray | None = None,
                   null_rows: int = 0) -> "SliceTable":
        table = cls.__new__(cls)
        table.specs = specs
        table.keys = list(keys)
        table._index = None  # built when first needed: batch partials never need it
        table.counts = np.asarray(counts, np.int64)
        table.weights = np.zeros(len(keys)) if weights is None else np.asarray(weights, np.float64)
        table.null_rows = int(null_rows)
        table.columns = columns
        table.tally = dict(tally or {})
        table.statistics = {}
        return table

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def index(self) -> dict:
        """Slice key -> row."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys)}
        return self._index

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_index"] = None  # derived from keys; not shipped
        return state

    def nbytes(self) -> int:
        """About how many bytes the table's arrays hold (sampled by runners for statistics)."""
        total = self.counts.nbytes + 64 * len(self.keys)
        for col in self.columns.values():
            if isinstance(col, SparseColumn):
                total += col.dense.nbytes + sum(v.nbytes + 16 * len(v) for v in col._values)
            elif isinstance(col, DenseColumn):
                total += col.data.nbytes
            else:
                total += col.nbytes()
        return total + sum(t.nbytes() for t in self.statistics.values())

    def rows_for(self, keys) -> np.ndarray:
        """Row of each key, adding rows for keys not seen before."""
        index = self.index
        start = len(self.keys)
        rows = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
        if len(index) > start:
            self.keys.extend(itertools.islice(index, start, None))
            n = len(self.keys)
            self.counts = np.concatenate([self.counts, np.zeros(n - start, np.int64)])
            self.weights = np.concatenate([self.weights, np.zeros(n - start)])
            for col in self.columns.values():
                col.reserve(n)
        return rows

    def merge(self, other: "SliceTable") -> "SliceTable":
        """Add ``other`` into this table (``other`` is left unchanged)."""
        for reason, n in other.tally.items():
            self.tally[reason] = self.tally.get(reason, 0) + n
        self.null_rows += other.null_rows
        for dataset, table in other.statistics.items():
            mine = self.statistics.get(dataset)
            if mine is None:
                self.statistics[dataset] = SliceTable(dict(table.specs)).merge(table)
            else:
                mine.merge(table)
        if not len(other):
            return self
        for name in other.columns.keys() - self.columns.keys():  # states first seen here
            self.specs = {**self.specs, name: other.specs[name]}
            self.columns[name] = make_column(other.specs[name])
            self.columns[name].reserve(len(self.keys))
        rows = self.rows_for(other.keys)
        self.counts[rows] += other.counts
        self.weights[rows] += other.weights
        for name, col in self.columns.items():
            theirs = other.columns.get(name)
            if theirs is not None:  # a partial of rows or of queries holds only its families
                col.merge_from(theirs, rows)
        return self

    def compact(self) -> "SliceTable":
        for col in self.columns.values():
            col.compact()
        for table in self.statistics.values():
            table.compact()
        return self

    def row(self, key) -> dict:
        """Per-slice state arrays by state name."""
        i = self.index[key]
        return {name: col.row(i) for name, col in self.columns.items()}

    def reduce_slices(self, group: np.ndarray, keys: list) -> "SliceTable":
        """A table of the slices ``keys`` (without the tally and null rows): slice ``g``
        holds the reduction of this table's slices ``i`` with ``group[i] == g``, by each
        state's reduction, and the sum of their example counts and weights; slices of group
        -1 are left out."""
        n, kept = len(keys), group >= 0
        counts = np.bincount(group[kept], weights=self.counts[kept], minlength=n)
        weights = np.bincount(group[kept], weights=self.weights[kept], minlength=n)
        grouped = _groups(group)  # (shared by the dense columns)
        return SliceTable.from_batch(
            self.specs, keys, counts.astype(np.int64),
            {name: col.reduce_rows(group, n, grouped) if isinstance(col, DenseColumn) else
             col.reduce_rows(group, n) for name, col in self.columns.items()},
            weights=weights)

    def take(self, rows: np.ndarray) -> "SliceTable":
        """The slices at ``rows`` (ascending) as a table of their own (without the tally)."""
        rows = np.asarray(rows, np.int64)
        return SliceTable.from_batch(self.specs, [self.keys[i] for i in rows.tolist()],
                                     self.counts[rows],
                                     {name: col.take(rows) for name, col in self.columns.items()},
                                     weights=self.weights[rows])

    def cells(self) -> np.ndarray:
        """How many state values each slice holds (what computing its metrics walks over)."""
        total = np.zeros(len(self.keys), np.int64)
        for col in self.columns.values():
            total += col.cells()
        return total
