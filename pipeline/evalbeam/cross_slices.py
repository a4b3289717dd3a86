"""Cross-slice metrics: the gap ``baseline slice value - comparison slice value`` of every
metric two slices share, for each pair of slices a cross-slicing spec names (TFMA's
``cross_slicing_specs``, and those of cross-slice thresholds).

A cross-slicing spec pairs each slice of its ``baseline_spec`` with each slice of its
``slicing_specs`` (or, if it lists none, with every slice the baseline spec does not produce).
The gaps are written as TFMA writes them: ``MetricsForSlice`` records with a
``cross_slice_key``, in a shard of their own after the slicing specs' shards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalbeam.io.convert import metric_key_proto, metric_value_proto, slice_key_proto
from evalbeam.keys import MetricKey, slice_name
from evalbeam.proto import config_pb2, metrics_for_slice_pb2


def spec_generates(spec, slice_key) -> bool:
    """Whether ``slice_key`` is one of the slices ``spec`` produces."""
    columns = [c for c, _ in slice_key]
    if sorted(columns) != sorted(spec.columns):
        return False
    values = dict(slice_key)
    return all(values[c] == v for c, v in spec.feature_values)


def spec_proto(spec) -> config_pb2.SlicingSpec:
    proto = config_pb2.SlicingSpec(feature_keys=list(spec.feature_keys))
    for column, value in spec.feature_values:
        proto.feature_values[column] = str(value)
    return proto


def cross_specs(eval_plan) -> list:
    """The cross-slicing specs of the config and of its cross-slice thresholds, each once."""
    specs = list(eval_plan.cross_specs)
    for threshold in eval_plan.thresholds:
        specs += threshold.cross_specs or []
    return list(dict.fromkeys(specs))


def involves(specs, slice_key) -> bool:
    """Whether a slice is on either side of some pair of the cross-slicing ``specs``."""
    for cross in specs:
        if spec_generates(cross.baseline, slice_key) or not cross.comparisons or any(
                spec_generates(s, slice_key) for s in cross.comparisons):
            return True
    return False


def _numbers(value):
    if isinstance(value, float):
        return value
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number):
        return value
    return None


def gaps(baseline: dict, comparison: dict) -> dict:
    """``{MetricKey: baseline value - comparison value}`` of the numbers both slices have."""
    out = {}
    for key, value in baseline.items():
        x, y = _numbers(value), _numbers(comparison.get(key))
        if x is None or y is None or np.shape(x) != np.shape(y):
            continue
        out[key] = x - y
    return out


@dataclass
class CrossResults:
    """The pairs of each cross-slicing spec and the gaps of every pair."""

    by_spec: dict = field(default_factory=dict)  # cross-slicing spec -> [(baseline, comparison)]
    gaps: dict = field(default_factory=dict)  # (baseline key, comparison key) -> {key: gap}

    def pairs(self, cross) -> list:
        return self.by_spec.get(cross, [])


def compute(eval_plan, results) -> CrossResults:
    """The gaps between the slices of ``results`` (SliceResults) that the plan's cross-slicing
    specs pair, in the order of the specs, then of the results."""
    out = CrossResults()
    for cross in cross_specs(eval_plan):
        base = [r for r in results if spec_generates(cross.baseline, r.slice_key)]
        if cross.comparisons:
            others = [r for r in results
                      if any(spec_generates(s, r.slice_key) for s in cross.comparisons)]
        else:
            others = [r for r in results if not spec_generates(cross.baseline, r.slice_key)]
        pairs = []
        for b in base:
            for c in others:
                if b.slice_key == c.slice_key:
                    continue
                pair = (b.slice_key, c.slice_key)
                pairs.append(pair)
                if pair not in out.gaps:
                    out.gaps[pair] = gaps(b.metrics, c.metrics)
        out.by_spec[cross] = pairs
    return out


def records(cross: CrossResults):
    """The serialized ``MetricsForSlice`` of each pair (TFMA's ``cross_slice_key``)."""
    for (b, c), values in cross.gaps.items():
        proto = metrics_for_slice_pb2.MetricsForSlice()
        proto.cross_slice_key.baseline_slice_key.CopyFrom(slice_key_proto(b))
        proto.cross_slice_key.comparison_slice_key.CopyFrom(slice_key_proto(c))
        for key in sorted(values, key=MetricKey.sort_key):
            kv = proto.metric_keys_and_values.add()
            kv.key.CopyFrom(metric_key_proto(key))
            kv.value.CopyFrom(metric_value_proto(values[key]))
        yield proto.SerializeToString()


def print_cross_slices(result, out, limit: int = 20) -> None:
    """``show``'s section: one line per pair of slices with its gaps (at most ``limit``)."""
    found = result.cross_slice_metrics
    if not found:
        return
    print(f"\ncross-slice gaps (baseline slice - comparison slice), {len(found)} pair(s):",
          file=out)
    for (b, c), values in list(found.items())[:limit]:
        cells = []
        for key in sorted(values, key=MetricKey.sort_key):
            value = values[key]
            label = "/".join(p for p in (key.qualifier(), key.name + "_diff" * key.is_diff) if p)
            label += "" if key.example_weighted else " (unweighted)"
            shown = (f"{value:.4g}" if isinstance(value, float)
                     else "[" + ", ".join(f"{v:.4g}" for v in np.ravel(value)) + "]")
            cells.append(f"{label} {shown}")
        print(f"  {slice_name(b)} - {slice_name(c)}: " + ", ".join(cells), file=out)
    if len(found) > limit:
        print(f"  ... and {len(found) - limit} more (EvalResult.cross_slice_metrics in Python)",
              file=out)
