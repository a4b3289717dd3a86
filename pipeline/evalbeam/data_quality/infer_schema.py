"""A schema inferred from statistics, as TensorFlow Data Validation's ``infer_schema`` does.

``infer_schema(statistics)`` follows ``tfdv.infer_schema(statistics, infer_feature_shape=True,
max_string_domain_size=100)`` (``api/validation_api.py``, ``anomalies/schema.cc``
``CreateColumn``, ``feature_util.cc`` ``InitPresenceAndShape``), feature by feature in the
statistics' order:

- ``type``: INT, FLOAT, BYTES (statistics STRING or BYTES), STRUCT;
- ``presence``: ``min_count`` 1 (0 when present in fewer than 1 example, weighted when the
  statistics are weighted), ``min_fraction`` 1.0 when no example misses it;
- shape: with ``infer_feature_shape``, a feature no example misses and with the same number
  ``n > 0`` of values in every example (at every nesting level) gets ``shape { dim { size: n }
  }``; otherwise ``value_count`` (``value_counts`` when nested): ``min`` and ``max`` both ``n``
  when fixed, else ``min: 1``; nothing when some example has no value;
- domains: none for BYTES statistics or invalid UTF-8; ``bool_domain {}`` for an INT with min
  >= 0 and max == 1; ``bool_domain`` with ``true_value`` / ``false_value`` for a STRING with at
  most 2 unique values all among TFDV's true strings ("TRUE", "true", "SET", "set", "1", "") and
  false strings ("FALSE", "false", "CLEAR", "clear", "0"); ``int_domain {}`` for a STRING whose
  values all parse as int64; else a schema-level ``string_domain`` named after the feature
  (``name2``, ``name3`` ... on a clash), its values sorted, referenced by ``domain``, for a
  STRING with at most ``max_string_domain_size`` distinct values.

The distinct values are the rank histogram's. TFDV's statistics keep 1000 of them, more than
the default 100, so a feature with more values never gets a domain. Statistics that keep fewer
top values cannot tell, so a domain is inferred only when the top values cover every value:
``string_stats.unique`` (when set) is no larger than the number of values listed. Otherwise a
domain would reject the values the top list left out.

With several datasets, the one named "All Examples" is used (TFDV's rule); features without
common statistics are left out. Not done: TFDV's custom-statistics semantic domains, and the
children of STRUCT features (the struct itself is inferred, without its ``struct_domain``).
"""
from __future__ import annotations

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from evalbeam.data_quality.schema_file import write_schema
from evalbeam.data_quality.stats_view import (ALL_EXAMPLES, DatasetView, FeatureView,
                                               parse_int64)

__all__ = ["infer_schema", "write_schema"]

_FNS = statistics_pb2.FeatureNameStatistics
_TRUE = {"TRUE", "true", "SET", "set", "1", ""}
_FALSE = {"FALSE", "false", "CLEAR", "clear", "0"}


def infer_schema(statistics: statistics_pb2.DatasetFeatureStatisticsList, *,
                 infer_feature_shape: bool = True,
                 max_string_domain_size: int = 100) -> schema_pb2.Schema:
    """The Schema TFDV's ``infer_schema`` would write for the overall dataset of
    ``statistics``."""
    view = DatasetView(default_dataset(statistics))
    schema = schema_pb2.Schema()
    structs = [f.path for f in view.features() if f.type == _FNS.STRUCT]
    for feature in view.features():
        if any(feature.path.startswith(f"{p}.") for p in structs):
            continue  # a struct's child: not inferred (see the module doc)
        spec = schema.feature.add(name=feature.path, type=feature.schema_type)
        _presence_and_shape(feature, spec, infer_feature_shape)
        _domain(feature, spec, schema, max_string_domain_size)
    return schema


def default_dataset(statistics) -> statistics_pb2.DatasetFeatureStatistics:
    """The only dataset, or the one named "All Examples" (ValueError when neither)."""
    if len(statistics.datasets) == 1:
        return statistics.datasets[0]
    for dataset in statistics.datasets:
        if dataset.name == ALL_EXAMPLES:
            return dataset
    names = ", ".join(repr(d.name) for d in statistics.datasets) or "none"
    raise ValueError(f"statistics: expected one dataset or one named {ALL_EXAMPLES!r}; "
                     f"got {names}")


def _presence_and_shape(feature: FeatureView, spec, infer_shape: bool) -> None:
    present = feature.num_present
    spec.presence.min_count = 0 if present < 1.0 else 1
    if present <= 0:
        return
    if feature.num_missing == 0:
        spec.presence.min_fraction = 1.0
    levels = feature.min_max_num_values()
    if infer_shape and feature.type != _FNS.STRUCT:
        missing = feature.num_missing_nested()
        if all(m == 0 for m in missing) and all(lo == hi > 0 for lo, hi in levels):
            for lo, _ in levels:
                spec.shape.dim.add(size=lo)
            return
    if len(feature.common.presence_and_valency_stats) > 1:
        for lo, hi in levels:
            _value_count(lo, hi, spec.value_counts.value_count.add())
    elif len(levels) == 1 and levels[0][0] > 0:
        _value_count(*levels[0], spec.value_count)


def _value_count(lo: int, hi: int, out) -> None:
    if lo > 0:
        out.min = lo if lo == hi else 1
        if lo == hi:
            out.max = hi


def _domain(feature: FeatureView, spec, schema, max_size: int) -> None:
    if feature.has_invalid_utf8() or feature.type == _FNS.BYTES:
        return
    values = feature.values()
    if feature.type == _FNS.INT:
        stats = feature.data.num_stats
        if stats.min >= 0.0 and stats.max == 1.0:
            spec.bool_domain.SetInParent()
        return
    if feature.type != _FNS.STRING:
        return
    unique = feature.num_unique()
    if values and (unique is None or unique <= 2) and _bool_strings(values):
        true = next((v for v in values if v in _TRUE), None)
        false = next((v for v in values if v in _FALSE), None)
        spec.bool_domain.SetInParent()
        if true is not None:
            spec.bool_domain.true_value = true
        if false is not None:
            spec.bool_domain.false_value = false
    elif values and all(parse_int64(v) is not None for v in values):
        spec.int_domain.SetInParent()
    elif values and len(values) <= max_size and (not unique or unique <= len(values)):
        taken = {d.name for d in schema.string_domain}
        name, index = feature.path, 1
        while name in taken:
            index += 1
            name = f"{feature.path}{index}"
        schema.string_domain.add(name=name, value=values)
        spec.domain = name


def _bool_strings(values) -> bool:
    true_seen = false_seen = False
    for v in values:
        if not true_seen and v in _TRUE:
            true_seen = True
        elif not false_seen and v in _FALSE:
            false_seen = True
        else:
            return False
    return True


