"""TFDV's domain checks of one feature: string (feature-level or a schema-level domain named by
``domain``), int, float and bool domains (``anomalies/*_domain_util.cc``).

Each takes the feature's statistics and its schema entry's domain and returns findings with
TFDV's type, short description and description. String values are the rank histogram's.
"""
from __future__ import annotations

import math

import numpy as np
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from evalbeam.data_quality.findings import feature_finding as _finding
from evalbeam.data_quality.findings import number, percent, six_digits
from evalbeam.data_quality.stats_view import FeatureView, parse_int64

A = anomalies_pb2.AnomalyInfo
_FNS = statistics_pb2.FeatureNameStatistics
_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1


def _quote(values) -> str:
    return ", ".join(repr(v) for v in values)


def _c_escape(value: str) -> str:
    """absl::Utf8SafeCEscape: backslash escapes for quotes, backslash and control bytes."""
    table = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\"}
    return "".join(table.get(c, c if ord(c) >= 0x20 and ord(c) != 0x7F else f"\\{ord(c):03o}")
                   for c in value)


def _tfdv_percentage(count: float, total: float) -> str:
    if not total:
        return "?"
    p = 100 * count / total
    return "<1%" if p < 1.0 else f"~{int(math.floor(p))}%"


def string_domain(feature: FeatureView, spec, domain) -> list:
    if feature.has_invalid_utf8():
        return [_finding(feature, A.ENUM_TYPE_INVALID_UTF8, "Invalid UTF8 strings",
                         "Found strings that were not valid UTF8 strings.",
                         "some values are not valid UTF-8 text")]
    constraints = spec.distribution_constraints
    max_off = 1.0 - constraints.min_domain_mass if constraints.HasField("min_domain_mass") else 0.0
    valid = set(domain.value)
    counts = feature.value_counts()
    missing = {v: counts[v] for v in sorted(counts) if v not in valid}
    missing_count = sum(missing.values())
    total = feature.total_value_count()
    off = missing_count / total if total else (math.inf if missing_count else 0.0)
    if not (off > max_off or (max_off == 0 and missing)):
        return []
    listed = ", ".join(f"{_c_escape(v)} ({_tfdv_percentage(int(c), total)})"
                       for v, c in missing.items())
    allowed = "none allowed" if max_off == 0 else f"at most {percent(max_off)} allowed"
    name = f"domain {domain.name!r}" if spec.HasField("domain") else "domain"
    return [_finding(feature, A.ENUM_TYPE_UNEXPECTED_STRING_VALUES, "Unexpected string values",
                     f"Examples contain values missing from the schema: {listed}. ",
                     f"{percent(off)} of values ({number(missing_count)} of {number(total)}) are "
                     f"not in the schema's {name}: {_quote(missing)} ({allowed})",
                     off, max_off)]


def _parse_ints(values):
    """(min, max) of values that all parse as int64, the first that does not, or None."""
    lo = hi = None
    for v in values:
        x = parse_int64(v)
        if x is None:
            return v
        lo, hi = (x, x) if lo is None else (min(lo, x), max(hi, x))
    return None if lo is None else (lo, hi)


def _int_interval(feature: FeatureView):
    values = feature.values()
    if feature.type in (_FNS.FLOAT, _FNS.STRUCT):
        return None
    if feature.type == _FNS.INT and not values:
        lo, hi = feature.data.num_stats.min, feature.data.num_stats.max
        if lo < _INT64_MIN:
            return str(lo)
        if hi > _INT64_MAX:
            return str(hi)
        return int(lo), int(hi)
    return _parse_ints(values)


def int_domain(feature: FeatureView, domain) -> list:
    interval = _int_interval(feature)
    if isinstance(interval, str):
        if feature.schema_type == schema_pb2.BYTES:
            return [_finding(feature, A.INT_TYPE_NOT_INT_STRING, "Invalid values",
                             "String values that were not ints were found, such as "
                             f'"{interval}".', f"the value {interval!r} is not an integer")]
        if domain.HasField("min") or domain.HasField("max"):
            return [_finding(feature, A.DOMAIN_INVALID_FOR_TYPE, "Invalid values",
                             "Integer had values that were not valid Int64, such as "
                             f'"{interval}".', f"the value {interval} is not a 64-bit integer")]
        return []
    if interval is None:
        return []
    lo, hi = interval
    out = []
    if domain.HasField("min") and domain.min > lo:
        out.append(_finding(feature, A.INT_TYPE_SMALL_INT, "Out-of-range values",
                            f"Unexpectedly small value: {lo}.",
                            f"smallest value {lo} is below the schema's int_domain min "
                            f"{domain.min}", lo, domain.min))
    if domain.HasField("max") and domain.max < hi:
        out.append(_finding(feature, A.INT_TYPE_BIG_INT, "Out-of-range values",
                            f"Unexpectedly large value: {hi}.",
                            f"largest value {hi} is above the schema's int_domain max "
                            f"{domain.max}", hi, domain.max))
    return out


def _parse_float(v: str):
    try:
        return float(np.float32(float(v.strip())))
    except ValueError:
        return None


def float_domain(feature: FeatureView, domain) -> list:
    out = []
    if domain.disallow_nan:
        has_nan = (any(h.num_nan > 0 for h in feature.data.num_stats.histograms)
                   if feature.type == _FNS.FLOAT else
                   feature.type == _FNS.STRING and any(
                       (x := _parse_float(v)) is not None and math.isnan(x)
                       for v in feature.values()))
        if has_nan:
            out.append(_finding(feature, A.FLOAT_TYPE_HAS_NAN, "Invalid values",
                                "Float feature has NaN values.",
                                "has NaN values; the schema's float_domain disallows NaN"))
    if feature.type == _FNS.FLOAT:
        # TFDV compares in single precision (its FloatInterval holds floats).
        lo = float(np.float32(feature.data.num_stats.min))
        hi = float(np.float32(feature.data.num_stats.max))
    elif feature.type in (_FNS.STRING, _FNS.BYTES):
        parsed = [(v, _parse_float(v)) for v in feature.values()]
        bad = next((v for v, x in parsed if x is None), None)
        if bad is not None:
            return out + [_finding(feature, A.FLOAT_TYPE_STRING_NOT_FLOAT, "Invalid values",
                                   "String values that were not floats were found, such as "
                                   f'"{bad}".', f"the value {bad!r} is not a number")]
        if not parsed:
            return out
        lo, hi = min(x for _, x in parsed), max(x for _, x in parsed)
    else:
        return out
    if domain.HasField("min") and lo < domain.min:
        out.append(_finding(feature, A.FLOAT_TYPE_SMALL_FLOAT, "Out-of-range values",
                            f"Unexpectedly low values: {six_digits(lo)}<{six_digits(domain.min)}"
                            "(upto six significant digits)",
                            f"smallest value {six_digits(lo)} is below the schema's float_domain"
                            f" min {six_digits(domain.min)}", lo, domain.min))
    if domain.HasField("max") and hi > domain.max:
        out.append(_finding(feature, A.FLOAT_TYPE_BIG_FLOAT, "Out-of-range values",
                            f"Unexpectedly high value: {six_digits(hi)}>{six_digits(domain.max)}"
                            "(upto six significant digits)",
                            f"largest value {six_digits(hi)} is above the schema's float_domain "
                            f"max {six_digits(domain.max)}", hi, domain.max))
    if domain.disallow_inf and (math.isinf(lo) or math.isinf(hi)):
        out.append(_finding(feature, A.FLOAT_TYPE_HAS_INF, "Invalid values",
                            "Float feature has Inf values.",
                            "has infinite values; the schema's float_domain disallows them"))
    return out


def bool_domain(feature: FeatureView, domain) -> list:
    stats = feature.data.num_stats
    configured = domain.HasField("true_value") or domain.HasField("false_value")
    if feature.type == _FNS.INT:
        if configured:
            return [_finding(feature, A.BOOL_TYPE_INVALID_CONFIG, "Invalid BoolDomain",
                             "User-defined boolean values are not permitted for features of "
                             "INT type.", "the schema's bool_domain names true/false strings "
                             "for an integer feature")]
        for bad, kind, side in ((stats.min < 0, A.BOOL_TYPE_SMALL_INT, stats.min),
                                (stats.max > 1, A.BOOL_TYPE_BIG_INT, stats.max)):
            if bad:
                return [_finding(feature, kind, "Non-boolean values",
                                 f"Integers (such as {six_digits(side)}) not 0 or 1: converting "
                                 "to an integer.", f"the value {six_digits(side)} is not 0 or 1 "
                                 "(the schema's bool_domain)", side)]
        return []
    if feature.type == _FNS.FLOAT:
        return _bool_float(feature, stats, configured)
    if feature.type == _FNS.STRING:
        valid = sorted({v for v, has in ((domain.true_value, domain.HasField("true_value")),
                                         (domain.false_value, domain.HasField("false_value")))
                        if has})
        if len(valid) != 2:
            return [_finding(feature, A.BOOL_TYPE_INVALID_CONFIG, "Invalid BoolDomain",
                             "BoolDomain missing true and/or false values.",
                             "the schema's bool_domain lacks its true or false string")]
        for v in feature.values():
            if v not in valid:
                shown = '{"' + '", "'.join(valid) + '"}'
                return [_finding(feature, A.BOOL_TYPE_UNEXPECTED_STRING, "Non-boolean values",
                                 f'Saw unexpected value "{v}" instead of {shown}.',
                                 f"the value {v!r} is neither {valid[0]!r} nor {valid[1]!r} "
                                 "(the schema's bool_domain)")]
    return []


def _bool_float(feature, stats, configured) -> list:
    def finding(description, words):
        return [_finding(feature, A.BOOL_TYPE_UNEXPECTED_FLOAT, "Non-boolean values",
                         description, words)]

    if configured:
        return [_finding(feature, A.BOOL_TYPE_INVALID_CONFIG, "Invalid BoolDomain",
                         "User-defined boolean values are not permitted for features of FLOAT "
                         "type: converting to float_domain.", "the schema's bool_domain names "
                         "true/false strings for a float feature")]
    invalid = (stats.min if stats.min not in (0.0, 1.0) else
               stats.max if stats.max not in (0.0, 1.0) else 0)
    if invalid != 0:
        return finding(f"Floats (such as {six_digits(invalid)}) not in {{0, 1}}: converting to "
                       "float_domain.", f"the value {six_digits(invalid)} is not 0 or 1 (the "
                       "schema's bool_domain)")
    for histogram in stats.histograms:
        if histogram.type != statistics_pb2.Histogram.QUANTILES:
            continue
        if histogram.num_nan > 0:
            return finding("Floats (such as NaN) not in {0, 1}: converting to float_domain.",
                           "has NaN values (the schema's bool_domain)")
        if any(b.low_value not in (0.0, 1.0) or b.high_value not in (0.0, 1.0)
               for b in histogram.buckets):
            return finding("Float values falling between 0 and 1: converting to float_domain.",
                           "has values between 0 and 1 (the schema's bool_domain)")
    return []
