"""Thresholds -> ValidationResult (TFMA's message and rules).

A value threshold passes iff ``lower_bound <= value <= upper_bound`` (unset bounds are open).
A change threshold compares a candidate model with the baseline through the diff metric
``candidate - baseline``: HIGHER_IS_BETTER passes iff ``diff >= absolute`` and
``diff / baseline >= relative`` (each when set), LOWER_IS_BETTER with ``<=``; a relative
change against a baseline of 0 fails. NaN fails every check. A metric with several values
(``Precision`` at several ``thresholds``) passes when each value does; a failure names the
values that did not (``precision@0.3``). With confidence intervals and
``require_significance`` (our addition), a change fails only when its whole interval is past
the bound; where the change has no interval (intervals off, a baseline read from an earlier
result, which holds no resamples, or an interval that is NaN) the point value decides, and
the failure says so; each value of a metric with several is checked against its own interval.
A cross-slice threshold is a value threshold on ``baseline-slice value - comparison-slice
value`` for every pair its cross-slicing specs name (a fairness gate: "no country more than 0.05 AUC below overall"). A threshold without slicing specs applies to every slice; one with slicing specs
applies to the slices those specs generate. A metric missing in a slice it applies to is a
failure ("Metric not found."); a change threshold in a slice the baseline has no value for
(a baseline result without that slice or metric) fails once, as "no baseline value", with the
candidate's own value. A per-slice threshold whose specs matched no slice is reported
in ``missing_slices``. Slices omitted by ``min_slice_size`` are not checked and are listed in
``omitted_slices``. With no thresholds at all, ``missing_thresholds`` is set and
``validation_ok`` is false, as in TFMA (nothing was checked, so nothing is blessed).

Every failure message names the metric with its model, output, sub key, aggregation and
weighting (:func:`metric_label`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from evalbeam import cross_slices
from evalbeam.io.convert import metric_key_proto, metric_value_proto, slice_key_proto
from evalbeam.keys import slice_name
from evalbeam.values import format_threshold, metric_thresholds
from evalbeam.proto import config_pb2, validation_result_pb2

ValidationResult = validation_result_pb2.ValidationResult

spec_generates = cross_slices.spec_generates  # which slices a threshold's specs name


def describe_metric(name, model="", output="", sub_key="", aggregation="", weighted=False,
                    at=None) -> str:
    """``precision@0.3 (model cand, output o, classId:1, micro_average, weighted)``: a metric's
    name (at one of its thresholds) with everything that tells its values apart."""
    parts = [f"model {model}" if model else "", f"output {output}" if output else "",
             sub_key or "", aggregation or "", "weighted" if weighted else "unweighted"]
    name = name if at is None else f"{name}@{at}"
    return f"{name} ({', '.join(p for p in parts if p)})"


def metric_label(key, at=None) -> str:
    """:func:`describe_metric` of a MetricKey."""
    return describe_metric(key.name, key.model_name, key.output_name, str(key.sub_key or ""),
                           key.aggregation_type or "", key.example_weighted, at)


@dataclass
class Checks:
    """What checking a threshold needs besides a slice's values: the labels of the values of
    metrics with several (their thresholds), and where the baseline's values came from."""

    labels: dict  # candidate MetricKey -> [label of each value] for metrics with several
    baseline_metrics: dict | None = None  # slice -> {key: value}: an earlier result's
    no_interval: str = ""  # why a change has no interval, when none has one

    @classmethod
    def of(cls, eval_plan) -> "Checks":
        labels = {k: [format_threshold(t) for t in ts]
                  for k, ts in metric_thresholds(eval_plan.metrics).items()}
        if eval_plan.baseline_metrics is not None:
            why = ("the baseline comes from an earlier result (baseline_result), which holds no "
                   "resamples of the baseline")
        elif eval_plan.resampling is None:
            why = "confidence intervals are off (options.compute_confidence_intervals)"
        else:
            why = ""
        return cls(labels, eval_plan.baseline_metrics, why)

    def label(self, key, index=None) -> str:
        key = dataclasses.replace(key, is_diff=False)
        if index is None:
            return metric_label(key)
        names = self.labels.get(key)
        return metric_label(key, names[index] if names and index < len(names) else f"[{index}]")

    def has_baseline(self, threshold, slice_key) -> bool:
        if self.baseline_metrics is None:
            return True
        return threshold.baseline_key in self.baseline_metrics.get(slice_key, {})


def applies(threshold, slice_key) -> bool:
    """Whether a (non cross-slice) threshold checks the slice ``slice_key``."""
    return threshold.slice_specs is None or any(
        spec_generates(s, slice_key) for s in threshold.slice_specs)


def numbers_of(value):
    """The numbers of a value: ``[(index or None, number)]`` (None for a single number), or
    None when it holds something else (a matrix, a text)."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return [(None, float(value))]
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number):
        return list(enumerate(value.astype(np.float64).ravel().tolist()))
    return None


def bounds_at(bounds, index):
    """``(lower, upper)`` of one value's interval from a metric's ``bounds`` (``(lower, upper,
    ...)``, numbers, or arrays for a metric with several values; ``index`` as in
    :func:`numbers_of`), or None when that value has none or its interval is NaN."""
    if bounds is None or isinstance(bounds[0], np.ndarray) != (index is not None):
        return None
    lower, upper = (bounds[0], bounds[1]) if index is None else (
        float(bounds[0].ravel()[index]), float(bounds[1].ravel()[index]))
    return None if math.isnan(lower) or math.isnan(upper) else (lower, upper)


def _value_problem(threshold, v) -> str | None:
    if math.isnan(v):
        return f"is NaN; expected a value in [{threshold.lower:g}, {threshold.upper:g}]"
    if v < threshold.lower:
        return f"= {v:.6g} is below the lower bound {threshold.lower:g}"
    if v > threshold.upper:
        return f"= {v:.6g} is above the upper bound {threshold.upper:g}"
    return None


def value_failure(threshold, value, checks: Checks, name=None) -> str | None:
    """Why ``value`` fails a value threshold, or None. ``name(index)`` labels a value (the
    metric's label by default)."""
    name = name or (lambda index: checks.label(threshold.key, index))
    elements = numbers_of(value)
    if elements is None:
        return f"{name(None)} is not a number; value thresholds need numbers."
    problems = [f"{name(i)} {p}" for i, v in elements
                if (p := _value_problem(threshold, v)) is not None]
    return "; ".join(problems) + "." if problems else None


@dataclass
class ChangeFailure:
    """One value of a metric failing a change threshold."""

    index: int | None  # which value of a metric with several (None: the only one)
    message: str


def _change_problems(ct, diff, base, bounds) -> list:
    higher = ct.direction == config_pb2.HIGHER_IS_BETTER
    rule = ">=" if higher else "<="
    checked = diff
    if ct.require_significance and bounds is not None:
        checked = max(bounds) if higher else min(bounds)
    problems = []
    if math.isnan(diff):
        return ["the change is NaN"]
    if ct.HasField("absolute"):
        ok = checked >= ct.absolute.value if higher else checked <= ct.absolute.value
        if not ok:
            problems.append(f"the change must be {rule} {ct.absolute.value:g}")
    if ct.HasField("relative"):
        ratio = checked / base if not math.isclose(base, 0.0, abs_tol=1e-12) else math.nan
        if base < 0 and ct.require_significance and bounds is not None:  # dividing flips order
            ratio = (min(bounds) if higher else max(bounds)) / base
        ok = ratio >= ct.relative.value if higher else ratio <= ct.relative.value
        if not ok:
            problems.append(f"the relative change {ratio:+.4g} must be {rule} "
                            f"{ct.relative.value:g}")
    return problems


def change_failures(threshold, metrics: dict, intervals: dict, checks: Checks) -> list:
    """The values of the threshold's metric in one slice (``metrics``, ``intervals``) that
    fail its change threshold, as :class:`ChangeFailure`. The diff and the baseline's value
    must be there (see :func:`check`)."""
    ct = threshold.proto.change_threshold
    diff = numbers_of(metrics[threshold.key])
    base = numbers_of(metrics[threshold.baseline_key])
    given = intervals.get(threshold.key)
    out = []
    for (index, d), (_, b) in zip(diff, base):
        bounds = bounds_at(given, index)
        problems = _change_problems(ct, d, b, bounds)
        if not problems:
            continue
        interval = ""
        if ct.require_significance and bounds is not None:
            interval = f", interval [{bounds[0]:+.6g}, {bounds[1]:+.6g}]"
        note = ""
        if ct.require_significance and bounds is None:
            why = checks.no_interval or ("the metric has no interval" if given is None else
                                         "its interval is NaN (too few defined resamples)")
            note = (f" (require_significance: no interval of the change, as {why}; the point "
                    "value decided)")
        message = (f"{checks.label(threshold.key, index)} = {b + d:.6g} vs baseline {b:.6g} "
                   f"(change {d:+.6g}{interval}): " + "; ".join(problems) + note)
        out.append(ChangeFailure(index, message))
    return out


def check(threshold, slice_key, metrics: dict, intervals: dict, checks: Checks):
    """``(message or None, observed value, baseline value)`` of one (non cross-slice)
    threshold in one slice."""
    value = metrics.get(threshold.key)
    if not threshold.is_change:
        if value is None:
            return "Metric not found.", None, None
        return value_failure(threshold, value, checks), value, None
    candidate = metrics.get(dataclasses.replace(threshold.key, is_diff=False))
    base = metrics.get(threshold.baseline_key)
    if not checks.has_baseline(threshold, slice_key) or base is None:
        own = "" if candidate is None else f"; the candidate's value is {_show(candidate)}"
        where = ("the baseline result has no such slice"
                 if checks.baseline_metrics is not None and slice_key not in checks.baseline_metrics
                 else f"the baseline has no {threshold.key.name} in this slice")
        return (f"{checks.label(threshold.key)}: no baseline value ({where}){own}.", None, None)
    if value is None:
        return "Metric not found.", None, base
    if numbers_of(value) is None or numbers_of(base) is None:
        return f"{checks.label(threshold.key)} is not a number; change thresholds need numbers.", \
            value, base
    failures = change_failures(threshold, metrics, intervals, checks)
    message = "; ".join(f.message for f in failures) + "." if failures else None
    return message, value, base


def _show(value) -> str:
    elements = numbers_of(value)
    if elements is None:
        return str(value)
    if elements[0][0] is None:
        return f"{elements[0][1]:.6g}"
    return "[" + ", ".join(f"{v:.6g}" for _, v in elements) + "]"


def validate(results, omitted, eval_plan, cross_results=None) -> ValidationResult:
    """Check every threshold of ``eval_plan`` against ``results`` (SliceResults);
    ``cross_results``: the gaps between slices (:func:`evalbeam.cross_slices.compute`)."""
    out = ValidationResult()
    thresholds = eval_plan.thresholds
    checks = Checks.of(eval_plan)
    out.missing_thresholds = not thresholds
    for key in dict.fromkeys(omitted):
        out.omitted_slices.append(slice_key_proto(key))
    per_slice = {}
    matched_specs = {}
    for result in results:
        for threshold in thresholds:
            if threshold.cross_specs is not None:
                continue
            if threshold.slice_specs is not None:
                hits = [s for s in threshold.slice_specs if spec_generates(s, result.slice_key)]
                if not hits:
                    continue
                for s in hits:
                    matched_specs[s] = matched_specs.get(s, 0) + 1
            message, value, base = check(threshold, result.slice_key, result.metrics,
                                         result.intervals, checks)
            if message:
                per_slice.setdefault(result.slice_key, []).append((threshold, value, base, message))
    for key in sorted(per_slice, key=str):
        entry = out.metric_validations_per_slice.add()
        entry.slice_key.CopyFrom(slice_key_proto(key))
        for threshold, value, base, message in per_slice[key]:
            _add_failure(entry, threshold, value, base, message)
    if cross_results is None:
        cross_results = cross_slices.compute(eval_plan, results)
    _check_cross_slices(cross_results, thresholds, checks, out)
    seen = set()
    for threshold in thresholds:
        for spec in threshold.slice_specs or []:
            if spec not in matched_specs and spec not in seen:
                seen.add(spec)
                out.missing_slices.add().CopyFrom(cross_slices.spec_proto(spec))
    out.validation_ok = (bool(thresholds) and not out.metric_validations_per_slice and
                         not out.missing_slices and not out.missing_cross_slices)
    return out


def _add_failure(entry, threshold, value, base, message) -> None:
    f = entry.failures.add(message=message)
    f.metric_key.CopyFrom(metric_key_proto(threshold.key))
    f.metric_threshold.CopyFrom(threshold.proto)
    if value is not None:
        f.metric_value.CopyFrom(metric_value_proto(value))
    if base is not None:
        f.baseline_metric_value.CopyFrom(metric_value_proto(base))


def _check_cross_slices(cross_results, thresholds, checks, out) -> None:
    """Cross-slice thresholds: a value threshold on baseline-slice minus comparison-slice."""
    failures, missing = {}, []
    for threshold in thresholds:
        for cross in threshold.cross_specs or []:
            pairs = cross_results.pairs(cross)
            if not pairs and cross not in missing:
                missing.append(cross)
            for pair in pairs:
                gap = cross_results.gaps[pair].get(threshold.key)
                where = f" gap ({slice_name(pair[0])} - {slice_name(pair[1])})"
                message = "Metric not found." if gap is None else value_failure(
                    threshold, gap, checks, lambda index: checks.label(threshold.key, index) + where)
                if message:
                    failures.setdefault(pair, []).append((threshold, gap, message))
    for (b, c), items in sorted(failures.items(), key=str):
        entry = out.metric_validations_per_slice.add()
        entry.cross_slice_key.baseline_slice_key.CopyFrom(slice_key_proto(b))
        entry.cross_slice_key.comparison_slice_key.CopyFrom(slice_key_proto(c))
        for threshold, gap, message in items:
            _add_failure(entry, threshold, gap, None, message)
    for cross in missing:
        proto = out.missing_cross_slices.add()
        proto.baseline_spec.CopyFrom(cross_slices.spec_proto(cross.baseline))
        for spec in cross.comparisons:
            proto.slicing_specs.add().CopyFrom(cross_slices.spec_proto(spec))
