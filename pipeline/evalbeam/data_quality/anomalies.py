"""Schema anomalies of one slice's statistics, as TensorFlow Data Validation reports them.

``validate_statistics(statistics, schema) -> Anomalies`` follows TFDV's
``validate_statistics`` (``anomalies/schema.cc`` ``UpdateFeatureInternal`` and the
``feature_util.cc`` checks, the ``*_domain_util.cc`` ones in
:mod:`~evalbeam.data_quality.domains`): same anomaly types, short descriptions,
descriptions and severity (ERROR), ``anomaly_info`` keyed by the feature's serialized path.
A dataset with no examples gives ``data_missing`` and no anomaly, as TFDV's. String values
are read from the rank histogram, as TFDV reads them: a value the statistics' top values left
out is not seen by a domain check.

Covered (TFDV's detection conditions):

- presence: ``FEATURE_TYPE_LOW_FRACTION_PRESENT`` (``presence.min_fraction``, including the
  "expected everywhere" case), ``FEATURE_TYPE_LOW_NUMBER_PRESENT`` (``presence.min_count``),
  ``FEATURE_TYPE_NOT_PRESENT`` (a required feature present in no example),
  ``SCHEMA_MISSING_COLUMN`` (a required feature absent from the statistics);
- domains: ``ENUM_TYPE_UNEXPECTED_STRING_VALUES`` (``string_domain`` or a schema-level
  ``string_domain`` named by ``domain``, with ``distribution_constraints.min_domain_mass``),
  ``ENUM_TYPE_INVALID_UTF8``, ``INT_TYPE_SMALL_INT`` / ``INT_TYPE_BIG_INT`` /
  ``INT_TYPE_NOT_INT_STRING``, ``FLOAT_TYPE_SMALL_FLOAT`` / ``FLOAT_TYPE_BIG_FLOAT`` /
  ``FLOAT_TYPE_STRING_NOT_FLOAT`` / ``FLOAT_TYPE_HAS_NAN`` / ``FLOAT_TYPE_HAS_INF``,
  ``BOOL_TYPE_SMALL_INT`` / ``BOOL_TYPE_BIG_INT`` / ``BOOL_TYPE_UNEXPECTED_FLOAT`` /
  ``BOOL_TYPE_UNEXPECTED_STRING`` / ``BOOL_TYPE_INVALID_CONFIG``, ``DOMAIN_INVALID_FOR_TYPE``,
  ``INVALID_DOMAIN_SPECIFICATION`` (a ``domain`` naming no schema-level domain);
- type: ``UNEXPECTED_DATA_TYPE``;
- value counts: ``FEATURE_TYPE_LOW_NUMBER_VALUES`` / ``FEATURE_TYPE_HIGH_NUMBER_VALUES``
  (``value_count``, and ``value_counts`` per nesting level), ``VALUE_NESTEDNESS_MISMATCH``,
  ``INVALID_FEATURE_SHAPE`` (``shape``: missing values or a varying or different length);
- ``SCHEMA_NEW_COLUMN``: a feature in the statistics the schema does not know.

Not covered: environments (``in_environment``, ``default_environment``: every feature is in
the environment, as TFDV without one), ``sparse_feature`` / ``weighted_feature`` validation
(their names are known to the schema, so no new-column anomaly), ``unique_constraints``,
image / natural-language / semantic domains,
``dataset_constraints`` (example counts), skew against serving statistics, the schema-self
checks other than the domain ones (missing name or type, negative ``min_fraction`` ...),
severity overrides. Drift is :mod:`evalbeam.data_quality.drift`.
"""
from __future__ import annotations

import numpy as np
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from evalbeam.data_quality import domains
from evalbeam.data_quality.findings import Finding, anomalies_proto, number, percent, six_digits
from evalbeam.data_quality.findings import feature_finding as _finding
from evalbeam.data_quality.stats_view import DatasetView, FeatureView

A = anomalies_pb2.AnomalyInfo
_FNS = statistics_pb2.FeatureNameStatistics
_DEPRECATED_STAGES = {schema_pb2.PLANNED, schema_pb2.ALPHA, schema_pb2.DEPRECATED,
                      schema_pb2.DEBUG_ONLY, schema_pb2.DISABLED}
_ALLOWED_TYPES = {  # domain -> schema types it may have (TFDV's AllowedFeatureTypes)
    "domain": {schema_pb2.BYTES}, "string_domain": {schema_pb2.BYTES},
    "bool_domain": {schema_pb2.INT, schema_pb2.BYTES, schema_pb2.FLOAT},
    "int_domain": {schema_pb2.INT, schema_pb2.BYTES},
    "float_domain": {schema_pb2.FLOAT, schema_pb2.BYTES},
    "struct_domain": {schema_pb2.STRUCT}, "time_domain": {schema_pb2.INT, schema_pb2.BYTES},
}
_BYTES_DOMAINS_OK = {None, "natural_language_domain", "image_domain", "url_domain"}


def validate_statistics(statistics: statistics_pb2.DatasetFeatureStatistics,
                        schema: schema_pb2.Schema) -> anomalies_pb2.Anomalies:
    """TFDV's anomalies of one slice's statistics against ``schema`` (no drift)."""
    view = DatasetView(statistics)
    return anomalies_proto(schema_findings(view, schema), schema=schema,
                           data_missing=statistics.num_examples == 0)


def schema_findings(view: DatasetView, schema: schema_pb2.Schema) -> list:
    """The findings of every feature of ``view`` and every required feature it lacks."""
    if view.data.num_examples == 0:
        return []
    composite = {f.name for f in schema.sparse_feature} | {f.name for f in schema.weighted_feature}
    index = schema_index(schema)
    out = []
    for feature in view.features():
        spec = index.get(feature.path)
        if spec is None:
            if feature.path not in composite:
                out.append(Finding(feature.path, A.SCHEMA_NEW_COLUMN, "New column",
                                   "New column (column in data but not in schema)",
                                   f"{feature.path}: in the data but not in the schema"))
        elif not is_deprecated(spec):
            out.extend(feature_findings(feature, spec, schema))
    for path, spec in _required_features(schema.feature):
        if view.get(path) is None:
            out.append(Finding(path, A.SCHEMA_MISSING_COLUMN, "Column dropped",
                               "Column is completely missing",
                               f"{path}: not in the data; the schema requires it "
                               f"({_requirement(spec.presence)})",
                               0.0, _required_amount(spec.presence)))
    return out


def schema_index(schema: schema_pb2.Schema) -> dict:
    """{path: Feature} of the schema's features, struct children as "parent.child"."""
    index = {}

    def walk(features, prefix):
        for spec in features:
            index.setdefault(f"{prefix}{spec.name}", spec)
            walk(spec.struct_domain.feature, f"{prefix}{spec.name}.")

    walk(schema.feature, "")
    return index


def find_feature(schema: schema_pb2.Schema, path: str):
    """The schema's feature at ``path`` (steps joined with "."), through struct domains."""
    return schema_index(schema).get(path)


def is_deprecated(spec: schema_pb2.Feature) -> bool:
    if spec.deprecated:
        return True
    return spec.HasField("lifecycle_stage") and spec.lifecycle_stage in _DEPRECATED_STAGES


def is_required(spec: schema_pb2.Feature) -> bool:
    return not is_deprecated(spec) and (spec.presence.min_count > 0
                                        or spec.presence.min_fraction > 0)


def _required_features(features, prefix=""):
    for spec in features:
        path = f"{prefix}{spec.name}"
        if is_required(spec):
            yield path, spec
        if not is_deprecated(spec):
            yield from _required_features(spec.struct_domain.feature, f"{path}.")


def _requirement(presence) -> str:
    parts = []
    if presence.min_fraction > 0:
        parts.append(f"in at least {percent(presence.min_fraction)} of examples")
    if presence.min_count > 0:
        parts.append(f"in at least {_count(presence.min_count, 'example')}")
    return " and ".join(parts)


def _count(n, noun: str) -> str:
    return f"{number(n)} {noun}" + ("" if n == 1 else "s")


def _required_amount(presence) -> float:
    return presence.min_fraction if presence.min_fraction > 0 else float(presence.min_count)


# -- one feature ------------------------------------------------------------------------------
def feature_findings(feature: FeatureView, spec: schema_pb2.Feature,
                     schema: schema_pb2.Schema) -> list:
    """TFDV's checks of one feature against its schema entry, in TFDV's order."""
    spec_copy = schema_pb2.Feature()
    spec_copy.CopyFrom(spec)
    spec = spec_copy  # the checks clear a domain they found unusable, as TFDV does
    out = _schema_self(feature, spec, schema)
    if feature.num_present == 0:
        if is_required(spec):
            out.append(_finding(feature, A.FEATURE_TYPE_NOT_PRESENT, "Column dropped",
                                "The feature was not present in any examples.",
                                f"present in no example; the schema requires it "
                                f"({_requirement(spec.presence)})",
                                0.0, _required_amount(spec.presence)))
        return out
    if spec.HasField("value_count") or spec.HasField("value_counts"):
        out.extend(_value_counts(feature, spec))
    if spec.HasField("shape"):
        out.extend(_shape(feature, spec.shape))
    if spec.HasField("presence"):
        out.extend(_presence(feature, spec.presence))
    if feature.schema_type != spec.type:
        schema_type = schema_pb2.FeatureType.Name(spec.type)
        out.append(_finding(feature, A.UNEXPECTED_DATA_TYPE, "Unexpected data type",
                            f"Expected data of type: {schema_type} but got {feature.type_name}",
                            f"the data holds {feature.type_name} values; the schema says "
                            f"{schema_type}"))
    domain = spec.WhichOneof("domain_info")
    if feature.type == _FNS.BYTES and domain not in _BYTES_DOMAINS_OK:
        out.append(_finding(feature, A.DOMAIN_INVALID_FOR_TYPE, "Invalid domain type",
                            "Data is marked as BYTES with incompatible domain_info: "
                            + text_format.MessageToString(spec),
                            f"the data holds raw bytes; the schema's {domain} does not apply"))
        domain = None
    if domain == "domain":
        out.extend(domains.string_domain(feature, spec, _named_domain(schema, spec.domain)))
    elif domain == "string_domain":
        out.extend(domains.string_domain(feature, spec, spec.string_domain))
    elif domain == "int_domain":
        out.extend(domains.int_domain(feature, spec.int_domain))
    elif domain == "float_domain":
        out.extend(domains.float_domain(feature, spec.float_domain))
    elif domain == "bool_domain":
        out.extend(domains.bool_domain(feature, spec.bool_domain))
    return out


def _named_domain(schema, name):
    return next((d for d in schema.string_domain if d.name == name), None)


def _schema_self(feature, spec, schema) -> list:
    """The schema entry's own domain problems (TFDV's UpdateFeatureSelf); clears the domain."""
    domain = spec.WhichOneof("domain_info")
    if domain in _ALLOWED_TYPES and spec.type not in _ALLOWED_TYPES[domain]:
        type_name = schema_pb2.FeatureType.Name(spec.type)
        spec.ClearField("domain_info")
        return [_finding(feature, A.DOMAIN_INVALID_FOR_TYPE,
                         "The domain does not match the type",
                         f'The domain "{domain}" does not match the type: {type_name}',
                         f"the schema's {domain} does not fit its type {type_name}")]
    if domain == "domain" and _named_domain(schema, spec.domain) is None:
        name = spec.domain
        spec.ClearField("domain")
        return [_finding(feature, A.INVALID_DOMAIN_SPECIFICATION, f"missing domain: {name}", "",
                         f"the schema names a string domain {name!r} it does not define")]
    return []


def _value_counts(feature: FeatureView, spec) -> list:
    levels = feature.min_max_num_values()
    if spec.HasField("value_count"):
        if len(levels) > 1:
            return [_finding(feature, A.VALUE_NESTEDNESS_MISMATCH, "Mismatched value nest level",
                             "This feature has a value_count, but the nestedness level of the "
                             "feature > 1. For features with nestedness levels greater than 1, "
                             "value_counts, not value_count, should be specified.",
                             f"values nested {len(levels)} levels deep; the schema's "
                             "value_count expects one level")]
        counts, where = [spec.value_count], [""]
    else:
        counts = list(spec.value_counts.value_count)
        if len(counts) != len(levels):
            return [_finding(feature, A.VALUE_NESTEDNESS_MISMATCH, "Mismatched value nest level",
                             "The values have a different nest level than expected. Value "
                             "counts will not be checked.",
                             f"values nested {len(levels)} levels deep; the schema's "
                             f"value_counts has {len(counts)}")]
        where = [f" at nestedness level {i}" for i in range(len(counts))]
    out = []
    for i, (count, (lo, hi)) in enumerate(zip(counts, levels)):
        level = f" (nesting level {i})" if where[i] else ""
        if count.HasField("min") and lo < count.min:
            out.append(_finding(feature, A.FEATURE_TYPE_LOW_NUMBER_VALUES, "Missing values",
                                f"Some examples have fewer values than expected{where[i]}.",
                                f"an example has {_count(lo, 'value')}{level}; the schema's "
                                f"value_count min is {count.min}", lo, count.min))
        if count.HasField("max") and hi > count.max:
            out.append(_finding(feature, A.FEATURE_TYPE_HIGH_NUMBER_VALUES, "Superfluous values",
                                f"Some examples have more values than expected{where[i]}.",
                                f"an example has {_count(hi, 'value')}{level}; the schema's "
                                f"value_count max is {count.max}", hi, count.max))
    return out


def _shape(feature: FeatureView, shape) -> list:
    expected = int(np.prod([d.size for d in shape.dim]))
    actual = 1
    for lo, hi in feature.min_max_num_values():
        if lo != hi or lo == 0:
            actual = -1
            break
        actual *= lo
    dims = "[" + ", ".join(str(d.size) for d in shape.dim) + "]"
    if actual <= 0 or any(m != 0 for m in feature.num_missing_nested()):
        return [_finding(feature, A.INVALID_FEATURE_SHAPE, "Feature shape dropped",
                         "The feature has a shape, but it's not always present (if the feature "
                         "is nested, then it should always be present at each nested level) or "
                         "its value lengths vary.",
                         f"missing in some examples or of varying length; the schema's shape "
                         f"{dims} needs it in every example with a fixed number of values",
                         actual, expected)]
    if actual != expected:
        return [_finding(feature, A.INVALID_FEATURE_SHAPE, "Feature shape dropped",
                         f"The feature has fixed value length {actual} but it's not compatible "
                         "with the specified shape.",
                         f"every example has {actual} values; the schema's shape {dims} needs "
                         f"{expected}", actual, expected)]
    return []


def _presence(feature: FeatureView, presence) -> list:
    out = []
    present, examples = feature.num_present, feature.num_examples
    if presence.HasField("min_count") and present < presence.min_count:
        out.append(_finding(feature, A.FEATURE_TYPE_LOW_NUMBER_PRESENT, "Column dropped",
                            "The feature was present in fewer examples than expected: "
                            f"minimum count = {presence.min_count}, actual = {int(present)}",
                            f"present in {_count(present, 'example')}; the schema requires at "
                            f"least {number(presence.min_count)}", present, presence.min_count))
    fraction = feature.fraction_present()
    if presence.HasField("min_fraction") and fraction is not None:
        min_fraction = presence.min_fraction
        if fraction < min_fraction:
            out.append(_finding(feature, A.FEATURE_TYPE_LOW_FRACTION_PRESENT, "Column dropped",
                                "The feature was present in fewer examples than expected: "
                                f"minimum fraction = {float(np.float32(min_fraction)):f}, "
                                f"actual = {fraction:f}",
                                f"present in {percent(fraction)} of examples ({number(present)} "
                                f"of {number(examples)}); the schema requires at least "
                                f"{percent(min_fraction)}", fraction, min_fraction))
            min_fraction = fraction
        if min_fraction == 1.0 and feature.num_missing != 0:
            missing = feature.num_missing
            out.append(_finding(feature, A.FEATURE_TYPE_LOW_FRACTION_PRESENT, "Column dropped",
                                "The feature was expected everywhere, but was missing in "
                                f"{six_digits(missing)} examples.",
                                f"missing in {number(missing)} of {number(examples)} examples; "
                                "the schema requires it in every example", fraction, 1.0))
    return out
