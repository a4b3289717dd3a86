"""The data-quality checks of a run: every slice's statistics against the schema and the
baseline, as validation failures, per-slice records and the overall ``Anomalies``.

:func:`check_data_quality` runs, for each dataset (slice) of the statistics, the schema checks
of :mod:`~evalbeam.data_quality.anomalies` and the drift of :mod:`~evalbeam.data_quality.drift`
against the baseline's dataset of the same name. Every ERROR finding is a
``DataQualityFailure`` (kind ANOMALY: measure is the ``AnomalyInfo.Type`` name; kind DRIFT:
``L_INFTY`` or ``JENSEN_SHANNON_DIVERGENCE``). A slice the baseline has no dataset for gets a
WARNING ``COMPARATOR_CONTROL_DATA_MISSING`` in ``dataset_anomaly_info`` (no distance, no
failure); a slice with no examples is TFDV's ``data_missing`` (nothing checked).

A failure's ``message`` is in plain words with the threshold ("country: 3% of values (12 of 400)
are not in the schema's domain 'country': 'xx', 'yy' (none allowed)"); TFDV's own words are
in the ``Anomalies``. The per-slice records leave the schema out of their ``Anomalies``
(``baseline``); ``overall`` carries it, as TFDV's ``anomalies.pbtxt`` does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from evalbeam.data_quality.anomalies import schema_findings
from evalbeam.data_quality.drift import check_threshold, drift
from evalbeam.data_quality.findings import DRIFT, Finding, anomalies_proto
from evalbeam.data_quality.stats_view import ALL_EXAMPLES, DatasetView
from evalbeam.io.convert import slice_key_proto
from evalbeam.proto import data_quality_pb2, metrics_for_slice_pb2, validation_result_pb2

A = anomalies_pb2.AnomalyInfo
_Failure = validation_result_pb2.DataQualityFailure


@dataclass
class SliceCheck:
    """What was checked on one slice."""

    name: str
    slice_key: metrics_for_slice_pb2.SliceKey
    anomalies: anomalies_pb2.Anomalies
    findings: list = field(default_factory=list)
    not_measured: list = field(default_factory=list)  # drift.NotMeasured
    baseline: str | None = None  # "found", "missing", or None without a baseline

    @property
    def failures(self) -> list:
        return [f for f in self.findings if f.severity == A.ERROR]


@dataclass
class DataQualityOutcome:
    failures: list  # DataQualityFailure
    slice_records: list  # SliceAnomalies, one per slice in the statistics' order
    overall: anomalies_pb2.Anomalies | None  # "All Examples", with the schema as baseline
    slices: list  # SliceCheck

    def summary(self) -> dict:
        """For summary.json: per slice the anomaly and drift failures and the drift measured;
        the overall slice's drift per feature (threshold None: none applies)."""
        slices, drift_rows, not_measured = {}, [], []
        for check in self.slices:
            failures = check.failures
            slices[check.name] = {
                "anomalies": sum(f.kind != DRIFT for f in failures),
                "drift_failures": sum(f.kind == DRIFT for f in failures),
                "drift_measured": sum(len(i.drift_measurements)
                                      for i in check.anomalies.drift_skew_info),
                "baseline": check.baseline,
                "data_missing": check.anomalies.data_missing,
            }
            if check.name == ALL_EXAMPLES:
                drift_rows = _drift_rows(check.anomalies)
                not_measured = [{"feature": n.feature, "reason": n.reason}
                                for n in check.not_measured]
        return {"failures": len(self.failures), "slices": slices, "drift": drift_rows,
                "drift_not_measured": not_measured}


def _drift_rows(anomalies) -> list:
    rows = []
    for info in anomalies.drift_skew_info:
        for m in info.drift_measurements:
            limit = None if m.threshold == float("inf") else m.threshold
            rows.append({"feature": ".".join(info.path.step),
                         "measure": anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(m.type),
                         "value": m.value, "threshold": limit,
                         "failed": limit is not None and m.value > limit})
    return rows


def config_thresholds(data_quality) -> tuple:
    """(drift_thresholds, default_drift_threshold) of an EvalConfig's ``data_quality``."""
    default = (data_quality.default_drift_threshold.value
               if data_quality.HasField("default_drift_threshold") else None)
    return dict(data_quality.drift_thresholds), default


def check_data_quality(statistics: statistics_pb2.DatasetFeatureStatisticsList, *,
                       schema: schema_pb2.Schema | None = None,
                       baseline: statistics_pb2.DatasetFeatureStatisticsList | None = None,
                       drift_thresholds: Mapping = {},  # noqa: B006 - never modified
                       default_drift_threshold: float | None = None,
                       slice_keys: Mapping | None = None) -> DataQualityOutcome:
    """Check every slice of ``statistics``.

    ``drift_thresholds`` (feature -> threshold) and ``default_drift_threshold`` are the
    config's (they win over the schema's ``drift_comparator``); ``slice_keys`` maps a dataset
    name to its ``SliceKey`` proto (or slice-key tuple); "All Examples" needs none.
    ValueError: a threshold that is not a finite number >= 0, a dataset without a slice key.
    """
    thresholds = {name: check_threshold(name, value) for name, value in drift_thresholds.items()}
    default = (None if default_drift_threshold is None
               else check_threshold("default_drift_threshold", default_drift_threshold))
    controls = None if baseline is None else {d.name: d for d in baseline.datasets}
    checks = [_check_slice(dataset, _slice_key(dataset.name, slice_keys), schema, controls,
                           thresholds, default) for dataset in statistics.datasets]
    failures = [_failure(check.slice_key, f) for check in checks for f in check.failures]
    records = [data_quality_pb2.SliceAnomalies(slice_key=check.slice_key, slice_name=check.name,
                                               anomalies=check.anomalies.SerializeToString())
               for check in checks]
    overall = next((c.anomalies for c in checks if c.name == ALL_EXAMPLES), None)
    if overall is not None and schema is not None:
        overall = _with_baseline(overall, schema)
    return DataQualityOutcome(failures, records, overall, checks)


def _check_slice(dataset, slice_key, schema, controls, thresholds, default) -> SliceCheck:
    name = dataset.name
    if dataset.num_examples == 0:
        return SliceCheck(name, slice_key, anomalies_proto([], data_missing=True),
                          baseline=None if controls is None else
                          ("found" if name in controls else "missing"))
    view = DatasetView(dataset)
    findings = schema_findings(view, schema) if schema is not None else []
    infos, notes, state = [], [], None
    if controls is not None:
        control = controls.get(name)
        state = "missing" if control is None else "found"
        if control is None:
            findings.append(Finding(
                "", A.COMPARATOR_CONTROL_DATA_MISSING, "previous data missing",
                f"The baseline statistics have no dataset {name!r}: drift is not measured.",
                f"slice {name!r}: not in the baseline's statistics, so its drift is not measured",
                severity=A.WARNING))
        else:
            infos, more, notes = drift(view, control, schema, thresholds, default)
            findings.extend(more)
    return SliceCheck(name, slice_key, anomalies_proto(findings, infos), findings, notes, state)


def _with_baseline(anomalies, schema):
    out = anomalies_pb2.Anomalies()
    out.CopyFrom(anomalies)
    out.baseline.CopyFrom(schema)
    return out


def _slice_key(name: str, slice_keys) -> metrics_for_slice_pb2.SliceKey:
    key = None if slice_keys is None else slice_keys.get(name)
    if key is None:
        if name == ALL_EXAMPLES:
            return metrics_for_slice_pb2.SliceKey()
        raise ValueError(f"statistics dataset {name!r}: no slice key given for it")
    if isinstance(key, metrics_for_slice_pb2.SliceKey):
        return key
    return slice_key_proto(key)


def _failure(slice_key, f: Finding) -> validation_result_pb2.DataQualityFailure:
    drift_kind = f.kind == DRIFT
    return _Failure(slice_key=slice_key, feature=f.feature,
                    kind=_Failure.DRIFT if drift_kind else _Failure.ANOMALY,
                    measure=f.measure if drift_kind else f.type_name,
                    value=f.value, threshold=f.threshold, message=f.message)
