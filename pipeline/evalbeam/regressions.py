"""The regression finder: slices where a candidate is worse than the baseline, by impact.

A regression is a slice and a metric with a better direction (``higher_is_better``) whose diff
(candidate - baseline) points the worse way, beyond its confidence interval when intervals
were computed (the whole interval is on the worse side), else by its point value. Impact is
the slice's weighted example count (its ``example_count`` / ``weighted_example_count`` metric,
else its number of examples) times the size of the drop; the list is sorted by impact.
"""
from __future__ import annotations

import dataclasses
import json
import math

from evalbeam.io.artifacts import REGRESSIONS_FILE
from evalbeam.keys import MetricKey


def directions(eval_plan) -> dict:
    """Metric name -> higher is better (True/False) for metrics that have a direction."""
    return {m.name: m.info.higher_is_better for m in eval_plan.metrics
            if m.info.higher_is_better is not None}


def _weight(metrics: dict, key: MetricKey, count):
    for name in ("weighted_example_count", "example_count"):
        for weighted in (True, False):
            k = MetricKey(name, key.model_name, key.output_name, None, weighted)
            if isinstance(metrics.get(k), float):
                return metrics[k]
    return count


def find(slices, higher_is_better: dict, with_intervals: bool) -> list:
    """Regressions in ``slices``: iterable of (slice key, example count or None, metrics,
    intervals). Returns JSON-ready records sorted by impact (largest first)."""
    out = []
    for slice_key, count, metrics, intervals in slices:
        for key, change in metrics.items():
            if not key.is_diff or key.name not in higher_is_better:
                continue
            if not isinstance(change, float) or math.isnan(change):
                continue
            worse = -change if higher_is_better[key.name] else change  # > 0: a drop
            bounds = intervals.get(key)
            if with_intervals:
                if bounds is None:
                    continue
                lower, upper = bounds[:2]
                if not (upper < 0 if higher_is_better[key.name] else lower > 0):
                    continue
            elif worse <= 0:
                continue
            candidate = metrics.get(dataclasses.replace(key, is_diff=False))
            weight = _weight(metrics, key, count)
            record = {
                "slice": [[c, v] for c, v in slice_key], "model": key.model_name,
                "output": key.output_name, "sub_key": str(key.sub_key or ""),
                "aggregation": key.aggregation_type or "", "metric": key.name,
                "weighted": key.example_weighted, "candidate": candidate,
                "baseline": None if candidate is None else candidate - change,
                "change": change, "higher_is_better": higher_is_better[key.name],
                "examples": weight,
                "impact": None if weight is None else weight * worse,
            }
            if bounds is not None:
                record["lower"], record["upper"] = bounds[0], bounds[1]
            out.append(record)
    return rank(out)


def rank(records: list) -> list:
    """Largest impact first (records without an impact last, by the size of the change)."""
    return sorted(records, key=lambda r: (r["impact"] is None, -(r["impact"] or 0.0),
                                          -abs(r["change"])))


def from_result(result) -> list:
    """Regressions of a finished result (its ``regressions.json`` when the run wrote one)."""
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(result.output_dir, REGRESSIONS_FILE)
    if FileSystems.exists(path):
        with FileSystems.open(path) as f:
            return json.loads(f.read().decode())
    from evalbeam.config import resolve
    from evalbeam.errors import InputError

    plan = resolve(result.config)
    if plan.baseline is None:
        raise InputError(f"{result.output_dir}: no model is the baseline (is_baseline), so there "
                         "is nothing to compare the candidate with")
    return find(((k, None, m, result.intervals.get(k, {})) for k, m in result.metrics.items()),
                directions(plan), bool(result.intervals))
