"""Query (ranking) metrics: the documents of a query, ranked by prediction, make one example.

A metrics_spec with ``query_key`` groups documents by the value of that column (see
:mod:`evalbeam.queries`, which gathers each query's documents from every batch and file). A
:class:`QueryArrays` holds whole queries of one stream: documents sorted by query, each
query's weight, and per-query values derived once and shared by every family and slicing
spec. Families here sum per-query values over the queries of each slice (``np.bincount`` over
slice codes), exactly as :class:`~evalbeam.metrics.sums.Sums` sums per-example values; metrics
divide in ``compute_table``.

Ranking: documents in decreasing prediction; among equal predictions the less relevant
document comes first (a model gets no credit for a tie), so results never depend on the order
the documents arrived in. A document is relevant when its label (or gain) is > 0.
"""
from __future__ import annotations

import numpy as np

from evalbeam.arrays import QueryArrays
from evalbeam.keys import MetricKey, SubKey
from evalbeam.metrics import arguments
from evalbeam.metrics.base import UNIT, Family, Metric, MetricInfo, divide
from evalbeam.metrics.state import DenseColumn, StateSpec, by_statistic, state_name


OWN_LABEL = ""  # the column name that stands for the stream's own label column


def _dcg(q: QueryArrays, values: np.ndarray, k: int) -> np.ndarray:
    pos = q.position()
    return q.per_query(np.where(pos < k, values / np.log2(pos + 2.0), 0.0))


# Per-query quantities by statistic name; each state sums w * quantity over a slice's queries.
def _quantity(stat: tuple):
    kind, column, k = stat
    if kind == "weight":
        return lambda q: np.ones(len(q.starts))
    if kind == "documents":
        return lambda q: q.sizes.astype(np.float64)
    if kind == "has_positive":  # the query has a document with a gain / label > 0
        return lambda q: (q.per_query(q.docs(column), np.maximum) > 0).astype(np.float64)
    if kind == "ndcg":
        def ndcg(q):
            ideal = _dcg(q, q.ideal(column), k)
            return np.where(ideal > 0, divide(_dcg(q, q.ranked(column), k), ideal), 0.0)
        return ndcg
    if kind == "min_position":
        def first(q):
            pos = np.where(q.ranked(column) > 0, q.position(), np.iinfo(np.int64).max)
            found = q.per_query(pos, np.minimum)
            return np.where(found < np.iinfo(np.int64).max, found + 1.0, 0.0)
        return first
    if kind in ("precision", "recall"):  # relevant documents in the top k, / k or / relevant
        def hits(q):
            found = q.per_query(((q.ranked(column) > 0) & (q.position() < k)).astype(np.float64))
            if kind == "precision":
                return found / k
            relevant = q.per_query((q.docs(column) > 0).astype(np.float64))
            return np.where(relevant > 0, divide(found, relevant), 0.0)
        return hits
    raise ValueError(f"unknown query statistic {stat!r}")


class QuerySums(Family):
    """Weighted sums of per-query quantities per slice; ``stats`` names them as
    ``(kind, column, k)``."""

    def __init__(self, stream, stats):
        super().__init__(stream)
        self.stats = frozenset(stats)
        for stat in self.stats:
            _quantity(stat)

    def fuse(self, other: "QuerySums") -> "QuerySums":
        return QuerySums(self.stream, self.stats | other.stats)

    def states(self):
        return {state_name(s): StateSpec(state_name(s)) for s in sorted(self.stats)}

    def values(self, states: dict) -> dict:
        """``{statistic: sums}`` of this family's statistics from (a fused family's) states."""
        return by_statistic(states, self.stats)

    def add_batch(self, queries, codes, n_slices):
        out = {}
        for stat in sorted(self.stats):
            values = queries.w * queries.derived(stat, _quantity(stat))
            name = state_name(stat)
            out[name] = DenseColumn(StateSpec(name), np.bincount(codes, weights=values,
                                                                 minlength=n_slices))
        return out


class QueryDocuments(Family):
    """Number of documents per query (times the query's weight): smallest and largest per
    slice, as TFMA's QueryStatistics."""

    def states(self):
        return {"min_documents": StateSpec("min_documents", reduce="min"),
                "max_documents": StateSpec("max_documents", reduce="max")}

    def add_batch(self, queries, codes, n_slices):
        docs = queries.w * queries.sizes
        low, high = np.full(n_slices, np.inf), np.full(n_slices, -np.inf)
        np.minimum.at(low, codes, docs)
        np.maximum.at(high, codes, docs)
        states = self.states()
        return {"min_documents": DenseColumn(states["min_documents"], low),
                "max_documents": DenseColumn(states["max_documents"], high)}


def _top_k_list(config: dict) -> list:
    ks = arguments.whole_numbers(config, "top_k_list", low=1)
    if not ks:
        raise ValueError("top_k values are required: set top_k_list in the metric's config or "
                         "binarize { top_k_list: [...] } on the metrics_spec")
    return sorted(set(ks))


class _QueryMetric(Metric):
    """A weighted mean over queries: sum(w * value) / sum(w * counted) per slice."""

    info = MetricInfo(query="required")

    def stats(self) -> list:
        raise NotImplementedError

    def families(self):
        return [QuerySums(self.stream, self.stats())]

    def sums(self, stats) -> dict:
        family = self.families()[0]
        return family.values(stats(family))


class _AtK(_QueryMetric):
    """One value per k of ``top_k_list`` (sub key ``topK:k``)."""

    kind = ""

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.top_k = _top_k_list(config)

    def keys(self) -> list:
        return [self.key_at(k) for k in self.top_k]

    def key_at(self, k: int) -> MetricKey:
        return MetricKey(self.name, self.stream.model, self.stream.output, SubKey(top_k=k),
                         self.stream.weighted)

    def relevance(self) -> str:
        return OWN_LABEL

    def weight_stat(self) -> tuple:
        raise NotImplementedError

    def stats(self):
        return [self.weight_stat()] + [(self.kind, self.relevance(), k) for k in self.top_k]

    def compute_table(self, stats):
        s = self.sums(stats)
        den = s[self.weight_stat()]
        return {self.key_at(k): divide(s[(self.kind, self.relevance(), k)], den)
                for k in self.top_k}


class NDCG(_AtK):
    """Normalised discounted cumulative gain at k, TFMA's ``NDCG``.

    Per query, documents ranked by prediction: DCG@k = sum of gain_i / log2(i + 1) over the
    top min(k, n) positions (i from 1, gains from the ``gain_key`` column); NDCG@k = DCG@k /
    ideal DCG@k (gains sorted descending), 0 when the ideal DCG is not positive. Queries whose
    largest gain is <= 0 are left out (weight 0). The value is the weighted mean over queries,
    NaN when no query counts. At most 1; negative gains can make it negative.
    """

    info = MetricInfo(config_keys=("gain_key", "top_k_list"), query="required",
                      higher_is_better=True, value_range=(-float("inf"), 1.0))
    kind = "ndcg"

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.gain_key = arguments.text(config, "gain_key")  # the column of gains

    def relevance(self):
        return self.gain_key

    def columns(self) -> list:
        return [self.gain_key]

    def weight_stat(self):
        return ("has_positive", self.gain_key, 0)


class PrecisionAtK(_AtK):
    """Ranking precision at k: relevant documents (label > 0) among a query's top k, divided
    by k; the weighted mean over queries (every query counts, also one with fewer than k
    documents or none relevant)."""

    info = MetricInfo(config_keys=("top_k_list",), query="required",
                      higher_is_better=True, value_range=UNIT)
    kind = "precision"

    def weight_stat(self):
        return ("weight", "", 0)


class RecallAtK(_AtK):
    """Ranking recall at k: relevant documents (label > 0) among a query's top k, divided by
    the query's relevant documents; the weighted mean over queries that have a relevant
    document (NaN if none has)."""

    info = MetricInfo(config_keys=("top_k_list",), query="required",
                      higher_is_better=True, value_range=UNIT)
    kind = "recall"

    def weight_stat(self):
        return ("has_positive", self.relevance(), 0)


class MinLabelPosition(_QueryMetric):
    """1-based rank of a query's first document with a label > 0 (documents ranked by
    prediction), TFMA's ``MinLabelPosition``: the weighted mean over the queries that have one,
    NaN if none has. ``label_key`` reads the labels from another column."""

    info = MetricInfo(config_keys=("label_key",), query="required",
                      higher_is_better=False, value_range=(1.0, float("inf")))

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.label_key = arguments.text(config, "label_key") if "label_key" in config else OWN_LABEL

    def columns(self) -> list:
        return [self.label_key] if self.label_key else []

    def stats(self):
        return [("has_positive", self.label_key, 0), ("min_position", self.label_key, 0)]

    def compute_table(self, stats):
        s = self.sums(stats)
        return {self.key: divide(s[("min_position", self.label_key, 0)],
                                 s[("has_positive", self.label_key, 0)])}


_STATISTICS = ("total_queries", "total_documents", "min_documents", "max_documents")


class QueryStatistics(Metric):
    """TFMA's ``QueryStatistics``, four values: ``total_queries`` (sum of query weights),
    ``total_documents`` (sum of documents * weight), ``min_documents`` and ``max_documents``
    (smallest and largest documents * weight of a query; NaN in a slice without queries).
    ``<statistic>_name`` renames one."""

    info = MetricInfo(config_keys=tuple(f"{s}_name" for s in _STATISTICS), query="required",
                      intervals=False, default_name="query_statistics")

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.names = {s: arguments.text(config, f"{s}_name", s) for s in _STATISTICS}

    def keys(self) -> list:
        return [self._key(s) for s in _STATISTICS]

    def _key(self, statistic: str) -> MetricKey:
        return MetricKey(self.names[statistic], self.stream.model, self.stream.output, None,
                         self.stream.weighted)

    def families(self):
        return [QuerySums(self.stream, [("weight", "", 0), ("documents", "", 0)]),
                QueryDocuments(self.stream)]

    def compute_table(self, stats):
        queries, documents = self.families()
        sums, docs = queries.values(stats(queries)), stats(documents)
        low, high = docs["min_documents"], docs["max_documents"]
        none = np.isinf(low)  # the identity of "min": the slice has no query
        return {self._key("total_queries"): sums[("weight", "", 0)],
                self._key("total_documents"): sums[("documents", "", 0)],
                self._key("min_documents"): np.where(none, np.nan, low),
                self._key("max_documents"): np.where(none, np.nan, high)}
