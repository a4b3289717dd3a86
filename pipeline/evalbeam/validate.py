"""Thresholds -> ValidationResult (TFMA's message and rules).

A value threshold passes iff ``lower_bound <= value <= upper_bound`` (unset bounds are open).
A change threshold compares a candidate model with the baseline through the diff metric
``candidate - baseline``: HIGHER_IS_BETTER passes iff ``diff >= absolute`` and
``diff / baseline >= relative`` (each when set), LOWER_IS_BETTER with ``<=``; a relative
change against a baseline of 0 fails. NaN fails every check. With confidence intervals and
``require_significance`` (our addition), a change fails only when its whole interval is past
the bound. A cross-slice threshold is a
value threshold on ``baseline-slice value - comparison-slice value`` for every pair its
cross-slicing specs name (a fairness gate: "no country more than 0.05 AUC below overall"). A threshold without slicing specs applies to every slice; one with slicing specs
applies to the slices those specs generate. A metric missing in a slice it applies to is a
failure ("Metric not found."); a per-slice threshold whose specs matched no slice is reported
in ``missing_slices``. Slices omitted by ``min_slice_size`` are not checked and are listed in
``omitted_slices``. With no thresholds at all, ``missing_thresholds`` is set and
``validation_ok`` is false, as in TFMA (nothing was checked, so nothing is blessed).
"""
from __future__ import annotations

import math

from evalbeam.io.convert import metric_key_proto, metric_value_proto, slice_key_proto
from evalbeam.keys import slice_key_str
from evalbeam.proto import config_pb2, validation_result_pb2

ValidationResult = validation_result_pb2.ValidationResult


def spec_generates(spec, slice_key) -> bool:
    """Whether ``slice_key`` is one of the slices ``spec`` produces."""
    columns = [c for c, _ in slice_key]
    if sorted(columns) != sorted(spec.columns):
        return False
    values = dict(slice_key)
    return all(values[c] == v for c, v in spec.feature_values)


def _value_failure(threshold, value):
    name = threshold.key.name
    if not isinstance(value, float):
        return f"{name} is not a single number; value thresholds need one."
    if math.isnan(value):
        return f"{name} is NaN; expected a value in [{threshold.lower}, {threshold.upper}]."
    if value < threshold.lower:
        return f"{name} = {value:.6g} is below the lower bound {threshold.lower:g}."
    if value > threshold.upper:
        return f"{name} = {value:.6g} is above the upper bound {threshold.upper:g}."
    return None


def _change_failure(threshold, diff, base, bounds):
    """Why the change ``diff`` from ``base`` fails, or None. With ``require_significance`` and
    an interval ``bounds`` of the change, the bound of the interval most in the candidate's
    favour is checked instead of the point value."""
    ct = threshold.proto.change_threshold
    higher = ct.direction == config_pb2.HIGHER_IS_BETTER
    rule = ">=" if higher else "<="
    checked = diff
    if ct.require_significance and bounds is not None:
        checked = max(bounds) if higher else min(bounds)
    problems = []
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
    if not problems:
        return None
    interval = (f", interval [{bounds[0]:+.6g}, {bounds[1]:+.6g}]"
                if ct.require_significance and bounds is not None else "")
    return (f"{threshold.key.name} = {base + diff:.6g} vs baseline {base:.6g} (change "
            f"{diff:+.6g}{interval}): " + "; ".join(problems) + ".")


def _failure(threshold, result):
    """``(message or None, observed value, baseline value)`` of one threshold in one slice."""
    value = result.metrics.get(threshold.key)
    base = result.metrics.get(threshold.baseline_key) if threshold.is_change else None
    if value is None or (threshold.is_change and base is None):
        return "Metric not found.", value, base
    if threshold.is_change:
        bounds = result.intervals.get(threshold.key)
        return _change_failure(threshold, value, base, bounds and bounds[:2]), value, base
    return _value_failure(threshold, value), value, None


def validate(results, omitted, eval_plan) -> ValidationResult:
    """Check every threshold of ``eval_plan`` against ``results`` (SliceResults)."""
    out = ValidationResult()
    thresholds = eval_plan.thresholds
    out.missing_thresholds = not thresholds
    for key in omitted:
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
            message, value, base = _failure(threshold, result)
            if message:
                per_slice.setdefault(result.slice_key, []).append((threshold, value, base, message))
    for key in sorted(per_slice, key=str):
        entry = out.metric_validations_per_slice.add()
        entry.slice_key.CopyFrom(slice_key_proto(key))
        for threshold, value, base, message in per_slice[key]:
            f = entry.failures.add()
            f.metric_key.CopyFrom(metric_key_proto(threshold.key))
            f.metric_threshold.CopyFrom(threshold.proto)
            if value is not None:
                f.metric_value.CopyFrom(metric_value_proto(value))
            if base is not None:
                f.baseline_metric_value.CopyFrom(metric_value_proto(base))
            f.message = message
    _check_cross_slices(results, thresholds, out)
    seen = set()
    for threshold in thresholds:
        for spec in threshold.slice_specs or []:
            if spec not in matched_specs and spec not in seen:
                seen.add(spec)
                out.missing_slices.add().CopyFrom(_spec_proto(spec))
    out.validation_ok = (bool(thresholds) and not out.metric_validations_per_slice and
                         not out.missing_slices and not out.missing_cross_slices)
    return out


def _spec_proto(spec):
    proto = config_pb2.SlicingSpec(feature_keys=list(spec.feature_keys))
    for column, value in spec.feature_values:
        proto.feature_values[column] = str(value)
    return proto


def _cross_pairs(cross, results) -> list:
    """(baseline slice, comparison slice) result pairs of one cross-slicing spec."""
    base = [r for r in results if spec_generates(cross.baseline, r.slice_key)]
    if cross.comparisons:
        others = [r for r in results
                  if any(spec_generates(s, r.slice_key) for s in cross.comparisons)]
    else:
        others = [r for r in results if not spec_generates(cross.baseline, r.slice_key)]
    return [(b, c) for b in base for c in others if b.slice_key != c.slice_key]


def _check_cross_slices(results, thresholds, out) -> None:
    """Cross-slice thresholds: a value threshold on baseline-slice minus comparison-slice."""
    failures, missing = {}, []
    for threshold in thresholds:
        for cross in threshold.cross_specs or []:
            pairs = _cross_pairs(cross, results)
            if not pairs and cross not in missing:
                missing.append(cross)
            for b, c in pairs:
                x, y = b.metrics.get(threshold.key), c.metrics.get(threshold.key)
                gap = None if x is None or y is None else x - y
                message = "Metric not found." if gap is None else _value_failure(threshold, gap)
                if message:
                    message = message.replace(
                        f"{threshold.key.name} ",
                        f"{threshold.key.name} gap ({slice_key_str(b.slice_key)} - "
                        f"{slice_key_str(c.slice_key)}) ", 1)
                    failures.setdefault((b.slice_key, c.slice_key), []).append(
                        (threshold, gap, message))
    for (b, c), items in sorted(failures.items(), key=str):
        entry = out.metric_validations_per_slice.add()
        entry.cross_slice_key.baseline_slice_key.CopyFrom(slice_key_proto(b))
        entry.cross_slice_key.comparison_slice_key.CopyFrom(slice_key_proto(c))
        for threshold, gap, message in items:
            f = entry.failures.add(message=message)
            f.metric_key.CopyFrom(metric_key_proto(threshold.key))
            f.metric_threshold.CopyFrom(threshold.proto)
            if gap is not None:
                f.metric_value.CopyFrom(metric_value_proto(gap))
    for cross in missing:
        proto = out.missing_cross_slices.add()
        proto.baseline_spec.CopyFrom(_spec_proto(cross.baseline))
        for spec in cross.comparisons:
            proto.slicing_specs.add().CopyFrom(_spec_proto(spec))
