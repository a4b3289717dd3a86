"""One reason a slice's data broke a check, and the ``Anomalies`` proto TFDV builds from them.

A :class:`Finding` is one TFDV anomaly reason (type, short description, description) plus what
evalbeam reports with it: the measured value, the threshold it broke and a plain-words message.
:func:`anomalies_proto` groups findings by feature into ``AnomalyInfo`` as TFDV's
``SchemaAnomalyBase::GetAnomalyInfo`` does (``schema_anomalies.cc``): one ``reason`` per finding,
the first description as the anomaly's, "Multiple errors" and the descriptions joined with a
space when there are several, the highest severity.
"""
from __future__ import annotations

from dataclasses import dataclass

from tensorflow_metadata.proto.v0 import anomalies_pb2

AnomalyInfo = anomalies_pb2.AnomalyInfo
ANOMALY, DRIFT = "ANOMALY", "DRIFT"


@dataclass(frozen=True)
class Finding:
    feature: str  # the feature's path ("" for the dataset)
    type: int  # AnomalyInfo.Type
    short_description: str
    description: str  # TFDV's words
    message: str  # plain words for the user, with the threshold
    value: float = 0.0
    threshold: float = 0.0
    severity: int = AnomalyInfo.ERROR
    kind: str = ANOMALY
    measure: str = ""  # DRIFT: "L_INFTY" or "JENSEN_SHANNON_DIVERGENCE"

    @property
    def type_name(self) -> str:
        return AnomalyInfo.Type.Name(self.type)


def feature_finding(feature, kind, short, description, words, value=0.0, threshold=0.0):
    """A Finding of ``feature`` (anything with a ``path``): its message is ``path: words``."""
    return Finding(feature.path, kind, short, description, f"{feature.path}: {words}",
                   float(value), float(threshold))


def _unified(findings) -> tuple:
    """(description, short description) of several reasons, as TFDV's UnifyDescriptions."""
    description, short = "", ""
    for f in findings:
        if not description:
            description, short = f.description, f.short_description
        elif f.description:
            description, short = f"{description} {f.description}", "Multiple errors"
    return description, short


def anomaly_info(findings: list, path: str) -> anomalies_pb2.AnomalyInfo:
    info = AnomalyInfo()
    if path:
        info.path.step.extend(path.split("."))
    if findings and all(f.type == AnomalyInfo.SCHEMA_NEW_COLUMN for f in findings):
        findings = findings[:1]
    for f in findings:
        info.reason.add(type=f.type, short_description=f.short_description,
                        description=f.description)
    info.description, info.short_description = _unified(findings)
    info.severity = max((f.severity for f in findings), default=AnomalyInfo.UNKNOWN)
    return info


def anomalies_proto(findings: list, drift_skew_infos=(), schema=None,
                    data_missing: bool = False) -> anomalies_pb2.Anomalies:
    """Anomalies keyed by serialized path (features in order of their first finding);
    dataset-level findings (feature "") go to ``dataset_anomaly_info``."""
    out = anomalies_pb2.Anomalies(anomaly_name_format=anomalies_pb2.Anomalies.SERIALIZED_PATH)
    if schema is not None:
        out.baseline.CopyFrom(schema)
    out.data_missing = data_missing
    by_feature: dict = {}
    for f in findings:
        by_feature.setdefault(f.feature, []).append(f)
    for path, group in by_feature.items():
        if path:
            out.anomaly_info[path].CopyFrom(anomaly_info(group, path))
        else:
            out.dataset_anomaly_info.CopyFrom(anomaly_info(group, ""))
    out.drift_skew_info.extend(drift_skew_infos)
    return out


def six_digits(x: float) -> str:
    """A number as absl::SixDigits prints it (TFDV's descriptions): six significant digits."""
    return format(float(x), ".6g")


def number(x: float) -> str:
    """A count in plain words: integers without a fraction, others (weighted counts) to 7
    significant digits."""
    x = float(x)
    return str(int(x)) if x.is_integer() else format(x, ".7g")


def percent(fraction: float) -> str:
    """A fraction as a percentage to 3 significant digits, more where those would round it to
    100% or 0% (99.97%, not 100%)."""
    value = 100 * float(fraction)
    for digits in range(3, 10):
        text = format(value, f".{digits}g")
        if (float(text) != 100 or value == 100) and (float(text) != 0 or value == 0):
            break
    return f"{text}%"
