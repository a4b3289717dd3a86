"""The data-quality artifacts of a finished run, read back, and the plain forms every view
shows them in.

A run with data quality writes (see :mod:`evalbeam.io.files`):

- ``statistics.tfrecord``: one tensorflow-metadata ``DatasetFeatureStatisticsList``, one
  dataset per slice, named as TensorFlow Data Validation names slices (``All Examples``,
  ``country_us``, ``country_us_device_mobile``);
- ``baseline_statistics.tfrecord``: the same, of the baseline data;
- ``anomalies.pbtxt``: the overall slice's ``Anomalies`` (text format), with the drift
  measurements in ``drift_skew_info``;
- ``slice_anomalies.tfrecord``: one :class:`evalbeam.proto.data_quality_pb2.SliceAnomalies`
  per slice;
- ``validations.tfrecord``: the failed checks in ``data_quality_failures``.

:func:`plain` turns any of these messages into JSON-ready Python values with nothing left
out; :func:`feature_digest` picks the numbers a table of features shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

OVERALL_DATASET = "All Examples"  # TFDV's name of the slice of every example
# the custom statistic of a string or bytes feature whose ``unique`` is estimated (a slice
# with more distinct values than it keeps exactly), its text how
UNIQUE_ESTIMATED = "unique_estimated"
NOT_DESCRIBED = "columns_not_described"  # summary.json: column -> type, left out for it


def not_described(summary: dict) -> str:
    """The columns a run's statistics left out for their types, as a sentence ("" for
    none)."""
    from evalbeam.io.files import STATISTICS_FILE

    return undescribed_sentence(
        summary.get("statistics", {}).get(STATISTICS_FILE, {}).get(NOT_DESCRIBED, {}))


def undescribed_sentence(columns: dict) -> str:
    """``{column: type}`` left out of the statistics for their types, as a sentence."""
    return ("not described (statistics have none for their types): " +
            ", ".join(f"{n} ({t})" for n, t in columns.items())) if columns else ""


def dataset_name(slice_key: tuple) -> str:
    """A slice's name as TFDV names its datasets: ``All Examples`` for the overall slice, else
    ``column_value`` per column, in column order, joined with ``_``."""
    if not slice_key:
        return OVERALL_DATASET
    return "_".join(f"{c}_{_text(v)}" for c, v in slice_key)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def feature_name(feature) -> str:
    """A FeatureNameStatistics' (or AnomalyInfo / DriftSkewInfo path's) name: its ``name``,
    else its path's steps joined with ``.``."""
    if feature.DESCRIPTOR.name == "Path":
        return ".".join(feature.step)
    if "field_id" in feature.DESCRIPTOR.oneofs_by_name and \
            feature.WhichOneof("field_id") == "name":
        return feature.name
    return ".".join(feature.path.step)


def _number(value):
    """A JSON number: None for NaN and infinities."""
    value = float(value)
    return value if math.isfinite(value) else None


def plain(message) -> dict:
    """A message as plain JSON values, nothing left out: every scalar field of proto3 (its
    zero too: a count of 0 is a number to show), repeated fields as lists, only the set
    member of a oneof and the set sub-messages, enums by name, 64-bit integers as numbers,
    NaN and infinities as None, bytes as text (UTF-8, undecodable bytes replaced), maps as
    objects."""
    from google.protobuf.descriptor import FieldDescriptor as F

    out = {}
    for field in message.DESCRIPTOR.fields:
        repeated = (field.is_repeated if hasattr(field, "is_repeated")
                    else field.label == F.LABEL_REPEATED)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {str(k): _plain_value(value_field, v)
                               for k, v in getattr(message, field.name).items()}
            continue
        if repeated:
            values = getattr(message, field.name)
            if values:
                out[field.name] = [_plain_value(field, v) for v in values]
            else:
                out[field.name] = []
            continue
        if field.containing_oneof is not None:
            if message.WhichOneof(field.containing_oneof.name) != field.name:
                continue
        elif field.message_type is not None and not message.HasField(field.name):
            continue
        out[field.name] = _plain_value(field, getattr(message, field.name))
    return out


def _plain_value(field, value):
    from google.protobuf.descriptor import FieldDescriptor as F

    if field.type == F.TYPE_MESSAGE:
        return plain(value)
    if field.type == F.TYPE_ENUM:
        found = field.enum_type.values_by_number.get(value)
        return found.name if found is not None else value
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return _number(value)
    if field.type == F.TYPE_BYTES:
        return value.decode("utf-8", "replace")
    return value


def kind_of(feature) -> str | None:
    """Which statistics a FeatureNameStatistics holds: ``num``, ``string``, ``bytes``,
    ``struct`` (None: none)."""
    which = feature.WhichOneof("stats")
    return None if which is None else which[:-len("_stats")]


def common_of(feature):
    """The CommonStatistics of a FeatureNameStatistics (None when it holds no statistics)."""
    kind = kind_of(feature)
    return None if kind is None else getattr(feature, f"{kind}_stats").common_stats


DIGEST_FIELDS = (  # the numbers of a feature's row, in the order the tables show them
    "count", "missing", "missing_fraction", "mean", "std_dev", "min", "median", "max",
    "zeros", "unique", "avg_length", "min_num_values", "max_num_values", "avg_num_values",
    "tot_num_values")


def feature_digest(feature, num_examples: int) -> dict:
    """The numbers a row of a feature table shows: ``feature``, ``type`` (INT, FLOAT, STRING,
    BYTES, STRUCT), ``stats`` (:func:`kind_of`), ``count`` (examples with a value),
    ``missing``, ``missing_fraction`` (of the dataset's examples; None without examples);
    numbers: ``mean``, ``std_dev``, ``min``, ``median``, ``max``, ``zeros``, ``histogram``
    (the standard histogram's buckets ``[low, high, count]``), ``quantiles``; strings:
    ``unique``, ``avg_length``, ``top_values`` (``[value, frequency]``); bytes: ``unique``,
    ``avg_length`` (mean bytes); strings and bytes: ``unique_estimated`` (whether ``unique``
    is an estimate: :data:`UNIQUE_ESTIMATED`); every feature: ``min_num_values``,
    ``max_num_values``, ``avg_num_values``, ``tot_num_values`` (values per example). A field the feature's
    statistics do not have is None."""
    from tensorflow_metadata.proto.v0 import statistics_pb2 as st

    out = {"feature": feature_name(feature),
           "type": st.FeatureNameStatistics.Type.Name(feature.type), "stats": kind_of(feature),
           **dict.fromkeys(DIGEST_FIELDS), "unique_estimated": None, "histogram": None,
           "quantiles": None, "top_values": None}
    common = common_of(feature)
    if common is not None:
        out.update(count=common.num_non_missing, missing=common.num_missing,
                   min_num_values=common.min_num_values, max_num_values=common.max_num_values,
                   avg_num_values=_number(common.avg_num_values),
                   tot_num_values=common.tot_num_values)
        out["missing_fraction"] = (common.num_missing / num_examples if num_examples else None)
    kind = kind_of(feature)
    if kind == "num":
        n = feature.num_stats
        out.update(zeros=n.num_zeros)
        standard = [h for h in n.histograms if h.type == st.Histogram.STANDARD]
        if common is not None and common.num_non_missing and \
                not (standard and not standard[0].buckets):
            # (no value, or only NaNs, leaves them unset: 0 is not their value)
            out.update(mean=_number(n.mean), std_dev=_number(n.std_dev), min=_number(n.min),
                       median=_number(n.median), max=_number(n.max))
        for h in n.histograms:
            which = "quantiles" if h.type == st.Histogram.QUANTILES else "histogram"
            if out[which] is None:
                out[which] = [[_number(b.low_value), _number(b.high_value),
                               _number(b.sample_count)] for b in h.buckets]
    elif kind == "string":
        s = feature.string_stats
        out.update(unique=s.unique, avg_length=_number(s.avg_length),
                   top_values=[[v.value, _number(v.frequency)] for v in s.top_values])
    elif kind == "bytes":
        b = feature.bytes_stats
        out.update(unique=b.unique, avg_length=_number(b.avg_num_bytes))
    if kind in ("string", "bytes"):
        out["unique_estimated"] = any(c.name == UNIQUE_ESTIMATED for c in feature.custom_stats)
    return out


def anomaly_rows(anomalies) -> list:
    """One row per anomalous feature of an Anomalies: ``feature``, ``severity``,
    ``short_description``, ``description``, ``reasons`` (``[{"type", "short_description",
    "description"}]``), and ``diff_regions`` (the schema change it asks for, when given) as
    plain JSON; features in name order; the dataset-wide anomaly (if any) as feature ``""``."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2 as an

    def row(name, info):
        out = {"feature": name, "severity": an.AnomalyInfo.Severity.Name(info.severity),
               "short_description": info.short_description, "description": info.description,
               "reasons": [{"type": an.AnomalyInfo.Type.Name(r.type),
                            "short_description": r.short_description,
                            "description": r.description} for r in info.reason]}
        if info.diff_regions:
            out["diff_regions"] = [plain(d) for d in info.diff_regions]
        return out

    out = [row(name, anomalies.anomaly_info[name]) for name in sorted(anomalies.anomaly_info)]
    if anomalies.HasField("dataset_anomaly_info"):
        out.append(row("", anomalies.dataset_anomaly_info))
    return out


def drift_rows(anomalies) -> list:
    """One row per drift measurement of an Anomalies: ``feature``, ``measure`` (``L_INFTY``,
    ``JENSEN_SHANNON_DIVERGENCE``, ...), ``value``, ``threshold`` (None when unset: measured
    and reported, never a failure), and the skew measurements likewise with ``skew: True``."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2 as an

    out = []
    measure = an.DriftSkewInfo.Measurement.Type.Name
    for info in anomalies.drift_skew_info:
        name = feature_name(info.path)
        for skew, found in ((False, info.drift_measurements), (True, info.skew_measurements)):
            for m in found:
                out.append({"feature": name, "measure": measure(m.type),
                            "value": _number(m.value),
                            "threshold": _number(m.threshold) if m.threshold else None,
                            "skew": skew})
    return out


@dataclass(frozen=True)
class DataQualityFailure:
    """One failed data-quality check (a ``DataQualityFailure`` of validations.tfrecord):
    ``slice_key`` as the results spell slice keys (``()`` overall), ``feature``, ``kind``
    (``ANOMALY`` or ``DRIFT``), ``measure`` (the anomaly's type name, or ``L_INFTY`` /
    ``JENSEN_SHANNON_DIVERGENCE``), ``value``, ``threshold``, ``message``."""

    slice_key: tuple
    feature: str
    kind: str
    measure: str
    value: float
    threshold: float
    message: str

    @classmethod
    def from_proto(cls, proto) -> "DataQualityFailure":
        from evalbeam.io.convert import slice_key_from_proto
        from evalbeam.proto import validation_result_pb2 as vr

        return cls(slice_key_from_proto(proto.slice_key), proto.feature,
                   vr.DataQualityFailure.Kind.Name(proto.kind), proto.measure, proto.value,
                   proto.threshold, proto.message)

    def as_json(self) -> dict:
        """The failure as plain JSON (``slice`` as ``[[column, value], ...]``)."""
        return {"slice": [[c, v] for c, v in self.slice_key], "feature": self.feature,
                "kind": self.kind, "measure": self.measure, "value": _number(self.value),
                "threshold": _number(self.threshold), "message": self.message}


def slice_keys_by_dataset(keys) -> dict:
    """{TFDV dataset name: slice key} of the given slice keys (the results' slices); a name
    two keys share maps to the first."""
    out = {}
    for key in keys:
        out.setdefault(dataset_name(key), key)
    return out


@dataclass
class SliceQuality:
    """Everything a run's data-quality artifacts say about one slice: ``key`` (a slice key as
    the results spell it; for a dataset named after no slice of the results, its TFDV name,
    a str), ``dataset`` (TFDV's name), ``statistics`` / ``baseline`` (its
    ``DatasetFeatureStatistics``, None without), ``anomalies`` (its ``Anomalies``, None
    without), ``failures`` (its :class:`DataQualityFailure` rows)."""

    key: object
    dataset: str
    statistics: object = None
    baseline: object = None
    anomalies: object = None
    failures: list = None

    @property
    def name(self) -> str:
        """The slice's name as the views name slices (``Overall``, ``country=us``); an
        unmatched dataset's TFDV name."""
        from evalbeam.keys import slice_name

        return self.key if isinstance(self.key, str) else slice_name(self.key)

    def failed(self, feature: str, kind: str, measure: str) -> list:
        """The failures of this slice's check ``kind`` / ``measure`` on ``feature``."""
        return [f for f in self.failures
                if (f.feature, f.kind, f.measure) == (feature, kind, measure)]


def by_slice(result) -> list:
    """The run's data quality per slice (:class:`SliceQuality`), Overall first, then the
    slices in the order of the results' metrics, then datasets named after no slice; only
    slices some artifact speaks of."""
    keys = [()] + [k for k in list(result.metrics) + list(result.omitted) if k != ()]
    names = slice_keys_by_dataset(keys)
    found = {}

    def entry(key, dataset=None):
        got = found.get(key)
        if got is None:
            got = found[key] = SliceQuality(key, dataset or (key if isinstance(key, str)
                                                             else dataset_name(key)),
                                            failures=[])
        return got

    for which in ("statistics", "baseline"):
        stats = result.statistics if which == "statistics" else result.baseline_statistics
        for d in stats.datasets if stats is not None else ():
            setattr(entry(names.get(d.name, d.name), d.name), which, d)
    for key, anomalies in result.slice_anomalies.items():
        entry(key).anomalies = anomalies
    if result.anomalies is not None:  # the overall slice's file is the overall's word
        entry(()).anomalies = result.anomalies
    for f in result.data_quality_failures:
        entry(f.slice_key).failures.append(f)
    rank = {k: i for i, k in enumerate(keys)}
    return sorted(found.values(), key=lambda q: (isinstance(q.key, str),
                                                 rank.get(q.key, len(rank)), str(q.key)))
