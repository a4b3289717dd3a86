"""The report's data-quality data: a run's statistics, anomalies, drift and failed checks per
slice, bounded for the page. A run's page data holds it as ``"data_quality"`` (None when the
run wrote no data-quality artifact)::

    {"statistics": bool, "baseline": bool, "anomalies": bool,   # which artifacts the run has
     "limits": {"statistics_slices", "statistics_bytes", "slices", "features", "values",
                "failures"},
     "slices": [{"name", "dataset",
                 "statistics": null | {"num_examples", "weighted_num_examples",
                                       "features": [FEATURE], "features_cut"},
                 "baseline": null | (the same, of the baseline data),
                 "anomalies": null | [{"feature", "severity", "short_description",
                                       "description", "reasons": [...]}],
                 "data_missing", "drift": null | [{"feature", "measure", "value",
                                                  "threshold", "skew", "failed"}],
                 "failures": [FAILURE]}],
     "slices_total", "statistics_cut",   # slices left out: all of them / their statistics
     "failures": [FAILURE], "failures_total"}

``FEATURE`` is :func:`evalbeam.io.data_quality.feature_digest`'s row (``top_values``,
``histogram``, ``quantiles`` cut to ``limits.values`` entries, ``*_cut`` saying how many
were left out) plus ``"other"``: every other field of the feature's statistics (weighted
statistics, rank histogram, custom statistics, ...) as plain JSON, its lists cut likewise.
``FAILURE`` is ``{"slice", "feature", "kind", "measure", "value", "threshold", "message"}``.

What is cut: the statistics of at most ``statistics_slices`` slices taking at most
``statistics_bytes`` of JSON (the first slice's always kept), in this order: Overall, the
slices with failures, then with anomalies, then the largest; anomalies and drift of at most
``slices`` slices in the same order; ``features`` features per slice; ``values`` entries of
any list. The page says what it left out; ``show --json`` holds it all.
"""
from __future__ import annotations

import json

from evalbeam.io.data_quality import (anomaly_rows, by_slice, drift_rows, feature_digest,
                                      not_described, plain)
from evalbeam.keys import slice_name

STATISTICS_SLICES = 40  # slices whose statistics the page carries
STATISTICS_BYTES = 800_000  # and at most this much of their JSON (beyond the first slice's)
SLICES = 2000  # slices whose anomalies and drift the page carries
FEATURES = 300  # features per slice
VALUES = 50  # entries of any list (top values, histogram buckets, rank histogram)
FAILURES = 5000

# the feature's fields the digest shows (the rest is "other")
_SHOWN_NUM = {"mean", "std_dev", "num_zeros", "min", "median", "max"}
_SHOWN_STRING = {"unique", "top_values", "avg_length"}
_SHOWN_BYTES = {"unique", "avg_num_bytes"}
_SHOWN_COMMON = {"num_non_missing", "num_missing", "min_num_values", "max_num_values",
                 "avg_num_values", "tot_num_values"}


def run_quality(result, statistics_slices: int = STATISTICS_SLICES, slices: int = SLICES,
                features: int = FEATURES, values: int = VALUES) -> dict | None:
    """The data-quality data of one result (see the module's docstring), or None."""
    if not result.has_data_quality():
        return None
    quality = by_slice(result)
    order = sorted(range(len(quality)), key=lambda i: (
        quality[i].key != (), not quality[i].failures,
        not (quality[i].anomalies is not None and quality[i].anomalies.anomaly_info),
        -(quality[i].statistics.num_examples if quality[i].statistics is not None else 0), i))
    kept = order[:slices]
    with_statistics = [i for i in order if quality[i].statistics is not None or
                       quality[i].baseline is not None]
    carried, used = {}, 0  # slice index -> (statistics, baseline); their JSON's size
    for i in with_statistics:
        if len(carried) == statistics_slices:
            break
        both = (_dataset(quality[i].statistics, features, values),
                _dataset(quality[i].baseline, features, values))
        size = len(json.dumps(both, separators=(",", ":")))
        if carried and used + size > STATISTICS_BYTES:
            break  # slices in order of interest: the ones left out are the least
        carried[i] = both
        used += size
    out_slices = []
    for i in sorted(kept):
        q = quality[i]
        entry = {"name": q.name, "dataset": q.dataset, "statistics": None, "baseline": None,
                 "anomalies": None, "data_missing": False, "drift": None,
                 "failures": [_failure(f) for f in q.failures[:FAILURES]]}
        if i in carried:
            entry["statistics"], entry["baseline"] = carried[i]
        if q.anomalies is not None:
            entry["anomalies"] = anomaly_rows(q.anomalies)
            entry["data_missing"] = q.anomalies.data_missing
            entry["drift"] = [{**m, "failed": bool(q.failed(m["feature"], "DRIFT", m["measure"]))}
                              for m in drift_rows(q.anomalies)]
        out_slices.append(entry)
    failures = result.data_quality_failures
    return {
        "statistics": result.statistics is not None,
        "baseline": result.baseline_statistics is not None,
        "anomalies": result.anomalies is not None or bool(result.slice_anomalies),
        "limits": {"statistics_slices": statistics_slices, "statistics_bytes": STATISTICS_BYTES,
                   "slices": slices,
                   "features": features, "values": values, "failures": FAILURES},
        "slices": out_slices, "slices_total": len(quality),
        "statistics_cut": len(with_statistics) - len(carried),
        "failures": [_failure(f) for f in failures[:FAILURES]],
        "failures_total": len(failures),
        "not_described": not_described(result.summary),
    }


def _failure(f) -> dict:
    row = f.as_json()
    row["slice"] = slice_name(f.slice_key)
    return row


def _dataset(d, features: int, values: int):
    if d is None:
        return None
    return {"num_examples": d.num_examples, "weighted_num_examples": d.weighted_num_examples,
            "features": [_feature(f, d.num_examples, values) for f in d.features[:features]],
            "features_cut": max(0, len(d.features) - features)}


def _feature(feature, num_examples: int, values: int) -> dict:
    row = feature_digest(feature, num_examples)
    for name in ("top_values", "histogram", "quantiles"):
        if row[name] is not None and len(row[name]) > values:
            row[name + "_cut"] = len(row[name]) - values
            row[name] = row[name][:values]
    row["other"] = _cut(_other(feature), values)
    return {k: v for k, v in row.items() if v is not None}  # a number it does not have: absent


def _other(feature) -> dict:
    """The fields of a FeatureNameStatistics that the digest does not show."""
    whole = plain(feature)
    for name in ("name", "path", "type"):
        whole.pop(name, None)
    kind = feature.WhichOneof("stats")
    if kind is None:
        return whole
    stats = whole[kind]
    shown = {"num_stats": _SHOWN_NUM, "string_stats": _SHOWN_STRING,
             "bytes_stats": _SHOWN_BYTES}.get(kind, set())
    for name in shown:
        stats.pop(name, None)
    if kind == "num_stats":  # the first standard and the first quantiles histogram are shown
        seen, kept = set(), []
        for h in stats.get("histograms", []):
            if h.get("type") in seen:
                kept.append(h)
            seen.add(h.get("type"))
        stats["histograms"] = kept
    common = stats.get("common_stats", {})
    for name in _SHOWN_COMMON:
        common.pop(name, None)
    return _drop_empty(whole)


def _drop_empty(value):
    if isinstance(value, dict):
        out = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [], None, "")}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _cut(value, limit: int):
    """``value`` with every list cut to ``limit`` entries; ``<name>_cut`` beside a cut list
    says how many were left out."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = _cut(v, limit)
            if isinstance(v, list) and len(v) > limit:
                out[k + "_cut"] = len(v) - limit
        return out
    if isinstance(value, list):
        return [_cut(v, limit) for v in value[:limit]]
    return value
