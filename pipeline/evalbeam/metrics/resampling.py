"""Confidence intervals: every family accumulated per resample, on the accumulator contract.

A :class:`Replicated` family wraps a family and keeps its state once per resample, as extra
virtual slices (``slice * R + r``), so the inner family's vectorised ``add_batch`` does the
work and merging stays a sum:

- jackknife (TFMA's default): each example falls in one of R partitions; resample r is the
  slice without partition r: a sum state's ``total - partition_r``, a min or max state's
  reduction over the other partitions (:func:`~evalbeam.metrics.state.leave_one_out`). The
  cost is one extra code per example.
- Poisson bootstrap: resample r weights each example by an independent Poisson(1) count; the
  inner family sees the R weighted copies of the examples with a non-zero count. A family
  whose states are not all sums linear in the weights (a min or max state, a user's metric)
  sees each drawn example repeated as often as it was drawn, with its own weight: a max state
  of a resample is then the max over the examples drawn at least once.

Draws come from each example's identity (:attr:`StreamArrays.hashes`), not from its batch, so
intervals do not depend on the batching, and every model and output of an example lands in the
same partition / gets the same counts: the resamples of a diff
metric are differences of paired resamples. Metrics then compute their R resampled values per
slice exactly as their point values (:class:`ResampledStats` presents the resamples as
``n_slices * R`` virtual slices); :func:`interval` turns them into TFMA's interval: mean of the
resamples +/- t(0.975, R-1) * standard error, where the slice has enough examples and
enough of its resamples are defined (see :func:`interval`).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from evalbeam.arrays import StreamArrays
from evalbeam.metrics.base import Family
from evalbeam.metrics.state import DenseColumn, SparseColumn, StateSpec, leave_one_out

JACKKNIFE, POISSON_BOOTSTRAP = "jackknife", "poisson_bootstrap"


def _poisson_table(bits: int = 16) -> np.ndarray:
    """u -> the Poisson(1) quantile at (u + 1/2) / 2**bits."""
    k = np.arange(20)
    cdf = np.cumsum(np.exp(-1.0) / np.array([math.factorial(int(i)) for i in k]))
    return np.searchsorted(cdf, (np.arange(1 << bits) + 0.5) / (1 << bits)).astype(np.int8)


_POISSON_1 = _poisson_table()


_COUNTED = ("intervals", "slices_below_min_examples", "intervals_undefined",
            "intervals_with_resamples_left_out", "resamples_left_out")

# A slice with fewer examples gets no interval: a 95% interval's 2.5% tails then hold less
# than half an example each (and the jackknife cannot fill its 20 partitions).
MIN_EXAMPLES = 20


@dataclass(frozen=True)
class Resampling:
    method: str = JACKKNIFE
    samples: int = 20
    id_column: str = ""  # the column identifying each example (example_id_key; "": none)

    @property
    def min_examples(self) -> int:
        """Examples (the slice's unweighted count) a slice needs for intervals: 20, and for
        the jackknife at least one per partition."""
        return max(MIN_EXAMPLES, self.samples) if self.method == JACKKNIFE else MIN_EXAMPLES

    @property
    def min_defined(self) -> int:
        """Defined resamples an interval needs: half of them (at least 2, for a spread)."""
        return max(2, -(-self.samples // 2))

    def summary(self, counts: dict) -> dict:
        """summary.json's ``intervals``: the rules applied and what became of the intervals of
        the slices written (``counts`` from :func:`evalbeam.compute.count_intervals`)."""
        out = {"method": self.method, "num_samples": self.samples,
               "min_examples": self.min_examples, "min_defined_resamples": self.min_defined}
        for what in _COUNTED:
            out[what] = counts.get(what, 0)
        return out

    def partitions(self, arrays: StreamArrays) -> np.ndarray:
        return _per_example(arrays, f"jackknife/{self.samples}", self.partitions,
                            lambda a: a.draws(1, self.samples, (len(a.w),)))

    def counts(self, arrays: StreamArrays) -> np.ndarray:
        """Poisson(1) counts per example and resample, by table lookup of 16-bit uniforms
        (each count's probability within 2**-16 of Poisson's; 10x faster than sampling)."""
        return _per_example(arrays, f"poisson/{self.samples}", self.counts,
                            lambda a: _POISSON_1[a.draws(2, 1 << 16, (len(a.w), self.samples),
                                                         np.uint16)])

    def expand(self, arrays: StreamArrays, codes: np.ndarray, repeat: bool = False):
        """``(arrays, codes)`` of the resamples as virtual slices ``code * R + r``; with
        ``repeat`` the bootstrap repeats drawn examples instead of weighting them."""
        R = self.samples
        if self.method == JACKKNIFE:
            return arrays, codes * R + self.partitions(arrays)
        if repeat:
            rows, r, resampled = arrays.derived(f"poisson_repeats/{R}", self._repeats, weighted=True)
        else:
            rows, r, resampled = arrays.derived(f"poisson_copies/{R}", self._copies, weighted=True)
        last = resampled._cache.get("virtual_codes")  # every family of a spec passes its codes
        if last is None or last[0] is not codes:
            last = resampled._cache["virtual_codes"] = (codes, codes[rows] * R + r)
        return resampled, last[1]

    def _copies(self, arrays: StreamArrays):
        """The examples repeated once per resample with a non-zero count, weighted by it; made
        once per batch and stream, so every family and slicing spec shares them (and what they
        derive from them)."""
        counts = self.counts(arrays)
        rows, r = np.nonzero(counts)
        return rows, r, arrays.repeat(rows, arrays.w[rows] * counts[rows, r])

    def _repeats(self, arrays: StreamArrays):
        """Each example once per draw in each resample, under its own weight."""
        counts = self.counts(arrays)
        rows, r = np.nonzero(counts)
        times = counts[rows, r]
        rows, r = np.repeat(rows, times), np.repeat(r, times)
        return rows, r, arrays.repeat(rows, arrays.w[rows])


def _per_example(arrays: StreamArrays, name: str, draws, draw) -> np.ndarray:
    """Draws per example; a class view takes those of the examples it was made from, one
    per class entry, so an example's classes are resampled together."""
    def make(a):
        examples = a.examples() if a.examples is not None else None
        if examples is None:
            return draw(a)
        return np.repeat(draws(examples), a.per_row, axis=0)

    return arrays.derived(name, make)


class Replicated(Family):
    """``inner``'s state once per resample: dense states gain an ``R`` axis after the slice
    axis; sparse ``(channels, buckets)`` states hold ``R * channels`` channels in ``R`` blocks,
    each resample's entries its own (``StateSpec.blocks``), so they hold what was drawn."""

    def __init__(self, inner: Family, resampling: Resampling):
        super().__init__(inner.stream)
        self.baseline = inner.baseline  # reads the same arrays as the family it replicates
        self.inner, self.resampling = inner, resampling
        self.vectors, self.reads_classes = inner.vectors, inner.reads_classes
        self.max_classes = inner.max_classes
        # the bootstrap repeats drawn examples unless weighting them by their count is the same
        self.repeats = not (inner.counts_as_weights and
                            all(s.reduce == "sum" for s in inner.states().values()))

    def group_key(self):
        return ("Replicated", self.resampling) + self.inner.group_key()

    def fuse(self, other: "Replicated") -> "Replicated":
        return Replicated(self.inner.fuse(other.inner), self.resampling)

    def states(self):
        R = self.resampling.samples
        out = {}
        for name, spec in self.inner.states().items():
            if spec.sparse:
                channels, buckets = spec.shape
                out[name] = StateSpec(name, (R * channels, buckets), sparse=True, blocks=R)
            else:
                out[name] = StateSpec(name, (R,) + spec.shape, spec.reduce)
        return out

    def add_batch(self, arrays, codes, n_slices):
        R = self.resampling.samples
        resampled, virtual = self.resampling.expand(arrays, codes, self.repeats)
        specs = self.states()
        out = {}
        for name, col in self.inner.add_batch(resampled, virtual, n_slices * R).items():
            spec = specs[name]
            if isinstance(col, DenseColumn):
                out[name] = DenseColumn(spec, col.data.reshape((n_slices,) + spec.shape))
            else:  # virtual slice ``slice * R + r``: block r of the slice
                out[name] = SparseColumn.of_units(spec, col)
        return out


class _ResampledEntries:
    """A replicated sparse state presented as ``n * R`` virtual slices' histogram entries."""

    def __init__(self, col: SparseColumn, resampling: Resampling, buckets=None):
        # ``buckets``: the replicated family's buckets -> the buckets the metric asked for
        self.col, self.resampling, self.buckets = col, resampling, buckets

    def entries(self):
        # the column's units are the virtual slices, its entries sorted by (unit, bucket)
        virtual, buckets, values = self.col.entries()
        if self.resampling.method == JACKKNIFE:
            virtual, buckets, values = _left_out(virtual, buckets, values,
                                                 self.resampling.samples, self.col.buckets)
        if self.buckets is not None:  # (increasing: the order holds)
            buckets = self.buckets[buckets]
        return virtual, buckets, values


def _left_out(units, buckets, values, R: int, n_buckets: int):
    """Entries of partitions (unit ``slice * R + r``) -> entries of the jackknife's resamples
    (virtual slice ``slice * R + r``: every partition but r), sorted by (virtual slice, bucket):
    each bucket a slice holds in some partition, in every resample."""
    slices = units // R
    cells, inverse = np.unique(slices * n_buckets + buckets, return_inverse=True)
    parts = np.zeros((len(cells), R, values.shape[1]))
    parts[inverse, units % R] = values
    values = parts.sum(axis=1, keepdims=True) - parts
    virtual = (cells // n_buckets * R)[:, None] + np.arange(R)
    buckets = np.broadcast_to((cells % n_buckets)[:, None], virtual.shape)
    order = np.argsort(virtual.ravel(), kind="stable")  # cells are sorted by (slice, bucket)
    return (virtual.ravel()[order], buckets.ravel()[order],
            values.reshape(-1, values.shape[2])[order])


class ResampledStats:
    """The resamples of a table's slices as ``n * R`` virtual slices (slice-major), for
    ``Metric.compute_table``."""

    def __init__(self, table_stats, resampling: Resampling):
        self._table, self.resampling = table_stats, resampling
        self.n = table_stats.n * resampling.samples
        self._memo = {}

    def _replicated(self, family):
        return Replicated(family.for_replicates(), self.resampling)

    def family(self, family):
        return self._table.family(self._replicated(family)).inner

    def memo(self, key, fn):
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    def __call__(self, family) -> dict:
        replicated = self._replicated(family)
        fused = self._table.family(replicated)
        buckets = fused.inner.buckets_as(family)
        specs = fused.states()
        out = {}
        for name, state in self._table(replicated).items():
            if isinstance(state, SparseColumn):
                out[name] = _ResampledEntries(state, self.resampling, buckets)
                continue
            if self.resampling.method == JACKKNIFE:
                state = leave_one_out(state, specs[name].reduce)
            out[name] = state.reshape((self.n,) + state.shape[2:])
        return out


@functools.lru_cache(maxsize=None)
def t_quantile_975(df: int) -> float:
    """Student's t 97.5% quantile: bisection on the CDF, integrated by Simpson's rule (below
    30 degrees of freedom), else Hill's expansion in 1/df (error below 1e-7 there)."""
    v = float(df)
    if df >= 30:
        z = 1.959963984540054
        g = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
             (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
             (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
        return z + sum(gi / v ** (i + 1) for i, gi in enumerate(g))
    log_norm = math.lgamma((v + 1) / 2) - math.lgamma(v / 2) - 0.5 * math.log(v * math.pi)

    def cdf_above_half(t):  # P(0 < T < t)
        x = np.linspace(0.0, t, 4001)
        f = np.exp(log_norm - (v + 1) / 2 * np.log1p(x * x / v))
        return (x[1] - x[0]) / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    low, high = 1.9, 15.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf_above_half(mid) < 0.475 else (low, mid)
    return (low + high) / 2


def interval(point: np.ndarray, samples: np.ndarray, resampling: Resampling,
             value_range: tuple | None = None):
    """``(lower, upper, standard_error, defined)`` per slice from the point values ``(n,)``
    and the resampled values ``(n, R)``; an array metric's point values ``(n, ...)`` and
    resamples ``(n, R, ...)`` give each of its values its own interval, of shape ``(n, ...)``.

    A resample whose value is not finite (an AUC of a resample with one class) is left out;
    ``defined`` counts the others, k. Jackknife: pseudo-values ``R*point - (R-1)*sample``,
    se = std(pseudo)/sqrt(R), over the defined resamples. Bootstrap: se = std(samples). Both
    centred on the mean of the defined samples, with Student's t at k-1 degrees of freedom
    (TFMA's interval when every resample is defined). The bounds are NaN when the point value
    is not finite or fewer than ``resampling.min_defined`` resamples are, and are clipped to
    ``value_range``.
    """
    R = samples.shape[1]
    ok = np.isfinite(samples)
    defined = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, samples, 0.0).sum(axis=1) / defined
        deviation = np.where(ok, samples - np.expand_dims(mean, 1), 0.0)
        sd = np.sqrt((deviation * deviation).sum(axis=1) / (defined - 1))
    # the jackknife's pseudo-values spread times as far as the samples
    se = (R - 1) * sd / math.sqrt(R) if resampling.method == JACKKNIFE else sd
    valid = np.isfinite(point) & (defined >= resampling.min_defined)
    se = np.where(valid, se, np.nan)
    t = np.full(R + 1, np.nan)  # by the number of defined resamples
    for k in np.unique(defined[valid]).tolist():
        t[k] = t_quantile_975(k - 1)
    lower, upper = mean - t[defined] * se, mean + t[defined] * se
    if value_range is not None:
        lower, upper = np.clip(lower, *value_range), np.clip(upper, *value_range)
    return lower, upper, se, defined


def show_note(summary: dict, out) -> None:
    """One line for ``evalbeam show`` about the intervals, from summary.json (nothing when
    intervals were not computed)."""
    note = summary.get("intervals")
    if not note:
        return
    parts = [f"intervals: {note['method']}, {note['num_samples']} resamples"]
    if note.get("slices_below_min_examples"):
        parts.append(f"none for {note['slices_below_min_examples']} slice(s) with fewer than "
                     f"{note['min_examples']} examples")
    if note.get("intervals_undefined"):
        parts.append(f"{note['intervals_undefined']} NaN (fewer than "
                     f"{note['min_defined_resamples']} resamples defined)")
    if note.get("resamples_left_out"):
        parts.append(f"{note['resamples_left_out']} undefined resample(s) left out of "
                     f"{note['intervals_with_resamples_left_out']} interval(s)")
    print("; ".join(parts), file=out)
