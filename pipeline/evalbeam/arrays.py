"""The arrays families read, one set per stream of a batch, and the values derived from them.

:class:`StreamArrays` holds a stream's examples (labels, predictions, weights),
:class:`PairedArrays` a candidate's examples with the baseline model's predictions,
:class:`QueryArrays` whole queries (documents grouped by query, :mod:`evalbeam.queries`). Each
caches the values derived from it (:meth:`DerivedCache.derived`), so every family and slicing
spec of a batch shares them.
A value that reads the weights is declared ``weighted=True``: a copy of some examples under
weights of its own (a resample, :meth:`DerivedCache.repeat`) makes those itself and gathers
every other value from its source, so what does not depend on the weights is made once.
"""
from __future__ import annotations

import weakref

import numpy as np

from evalbeam.hashing import mix64


class DerivedCache:
    """Values derived from some examples' arrays, each made once and cached under its name.

    A copy of a source's examples ``rows`` (with repeats) gathers the values that do not read
    the weights from the source's (made there once for all its examples, then indexed by
    ``rows``) and makes the ones that do (``weighted=True``) under its own weights.
    """

    __slots__ = ("_cache", "_source", "_rows", "__weakref__")

    def __init__(self):
        self._cache: dict = {}
        self._source = self._rows = None  # the source itself, or a weak reference to it

    def derived(self, name, fn, *, weighted: bool = False):
        """``fn(self)``, made once and cached under ``name``. A value that reads the weights
        must say so (``weighted=True``): a :meth:`repeat` copy makes those itself and gathers
        the others from its source's."""
        value = self._cache.get(name)
        if value is None:
            source = self._source() if isinstance(self._source, weakref.ref) else self._source
            if source is not None and not weighted:
                value = source.derived(name, fn)[self._rows]
            else:
                value = fn(self)
            self._cache[name] = value
        return value

    def _subset(self, rows: np.ndarray, w: np.ndarray) -> "DerivedCache":
        """The examples ``rows`` under weights ``w``, with nothing derived yet."""
        raise NotImplementedError

    def _gathering(self, rows: np.ndarray, w: np.ndarray, weak: bool) -> "DerivedCache":
        """:meth:`_subset` that gathers what does not read the weights from this source; held
        weakly when the source caches the copy (a cycle would outlive the batch)."""
        out = self._subset(rows, w)
        out._source, out._rows = (weakref.ref(self) if weak else self), rows
        return out

    def repeat(self, rows: np.ndarray, w: np.ndarray) -> "DerivedCache":
        """The examples ``rows`` (with repeats) under new weights ``w`` (a resample: the
        source caches it)."""
        return self._gathering(rows, w, weak=True)


class StreamArrays(DerivedCache):
    """Labels ``y``, predictions ``p`` and weights ``w`` (float64, 1-D) for one stream of a batch.

    Derived per-example arrays are computed once per batch and shared by every slicing spec
    and family through :meth:`derived`.
    """

    __slots__ = ("y", "p", "w", "seed", "per_row", "examples")

    def __init__(self, y: np.ndarray, p: np.ndarray, w: np.ndarray, seed: int = 0,
                 per_row: int = 1):
        super().__init__()
        self.y, self.p, self.w = y, p, w
        self.seed = seed  # fixed per batch: resampling draws from it, reproducibly
        # entries per example: a pooled class view lays each example's classes out in a row
        self.per_row = per_row
        # for a class view, a weak reference to the arrays of whole examples it was made from:
        # resampling draws per example there, so all classes of an example move together
        self.examples = None

    def draws(self, kind: int, high: int, shape: tuple, dtype=np.int64) -> np.ndarray:
        """Uniform integers in [0, high), a leading axis per example, reproducible from the
        batch's seed (``kind`` picks an independent sequence)."""
        return np.random.default_rng([self.seed, kind]).integers(0, high, shape, dtype=dtype)

    def _subset(self, rows, w) -> "StreamArrays":
        return StreamArrays(self.y[rows], self.p[rows], w, self.seed)

    def take(self, rows: np.ndarray) -> "StreamArrays":
        """The examples ``rows``, with the per-example arrays derived so far; a value derived
        later that does not read the weights is made over every example and gathered (so an
        example's resample draws are the same whichever examples are taken with it)."""
        taken = self._gathering(rows, self.w[rows], weak=False)
        for name, value in self._cache.items():
            if isinstance(value, np.ndarray):  # per-example arrays; the rest is made again
                taken._cache[name] = value[rows]
        return taken

    def part(self, start: int, stop: int, seed: int) -> "StreamArrays":
        """The examples ``start:stop`` as arrays of a batch of their own (views, nothing
        derived yet) whose resamples are drawn from ``seed``."""
        out = self._subset(slice(start, stop), self.w[start:stop])
        out.seed = seed
        return out


class PairedArrays(StreamArrays):
    """A candidate's arrays with the baseline model's predictions ``base_p`` of the same
    examples, for families that compare the two (``Family.baseline``). ``w`` holds the
    baseline's weights, as TFMA weights such comparisons."""

    __slots__ = ("base_p",)

    def __init__(self, y, p, w, base_p, seed: int = 0):
        super().__init__(y, p, w, seed)
        self.base_p = base_p

    @classmethod
    def pair(cls, candidate: StreamArrays, baseline: StreamArrays) -> "PairedArrays":
        return cls(candidate.y, candidate.p, baseline.w, baseline.p, candidate.seed)

    def _subset(self, rows, w):
        return PairedArrays(self.y[rows], self.p[rows], w, self.base_p[rows], self.seed)


class QueryArrays(DerivedCache):
    """Whole queries of one stream, documents grouped by query.

    ``prediction`` and ``docs(column)`` (``OWN_LABEL`` of :mod:`evalbeam.metrics.ranking`: the
    stream's labels) are per-document float64 arrays, sorted by query; query ``i`` has
    documents ``starts[i]:starts[i] + sizes[i]`` (every query has at least one) and weight
    ``w[i]``. :meth:`take` selects queries (with repeats: one per (query, slice) pair);
    per-query values come from :meth:`derived`, computed once over all queries (a copy's
    documents stay with its source).
    """

    __slots__ = ("prediction", "starts", "sizes", "w", "hashes", "per_row", "examples", "_docs")

    def __init__(self, prediction, starts, sizes, w, docs, hashes=None):
        super().__init__()
        self.prediction, self.starts, self.sizes, self.w = prediction, starts, sizes, w
        self.hashes = hashes  # a stable 64-bit hash of each query's value
        # (the resampling contract: queries are whole examples, one entry each)
        self.per_row, self.examples = 1, None
        self._docs = docs  # column name -> per-document values (a function, read on demand)

    def docs(self, column: str) -> np.ndarray:
        return self.derived(("docs", column), lambda q: q._docs(column))

    def draws(self, kind: int, high: int, shape: tuple, dtype=np.int64) -> np.ndarray:
        """Uniform integers in [0, high) per query (confidence intervals), drawn from the
        query's value: the same in every run, however the documents were batched."""
        width = int(np.prod(shape[1:], dtype=np.int64))
        salt = mix64(np.arange(1, width + 1, dtype=np.uint64) + np.uint64(kind << 32))
        x = mix64(self.hashes[:, None] ^ salt[None, :])
        return (x % np.uint64(high)).astype(dtype).reshape(shape)

    def _subset(self, rows, w) -> "QueryArrays":
        return QueryArrays(None, None, self.sizes[rows], w, None)

    def take(self, rows: np.ndarray) -> "QueryArrays":
        """The queries ``rows`` (per-query values only; documents stay with the source, which
        the copy holds)."""
        return self._gathering(rows, self.w[rows], weak=False)

    # -- per-document values over all queries (the source) --------------------------------
    def query_index(self) -> np.ndarray:
        """The query of each document."""
        return self.derived("query", lambda q: np.repeat(np.arange(len(q.starts)), q.sizes))

    def position(self) -> np.ndarray:
        """0-based rank of each document within its query (documents in ranked order)."""
        return self.derived("position", lambda q: np.arange(len(q.prediction)) - np.repeat(
            q.starts, q.sizes))

    def ranked(self, column: str) -> np.ndarray:
        """``column``'s values in ranked order: by query, prediction descending, then
        ``column`` ascending (ties are ranked pessimistically)."""
        def rank(q):
            values = q.docs(column)
            return values[np.lexsort((values, -q.prediction, q.query_index()))]
        return self.derived(("ranked", column), rank)

    def ideal(self, column: str) -> np.ndarray:
        """``column``'s values sorted descending within each query (the ideal ranking)."""
        def order(q):
            values = q.docs(column)
            return values[np.lexsort((-values, q.query_index()))]
        return self.derived(("ideal", column), order)

    def per_query(self, values: np.ndarray, ufunc=np.add) -> np.ndarray:
        """``ufunc`` reduced over each query's documents."""
        return ufunc.reduceat(values, self.starts) if len(self.starts) else values[:0]
