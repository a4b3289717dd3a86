"""The regression finder: slices where a candidate is worse than the baseline, by impact.

A regression is a value of a candidate's diff metric (candidate - baseline) in one slice that
either fails a change threshold (always listed, with the thresholds it failed, so the list
agrees with the gate), or points the worse way for a metric with a better direction
(``higher_is_better``, else the direction of a change threshold on it): beyond its confidence
interval when the change has one (the whole interval is on the worse side), else by its point
value. A change threshold that could not compare (no baseline value in the slice) is listed
too, without a change. Impact is the slice's weighted example count (its ``example_count`` /
``weighted_example_count`` metric, else its number of examples) times the size of the drop;
the list is sorted by impact.

Each record is JSON-ready: ``slice``, ``model``, ``output``, ``sub_key``, ``aggregation``,
``metric``, ``at`` (the threshold of one value of a metric with several, else null),
``weighted``, ``candidate``, ``baseline``, ``change``, ``higher_is_better``, ``examples``,
``impact``, ``lower``/``upper`` (the change's interval, when it has one),
``interval_excludes_zero`` (null without an interval) and ``failed_thresholds`` (each failed
change threshold with its message).
"""
from __future__ import annotations

import dataclasses
import json
import math

from google.protobuf import json_format

from evalbeam.errors import InputError
from evalbeam.io.files import REGRESSIONS_FILE
from evalbeam.keys import MetricKey
from evalbeam.proto import config_pb2
from evalbeam.validate import Checks, applies, bounds_at, change_failures, check, numbers_of


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


def _threshold_json(threshold, message) -> dict:
    ct = json_format.MessageToDict(threshold.proto.change_threshold,
                                   preserving_proto_field_name=True)
    return {"change_threshold": ct, "message": message}


class Finder:
    """Regressions of one slice at a time (``finder(slice key, count, metrics, intervals)``)."""

    def __init__(self, eval_plan):
        self.better = directions(eval_plan)
        self.changes = [t for t in eval_plan.thresholds
                        if t.is_change and t.cross_specs is None]
        self.checks = Checks.of(eval_plan)

    def __call__(self, slice_key, count, metrics: dict, intervals: dict) -> list:
        failed, out = {}, []  # failed: (diff key, index) -> [(threshold, message)]
        for t in self.changes:
            if not applies(t, slice_key):
                continue
            message, value, base = check(t, slice_key, metrics, intervals, self.checks)
            if message is None:
                continue
            if value is None or base is None or numbers_of(value) is None:  # nothing to compare
                out += self._uncompared(slice_key, count, metrics, t, message)
                continue
            for f in change_failures(t, metrics, intervals, self.checks):
                failed.setdefault((t.key, f.index), []).append((t, f.message + "."))
        for key, change in metrics.items():
            if key.is_diff:
                out += self._drops(slice_key, count, metrics, intervals, key, change, failed)
        return out

    def _record(self, slice_key, count, metrics, key, index, candidate, baseline, change,
                higher, fails) -> dict:
        weight = _weight(metrics, key, count)
        worse = None if change is None or higher is None else (-change if higher else change)
        names = self.checks.labels.get(dataclasses.replace(key, is_diff=False))
        return {
            "slice": [[c, v] for c, v in slice_key], "model": key.model_name,
            "output": key.output_name, "sub_key": str(key.sub_key or ""),
            "aggregation": key.aggregation_type or "", "metric": key.name,
            "at": None if index is None else (names[index] if names else str(index)),
            "weighted": key.example_weighted, "candidate": candidate, "baseline": baseline,
            "change": change, "higher_is_better": higher, "examples": weight,
            "impact": None if weight is None or worse is None else weight * worse,
            "interval_excludes_zero": None,
            "failed_thresholds": [_threshold_json(t, m) for t, m in fails],
        }

    def _drops(self, slice_key, count, metrics, intervals, key, change, failed) -> list:
        elements = numbers_of(change)
        if elements is None:
            return []
        candidate = numbers_of(metrics.get(dataclasses.replace(key, is_diff=False)))
        given = intervals.get(key)
        out = []
        for i, (index, d) in enumerate(elements):
            bounds = bounds_at(given, index)
            fails = failed.get((key, index), [])
            higher = self.better.get(key.name)
            if higher is None and fails:
                higher = fails[0][0].proto.change_threshold.direction == config_pb2.HIGHER_IS_BETTER
            if higher is None:
                continue
            significant = None
            if bounds is not None:
                significant = bool(bounds[1] < 0 if higher else bounds[0] > 0)
            worse = -d if higher else d
            if not fails and not (worse > 0 and significant is not False):
                continue
            value = candidate[i][1] if candidate and i < len(candidate) else None
            record = self._record(slice_key, count, metrics, key, index, value,
                                  None if value is None else value - d, d, higher, fails)
            if bounds is not None:
                record["lower"], record["upper"] = bounds[0], bounds[1]
                record["interval_excludes_zero"] = bool(bounds[0] > 0 or bounds[1] < 0)
            out.append(record)
        return out

    def _uncompared(self, slice_key, count, metrics, threshold, message) -> list:
        """Records of a change threshold that found no baseline value to compare with."""
        own = numbers_of(metrics.get(dataclasses.replace(threshold.key, is_diff=False))) or [
            (None, None)]
        higher = threshold.proto.change_threshold.direction == config_pb2.HIGHER_IS_BETTER
        return [self._record(slice_key, count, metrics, threshold.key, index, value, None, None,
                             self.better.get(threshold.key.name, higher), [(threshold, message)])
                for index, value in own]


def find(slices, eval_plan) -> list:
    """Regressions in ``slices``: iterable of (slice key, example count or None, metrics,
    intervals). Returns JSON-ready records sorted by impact (largest first)."""
    finder = Finder(eval_plan)
    return rank([r for s in slices for r in finder(*s)])


def _known(value) -> bool:
    return value is not None and not math.isnan(value)


def rank(records: list) -> list:
    """Largest impact first (records without an impact last, by the size of the change)."""
    def order(r):
        impact, change = r["impact"], r["change"]
        return (not _known(impact), -impact if _known(impact) else 0.0,
                -abs(change) if _known(change) else 0.0)
    return sorted(records, key=order)


def from_result(result) -> list:
    """Regressions of a finished result (its ``regressions.json`` when the run wrote one)."""
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(result.output_dir, REGRESSIONS_FILE)
    if FileSystems.exists(path):
        with FileSystems.open(path) as f:
            return json.loads(f.read().decode())
    from evalbeam.config import resolve_config

    plan = resolve_config(result.config)
    if plan.baseline is None:
        raise InputError(f"{result.output_dir}: no model is the baseline (is_baseline), so there "
                         "is nothing to compare the candidate with")
    return find(((k, None, m, result.intervals.get(k, {})) for k, m in result.metrics.items()),
                plan)
