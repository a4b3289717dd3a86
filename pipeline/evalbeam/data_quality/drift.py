"""Drift of one slice's statistics against the baseline's same-named dataset, as TFDV measures it.

Measures (TFDV's ``anomalies/metrics.cc``):

- **L-infinity distance** (categorical features: strings / bytes, and ints whose statistics
  carry value counts, as TFDV computes for an ``int_domain { is_categorical: true }``): each
  side's rank-histogram counts are divided by their sum; the distance is the largest absolute
  difference over the union of values (a value one side lacks counts 0 there), reported with
  the value where it occurs (the last in sorted order among ties).
- **Jensen-Shannon divergence** (numeric features, over the STANDARD histograms):
  ``(KL(P||M) + KL(Q||M)) / 2`` with ``M = (P + Q) / 2`` and base-2 logarithms, so it lies in
  [0, 1] (capped at 1, as TFDV). It is the square of
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``. Before comparing, TFDV aligns the
  two histograms: buckets with an infinite bound and zero-width (point) buckets are set aside;
  the finite buckets of both are re-bucketed onto the union of their boundaries, a bucket's
  count spread over its new sub-buckets in proportion to their width (uniform within a
  bucket); point masses are added back as one bucket per distinct point value, shared by both;
  the mass of buckets with an infinite bound is added as one bucket, and NaNs (``num_nan``)
  as another, each shared by both sides. (The current TFDV source gives each side's infinite
  mass and NaNs buckets of their own, facing a 0 on the other side, so that two identical
  histograms holding them have a divergence above 0, up to 0.5: a defect not kept; older
  releases shared one NaN bucket.) A side whose aligned counts sum to 0 cannot be normalised:
  no divergence.
  With schema thresholds TFDV also computes it for categorical features, over the value
  counts (same formula): so does :func:`measure`.

Thresholds: a ``drift_thresholds`` entry for the feature (the config) wins; else the schema
feature's ``drift_comparator`` (``infinity_norm`` and / or ``jensen_shannon_divergence``
threshold, each measured); else ``default_drift_threshold``; else the feature's measure is
reported with threshold ``inf`` (never a failure). Config thresholds apply to the feature's
own measure (L-infinity for categorical, Jensen-Shannon for numeric).

Both sides are read by weight when both have weighted statistics (TFDV reads the baseline the
way it reads the current slice; a baseline without weighted statistics would then have no
counts at all), else both unweighted.

A measure the statistics cannot give (an L-infinity threshold on a numeric feature, which has
no value counts; a histogram that is empty) is a :class:`NotMeasured` note, where TFDV reports
an L-infinity distance of 0 for it.

A value above its threshold is a ``COMPARATOR_L_INFTY_HIGH`` /
``COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH`` finding with TFDV's descriptions. A feature with
a threshold that the baseline lacks is TFDV's ``COMPARATOR_CONTROL_DATA_MISSING``; without a
threshold it is a :class:`NotMeasured` note. No distance is ever invented.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from evalbeam.data_quality.anomalies import is_deprecated, schema_index
from evalbeam.data_quality.findings import DRIFT, Finding, six_digits
from evalbeam.data_quality.stats_view import DatasetView, FeatureView, weighted_statistics_exist

A = anomalies_pb2.AnomalyInfo
Measurement = anomalies_pb2.DriftSkewInfo.Measurement
L_INFTY, JSD = "L_INFTY", "JENSEN_SHANNON_DIVERGENCE"
_FNS = statistics_pb2.FeatureNameStatistics


@dataclass(frozen=True)
class NotMeasured:
    feature: str
    reason: str


# -- the measures -----------------------------------------------------------------------------
def linf_distance(counts_a: dict, counts_b: dict) -> tuple:
    """(value, distance): TFDV's L-infinity distance between normalised value counts."""
    keys = sorted(set(counts_a) | set(counts_b))
    if not keys:
        return "", 0.0
    a = np.array([counts_a.get(k, 0.0) for k in keys], dtype=np.float64)
    b = np.array([counts_b.get(k, 0.0) for k in keys], dtype=np.float64)
    # shares; counts summing to 0 stay as they are (TFDV's Normalize)
    pa = a / a.sum() if a.sum() != 0 else a
    pb = b / b.sum() if b.sum() != 0 else b
    diff = np.abs(pa - pb)
    last = len(keys) - 1 - int(np.argmax(diff[::-1]))  # the last maximum, as TFDV's `>=`
    return keys[last], float(diff[last])


def _divergence(p: np.ndarray, q: np.ndarray) -> float:
    """TFDV's JS divergence of two count vectors over the same buckets (base 2, capped at 1)."""
    tp, tq = p.sum(), q.sum()
    if tp == 0 or tq == 0:
        raise ValueError("Unable to normalize an empty histogram")
    p, q = p / tp, q / tq
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(min((kl_p + kl_q) / 2, 1.0))


def align_histograms(h1: statistics_pb2.Histogram, h2: statistics_pb2.Histogram) -> tuple:
    """(counts of h1, counts of h2) over common buckets, as TFDV's AlignHistograms."""
    parts = [_strip(h) for h in (h1, h2)]
    bounds = sorted({x for regular, _, _ in parts for lo, hi, _ in regular for x in (lo, hi)})
    aligned = [_rebucket(regular, bounds) for regular, _, _ in parts]
    points = sorted(set(parts[0][1]) | set(parts[1][1]))
    out = [list(a) + [p.get(x, 0.0) for x in points] for a, (_, p, _) in zip(aligned, parts)]
    inf1, inf2 = parts[0][2], parts[1][2]
    if inf1 != 0 or inf2 != 0:  # one bucket of both sides (TFDV: one per side)
        out[0].append(inf1), out[1].append(inf2)
    if h1.num_nan > 0 or h2.num_nan > 0:  # likewise
        out[0].append(float(h1.num_nan)), out[1].append(float(h2.num_nan))
    return np.array(out[0], dtype=np.float64), np.array(out[1], dtype=np.float64)


def _strip(h):
    regular, points, infinite = [], {}, 0.0
    for b in h.buckets:
        if not (math.isfinite(b.low_value) and math.isfinite(b.high_value)):
            infinite += b.sample_count
        elif b.low_value == b.high_value:
            points[b.low_value] = points.get(b.low_value, 0.0) + b.sample_count
        else:
            regular.append((b.low_value, b.high_value, b.sample_count))
    return sorted(regular), points, infinite


def _rebucket(regular, bounds) -> np.ndarray:
    edges = np.asarray(bounds, dtype=np.float64)
    out = np.zeros(max(len(edges) - 1, 0))
    for lo, hi, count in regular:
        i, j = np.searchsorted(edges, lo), np.searchsorted(edges, hi)
        out[i:j] += count * np.diff(edges[i:j + 1]) / (hi - lo)
    return out


def jensen_shannon_divergence(h1: statistics_pb2.Histogram, h2: statistics_pb2.Histogram) -> float:
    """TFDV's approximate Jensen-Shannon divergence of two histograms (see the module doc)."""
    if h1.type != h2.type:
        raise ValueError("Input histograms must have same type.")
    return _divergence(*align_histograms(h1, h2))


def jensen_shannon_divergence_counts(counts_a: dict, counts_b: dict) -> float:
    """TFDV's Jensen-Shannon divergence of two value-count maps (base 2, capped at 1)."""
    if not counts_a or not counts_b:
        raise ValueError("Input maps must not be empty.")
    if min(counts_a.values()) <= 0 or min(counts_b.values()) <= 0:
        raise ValueError("Sample count is a non-positive value.")
    keys = sorted(set(counts_a) | set(counts_b))
    return _divergence(np.array([counts_a.get(k, 0.0) for k in keys], dtype=np.float64),
                       np.array([counts_b.get(k, 0.0) for k in keys], dtype=np.float64))


def measure(kind: str, current: FeatureView, baseline: FeatureView) -> tuple:
    """(value, where): the measure ``kind`` between two features; ValueError if it has none.
    ``where`` is the value with the largest difference (L-infinity) or ""."""
    if kind == L_INFTY:
        a, b = current.value_counts(), baseline.value_counts()
        if not a and not b:
            raise ValueError("the statistics hold no value counts")
        where, value = linf_distance(a, b)
        return value, where
    a, b = current.value_counts(), baseline.value_counts()
    if a and b:
        return jensen_shannon_divergence_counts(a, b), ""
    ha, hb = current.standard_histogram(), baseline.standard_histogram()
    if ha is None or hb is None:
        raise ValueError("the statistics hold no standard histogram")
    return jensen_shannon_divergence(ha, hb), ""


# -- thresholds and findings ------------------------------------------------------------------
def feature_measure(feature: FeatureView, spec) -> str | None:
    """L_INFTY for categorical features, JENSEN_SHANNON_DIVERGENCE for numeric ones, None when
    the statistics allow neither."""
    if feature.type in (_FNS.STRING, _FNS.BYTES):
        return L_INFTY
    if feature.type == _FNS.INT and (feature.data.HasField("string_stats") or (
            spec is not None and spec.int_domain.is_categorical)):
        return L_INFTY
    if feature.type in (_FNS.INT, _FNS.FLOAT):
        return JSD
    return None


def thresholds(feature: FeatureView, spec, drift_thresholds, default) -> dict:
    """{measure: threshold or None} for one feature, by the precedence in the module doc."""
    own = feature_measure(feature, spec)
    if feature.path in drift_thresholds:
        return {own: float(drift_thresholds[feature.path])} if own else {}
    if spec is not None and spec.HasField("drift_comparator"):
        comparator = spec.drift_comparator
        from_schema = {}
        if comparator.infinity_norm.HasField("threshold"):
            from_schema[L_INFTY] = comparator.infinity_norm.threshold
        if comparator.jensen_shannon_divergence.HasField("threshold"):
            from_schema[JSD] = comparator.jensen_shannon_divergence.threshold
        if from_schema:
            return from_schema
    if own is None:
        return {}
    return {own: None if default is None else float(default)}


def check_threshold(name: str, value) -> float:
    """A drift threshold as a float; ValueError naming it unless finite and >= 0."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"drift threshold {name}: expected a number, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"drift threshold {name}: expected a finite number >= 0, got {value!r}")
    return x


def drift(statistics, baseline: statistics_pb2.DatasetFeatureStatistics,
          schema: schema_pb2.Schema | None = None, drift_thresholds=None,
          default_threshold: float | None = None) -> tuple:
    """(DriftSkewInfo list, findings, NotMeasured notes) of every feature of one slice's
    ``statistics`` (a DatasetFeatureStatistics or its DatasetView) against ``baseline``, the
    baseline's dataset for the same slice; thresholds as in the module doc."""
    view = statistics if isinstance(statistics, DatasetView) else DatasetView(statistics)
    drift_thresholds = drift_thresholds or {}
    by_weight = view.by_weight and weighted_statistics_exist(baseline)
    current = view if by_weight == view.by_weight else DatasetView(view.data, by_weight)
    control = DatasetView(baseline, by_weight)
    index = schema_index(schema) if schema is not None else {}
    infos, findings, notes = [], [], []
    for feature in current.features():
        spec = index.get(feature.path)
        if spec is not None and is_deprecated(spec):
            continue
        wanted = thresholds(feature, spec, drift_thresholds, default_threshold)
        if not wanted:
            notes.append(NotMeasured(feature.path, f"{feature.type_name} statistics have no "
                                                   "drift measure"))
            continue
        other = control.get(feature.path)
        if other is None:
            limit = [t for t in wanted.values() if t is not None]
            if limit:
                findings.append(Finding(
                    feature.path, A.COMPARATOR_CONTROL_DATA_MISSING, "previous data missing",
                    "previous data is missing.",
                    f"{feature.path}: not in the baseline's statistics, so its drift cannot "
                    f"be measured (threshold {six_digits(min(limit))})", 0.0, min(limit)))
            else:
                notes.append(NotMeasured(feature.path, "not in the baseline's statistics"))
            continue
        info = anomalies_pb2.DriftSkewInfo()
        info.path.step.extend(feature.path.split("."))
        for kind, limit in wanted.items():
            try:
                value, where = measure(kind, feature, other)
            except ValueError as e:
                notes.append(NotMeasured(feature.path, f"{kind}: {e}"))
                continue
            info.drift_measurements.add(type=Measurement.Type.Value(kind), value=value,
                                        threshold=math.inf if limit is None else limit)
            if limit is not None and value > limit:
                findings.append(_drift_finding(feature.path, kind, value, limit, where))
        if info.drift_measurements:
            infos.append(info)
    return infos, findings, notes


def _drift_finding(path, kind, value, limit, where) -> Finding:
    if kind == L_INFTY:
        return Finding(path, A.COMPARATOR_L_INFTY_HIGH,
                       "High Linfty distance between current and previous",
                       f"The Linfty distance between current and previous is "
                       f"{six_digits(value)} (up to six significant digits), above the "
                       f"threshold {six_digits(limit)}. The feature value with maximum "
                       f"difference is: {where}",
                       f"{path}: L-infinity distance {six_digits(value)} from the baseline "
                       f"(largest change in the share of {where!r}), above the threshold "
                       f"{six_digits(limit)}", value, limit, kind=DRIFT, measure=L_INFTY)
    return Finding(path, A.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
                   "High approximate Jensen-Shannon divergence between current and previous",
                   f"The approximate Jensen-Shannon divergence between current and previous is "
                   f"{six_digits(value)} (up to six significant digits), above the threshold "
                   f"{six_digits(limit)}.",
                   f"{path}: Jensen-Shannon divergence {six_digits(value)} from the baseline's "
                   f"distribution, above the threshold {six_digits(limit)}", value, limit,
                   kind=DRIFT, measure=JSD)
