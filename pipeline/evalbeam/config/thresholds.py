"""Thresholds: the value and change thresholds of a metric config or a metrics_spec, per slice
and across slices, checked against what the metric gives and whether a baseline is configured."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from evalbeam.errors import ConfigError
from evalbeam.keys import MetricKey
from evalbeam.proto import config_pb2
from evalbeam.slicing import SliceSpec, resolve_slice_spec


@dataclass
class Threshold:
    """One check of one metric key, for every slice or for the slices of given specs.

    A value threshold checks ``key``'s value against ``lower``/``upper``. A change threshold
    checks ``key``, the diff metric (candidate - baseline), against the baseline's value of
    ``baseline_key`` (TFMA's GenericChangeThreshold).
    """

    key: MetricKey
    proto: config_pb2.MetricThreshold
    slice_specs: list | None = None  # None: every slice
    baseline_key: MetricKey | None = None  # set for change thresholds
    cross_specs: list | None = None  # set for cross-slice thresholds: [CrossSliceSpec]

    @property
    def is_change(self) -> bool:
        return self.baseline_key is not None

    @property
    def lower(self) -> float:
        vt = self.proto.value_threshold
        return vt.lower_bound.value if vt.HasField("lower_bound") else -math.inf

    @property
    def upper(self) -> float:
        vt = self.proto.value_threshold
        return vt.upper_bound.value if vt.HasField("upper_bound") else math.inf


@dataclass(frozen=True)
class CrossSliceSpec:
    """Pairs of slices to compare: each slice of ``baseline`` with each slice of the
    ``comparisons`` (or, if none are given, with every slice ``baseline`` does not produce)."""

    baseline: SliceSpec
    comparisons: tuple = ()


def resolve_cross_slice_spec(proto, where) -> CrossSliceSpec:
    if not proto.HasField("baseline_spec"):
        raise ConfigError(f"{where}: a cross_slicing_spec needs a baseline_spec")
    return CrossSliceSpec(resolve_slice_spec(proto.baseline_spec),
                          tuple(resolve_slice_spec(s) for s in proto.slicing_specs))


def metrics_spec_thresholds(spec, spec_metrics, baseline, where_spec) -> list:
    """The metrics_spec's threshold maps (keyed by metric name): every weighting of the name."""
    out = []
    for kind in ("thresholds", "per_slice_thresholds", "cross_slice_thresholds"):
        for metric_name, value in getattr(spec, kind).items():
            matching = [m for m in spec_metrics if m.name == metric_name]
            if not matching:
                raise ConfigError(f"{where_spec}.{kind}: no metric named {metric_name!r} in "
                                  "this metrics_spec")
            for metric in matching:
                out += _map_thresholds(kind, metric, value, baseline, where_spec)
    return out


def _map_thresholds(kind, metric, value, baseline, where) -> list:
    """The checks one entry of the metrics_spec's threshold map ``kind`` asks of ``metric``."""
    if kind == "thresholds":
        return _thresholds_for(metric, value, None, baseline, where)
    if kind == "per_slice_thresholds":
        return _per_slice_thresholds(metric, value.thresholds, baseline, where)
    return [t for cst in value.thresholds for t in _cross_thresholds(metric, cst, baseline, where)]


def metric_config_thresholds(mc, metric, baseline, where) -> list:
    """The checks a metric config's own thresholds ask of ``metric``."""
    out = []
    if mc.HasField("threshold"):
        out += _thresholds_for(metric, mc.threshold, None, baseline, where)
    out += _per_slice_thresholds(metric, mc.per_slice_thresholds, baseline, where)
    for cst in mc.cross_slice_thresholds:
        out += _cross_thresholds(metric, cst, baseline, where)
    return out


def _per_slice_thresholds(metric, per_slice_thresholds, baseline, where) -> list:
    """Thresholds checked on the slices of given slicing specs only."""
    out = []
    for pst in per_slice_thresholds:
        specs = [resolve_slice_spec(s) for s in pst.slicing_specs]
        out += _thresholds_for(metric, pst.threshold, specs, baseline, where)
    return out


def _cross_thresholds(metric, cst, baseline, where) -> list:
    """A value threshold on (baseline slice value - comparison slice value)."""
    if cst.threshold.HasField("change_threshold"):
        raise ConfigError(f"{where}: cross_slice_thresholds take a value_threshold on the gap "
                          "between slices; change thresholds there are not supported")
    if not cst.cross_slicing_specs:
        raise ConfigError(f"{where}: a cross_slice_threshold needs cross_slicing_specs")
    crosses = [resolve_cross_slice_spec(c, where) for c in cst.cross_slicing_specs]
    out = _thresholds_for(metric, cst.threshold, None, baseline, where)
    return [dataclasses.replace(t, cross_specs=crosses) for t in out]


def _thresholds_for(metric, threshold, slice_specs, baseline, where) -> list:
    """The checks ``threshold`` asks of ``metric`` (none for the baseline model's metrics)."""
    if not (threshold.HasField("value_threshold") or threshold.HasField("change_threshold")):
        return []
    if metric.info.plot:
        raise ConfigError(f"{where}: a threshold on a plot ({metric.name}) cannot be checked")
    names = sorted({k.name for k in metric.keys()})
    if len(names) > 1:  # one value per k (sub keys) is fine: each is checked
        raise ConfigError(f"{where}: {metric.name} gives several values ({', '.join(names)}); "
                          "put the threshold on a metric that gives one")
    if baseline is not None and metric.stream.model == baseline:
        return []  # the baseline's own values are not checked (TFMA)
    out = []
    if threshold.HasField("value_threshold"):
        vt = threshold.value_threshold
        if vt.HasField("lower_bound") and vt.HasField("upper_bound") and \
                vt.lower_bound.value > vt.upper_bound.value:
            raise ConfigError(f"{where}: value_threshold lower_bound {vt.lower_bound.value} is "
                              f"above upper_bound {vt.upper_bound.value}")
        value_only = config_pb2.MetricThreshold(value_threshold=vt)
        out += [Threshold(key, value_only, slice_specs) for key in metric.keys()]
    if threshold.HasField("change_threshold"):
        ct = threshold.change_threshold
        if metric.key.is_diff:
            raise ConfigError(f"{where}: {metric.name} already compares the candidate with the "
                              "baseline; give it a value_threshold, not a change_threshold")
        if baseline is None:
            raise ConfigError(f"{where}: change_threshold compares with a baseline, but no model "
                              "spec has is_baseline: true")
        if ct.direction == config_pb2.UNKNOWN:
            raise ConfigError(f"{where}: change_threshold needs direction HIGHER_IS_BETTER or "
                              "LOWER_IS_BETTER")
        if not (ct.HasField("absolute") or ct.HasField("relative")):
            raise ConfigError(f"{where}: change_threshold needs absolute and/or relative")
        change_only = config_pb2.MetricThreshold(change_threshold=ct)
        out += [Threshold(dataclasses.replace(key, is_diff=True), change_only, slice_specs,
                          dataclasses.replace(key, model_name=baseline)) for key in metric.keys()]
    return out


def check_change_baselines(thresholds: list, computed: set, baseline) -> None:
    """Every change threshold compares with a value the baseline computes."""
    for t in thresholds:
        if t.is_change and t.baseline_key not in computed:
            raise ConfigError(f"change_threshold on {t.key.name} of model {t.key.model_name!r}: "
                              f"the baseline {baseline!r} does not compute {t.key.name} (list it "
                              "in that metrics_spec's model_names)")
