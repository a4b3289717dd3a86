"""The plan of an evaluation: what :func:`evalbeam.config.resolve_config` makes of a config and
extract, queries, combine and compute read: the models and their columns, slicing specs,
metrics and the fused families that accumulate their statistics, thresholds and options."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from evalbeam.errors import ConfigError
from evalbeam.metrics.base import Family
from evalbeam.metrics.resampling import Replicated, Resampling
from evalbeam.metrics.state import StateSpec
from evalbeam.proto import config_pb2


@dataclass
class EvalPlan:
    """A checked configuration, ready to run."""

    config: config_pb2.EvalConfig
    models: list  # evalbeam.config.models.ModelInfo, one per model spec
    slice_specs: list  # evalbeam.slicing.SliceSpec
    metrics: list  # evalbeam.metrics.base.Metric instances
    thresholds: list = field(default_factory=list)  # evalbeam.config.thresholds.Threshold
    min_slice_size: int = 0
    max_plot_slices: int = 1000  # plots for at most this many slices per spec (0: all)
    fused: FusedFamilies = None
    # The baseline's metrics read from an earlier result instead of computed from the data:
    # slice key -> {MetricKey (of the baseline model): value}.
    baseline_metrics: dict | None = None
    resampling: Resampling | None = None  # when intervals are computed
    cross_specs: list = field(default_factory=list)  # the config's CrossSliceSpecs
    # statistics of the data, schema and baseline (evalbeam.data_quality.plan.DataQualityPlan)
    data_quality: object = None

    def __post_init__(self):
        self.fused = FusedFamilies.build(self.metrics, self.resampling)

    @property
    def baseline(self) -> str | None:
        """Name of the baseline model, if one is configured."""
        return next((m.name for m in self.models if m.is_baseline), None)

    def checked_keys(self) -> set:
        """Metric keys the thresholds read (diffs with the candidate's and the baseline's
        values they compare)."""
        keys = {t.key for t in self.thresholds}
        for t in self.thresholds:
            if t.is_change:
                keys |= {t.baseline_key, dataclasses.replace(t.key, is_diff=False)}
        return keys

    def streams(self) -> list:
        """The streams read from each batch: the outputs' (class views are made from them),
        and the baseline's where a family compares with it."""
        streams = {f.stream.base for f in self.fused.families} | {
            f.baseline for f in self.fused.families if f.baseline is not None}
        return sorted(streams, key=lambda s: (s.model, s.output, s.weighted, s.query_key))

    def stream_pairs(self) -> list:
        """``(candidate stream, baseline stream)`` of every family comparing the two."""
        return sorted({f.source() for f in self.fused.families if f.baseline is not None},
                      key=str)

    @property
    def query_key(self) -> str:
        """The column that groups documents into queries ("" when no metric reads queries)."""
        return next((m.stream.query_key for m in self.metrics if m.stream.query_key), "")

    @property
    def counts_queries(self) -> bool:
        """Whether every metric reads queries: slice sizes (``min_slice_size``) count queries."""
        return all(m.stream.query_key for m in self.metrics)

    def head(self, model: str, output: str):
        """The :class:`~evalbeam.config.models.Head` of ``model``'s ``output``."""
        return next(m for m in self.models if m.name == model).head(output)

    def heads(self) -> list:
        """The model outputs read from the data."""
        return [h for m in self.evaluated_models() for h in m.heads]

    def needs(self, head, what: str) -> list:
        """Class names of metrics on ``head`` that need binary labels / probabilities."""
        return sorted({m.class_name for m in self.metrics
                       if (m.stream.model, m.stream.output) == (head.model, head.output)
                       and getattr(m.info, what)})

    def evaluated_models(self) -> list:
        """The models whose predictions are read from the data."""
        return [m for m in self.models if not (m.is_baseline and self.baseline_metrics is not None)]

    def with_baseline_metrics(self, baseline_metrics: dict) -> "EvalPlan":
        """This plan with the baseline's metrics taken from ``baseline_metrics`` (by slice)."""
        if self.baseline is None:
            raise ConfigError("a baseline result was given, but no model spec has is_baseline: true")
        paired = sorted({type(m).__name__ for m in self.metrics if m.info.compares_baseline})
        if paired:
            raise ConfigError(f"{', '.join(paired)}: flip rates compare each example's "
                              "predictions with the baseline's, which a baseline result does not "
                              "hold; evaluate the baseline from the data (no baseline result) or "
                              "remove them")
        kept = [m for m in self.metrics if m.stream.model != self.baseline]
        return dataclasses.replace(self, metrics=kept, baseline_metrics=baseline_metrics)

    def input_columns(self) -> list:
        cols = []
        for h in self.heads():
            cols += [h.label_key, h.prediction_key] + ([h.example_weight_key] if h.example_weight_key else [])
        for spec in self.slice_specs:
            cols += spec.columns
        if self.query_key:
            cols.append(self.query_key)
        cols += self.query_columns()
        if self.resampling is not None and self.resampling.id_column:
            cols.append(self.resampling.id_column)
        if self.data_quality is not None:
            cols += list(self.data_quality.features)
            if self.data_quality.weight_column:
                cols.append(self.data_quality.weight_column)
        return list(dict.fromkeys(cols))

    def read_columns(self) -> list | None:
        """The columns a reader reads: :meth:`input_columns`, or every column (None) when the
        data's statistics describe every column."""
        if self.data_quality is not None and self.data_quality.every_column:
            return None
        return self.input_columns()

    def slicing_only_columns(self) -> list:
        """Columns read only to slice by: readers may give them dictionary-encoded."""
        slicing = {c for spec in self.slice_specs for c in spec.columns}
        return [c for c in self.input_columns()
                if c in slicing and c not in self._value_columns()]

    def _value_columns(self) -> set:
        cols = {self.query_key} | set(self.query_columns())
        for h in self.heads():
            cols |= {h.label_key, h.prediction_key, h.example_weight_key}
        if self.resampling is not None:
            cols.add(self.resampling.id_column)
        return cols - {"", None}

    def query_columns(self) -> list:
        """Per-document columns that query metrics read besides labels and predictions."""
        return list(dict.fromkeys(c for m in self.metrics for c in m.columns()))


@dataclass
class FusedFamilies:
    """The fused families of a configuration and the metrics that read them."""

    metrics: list
    families: list = field(default_factory=list)
    _index: dict = field(default_factory=dict)

    @classmethod
    def build(cls, metrics: list, resampling=None) -> "FusedFamilies":
        """Fuse the metrics' families; with ``resampling`` (confidence intervals) also a
        replicated family for every family a metric with intervals reads."""
        fused = cls(metrics)
        for metric in metrics:
            for family in metric.families():
                fused._add(family)
                if resampling is not None and metric.info.intervals and not metric.info.plot:
                    fused._add(Replicated(family.for_replicates(), resampling))
        return fused

    def _add(self, family: Family) -> None:
        key = family.group_key()
        if key in self._index:
            i = self._index[key]
            self.families[i] = self.families[i].fuse(family)
        else:
            self._index[key] = len(self.families)
            self.families.append(family)

    def indexed_families(self, queries: bool) -> list:
        """``[(index, family)]`` of the families over queries (``queries``) or over rows."""
        return [(i, f) for i, f in enumerate(self.families) if bool(f.stream.query_key) == queries]

    def family_index(self, family: Family) -> int:
        return self._index[family.group_key()]

    def state_specs(self) -> dict[str, StateSpec]:
        return {f"{i}.{name}": spec for i, fam in enumerate(self.families)
                for name, spec in fam.states().items()}
