"""check_data_quality over slices: failures with slice keys, SliceAnomalies records, the
overall Anomalies, the summary; a shifted copy fails the drift gate, an unshifted one passes."""
import numpy as np
import pytest
from google.protobuf import text_format
from stats_builder import FNS, dataset, numeric_feature, statistics, string_feature
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from evalbeam.data_quality.checks import check_data_quality
from evalbeam.io.convert import slice_key_proto
from evalbeam.proto import validation_result_pb2

A = anomalies_pb2.AnomalyInfo
Failure = validation_result_pb2.DataQualityFailure
SCHEMA = text_format.Parse("""
feature { name: "country" type: BYTES domain: "country" presence { min_count: 1 } }
feature { name: "age" type: INT int_domain { min: 18 max: 80 } presence { min_count: 1 } }
string_domain { name: "country" value: ["de", "us"] }
""", schema_pb2.Schema())
KEYS = {"All Examples": (), "country_us": (("country", "us"),),
        "country_de": (("country", "de"),)}


def run_stats(seed=0, n=600, age_shift=0, extra_country=None):
    """Statistics of an overall slice and one per country, from numpy rows."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["us", "de"], n, p=[0.6, 0.4]).astype(object)
    if extra_country:
        country[:30] = extra_country
    age = np.clip(rng.normal(45 + age_shift, 8, n).round(), 18, 200).astype(int)
    bounds = np.linspace(0, 200, 21)

    def one(name, mask):
        return dataset(name, int(mask.sum()), string_feature("country", list(country[mask])),
                       numeric_feature("age", list(age[mask]), bounds, type=FNS.INT))

    return statistics(one("All Examples", np.ones(n, bool)),
                      *(one(f"country_{c}", country == c) for c in ("us", "de")))


def test_clean_run_passes_and_records_every_slice():
    out = check_data_quality(run_stats(), schema=SCHEMA, baseline=run_stats(seed=1),
                             default_drift_threshold=0.1, slice_keys=KEYS)
    assert out.failures == []
    assert [r.slice_name for r in out.slice_records] == list(KEYS)
    for record in out.slice_records:
        anomalies = anomalies_pb2.Anomalies.FromString(record.anomalies)
        assert not anomalies.anomaly_info
        assert {tuple(i.path.step) for i in anomalies.drift_skew_info} == {("country",), ("age",)}
        assert record.slice_key == slice_key_proto(KEYS[record.slice_name])
    assert out.overall.baseline == SCHEMA and len(out.overall.drift_skew_info) == 2
    summary = out.summary()
    assert summary["failures"] == 0
    assert summary["slices"]["country_us"] == {"anomalies": 0, "drift_failures": 0,
                                               "drift_measured": 2, "baseline": "found",
                                               "data_missing": False}
    assert {r["feature"]: (r["measure"], r["threshold"], r["failed"]) for r in summary["drift"]} \
        == {"country": ("L_INFTY", 0.1, False), "age": ("JENSEN_SHANNON_DIVERGENCE", 0.1, False)}


def test_shifted_copy_fails_the_drift_gate():
    out = check_data_quality(run_stats(age_shift=20), schema=SCHEMA, baseline=run_stats(seed=1),
                             drift_thresholds={"age": 0.1}, slice_keys=KEYS)
    drift = [f for f in out.failures if f.kind == Failure.DRIFT]
    assert {(f.feature, f.measure) for f in drift} == {("age", "JENSEN_SHANNON_DIVERGENCE")}
    assert len(drift) == 3  # overall and both countries
    assert all(f.value > 0.1 and f.threshold == 0.1 for f in drift)
    us = next(f for f in drift if f.slice_key == slice_key_proto((("country", "us"),)))
    assert us.message.startswith("age: Jensen-Shannon divergence ")
    assert us.message.endswith("above the threshold 0.1")
    # the drift is a reason of the feature's anomaly beside its schema ones (ages above 80)
    assert [r.type for r in out.overall.anomaly_info["age"].reason] == [
        A.INT_TYPE_BIG_INT, A.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH]
    # without thresholds the same drift is measured and reported, never a failure
    quiet = check_data_quality(run_stats(age_shift=20), baseline=run_stats(seed=1),
                               slice_keys=KEYS)
    assert quiet.failures == [] and quiet.summary()["drift"][1]["threshold"] is None


def test_anomalies_per_slice_with_slice_keys():
    out = check_data_quality(run_stats(extra_country="xx"), schema=SCHEMA, slice_keys=KEYS)
    # "xx" is only in the overall slice (the country slices are us and de)
    [f] = out.failures
    assert (f.feature, f.kind, f.measure) == ("country", Failure.ANOMALY,
                                              "ENUM_TYPE_UNEXPECTED_STRING_VALUES")
    assert f.slice_key == slice_key_proto(()) and f.value == pytest.approx(30 / 600)
    assert f.message == ("country: 5% of values (30 of 600) are not in the schema's domain "
                         "'country': 'xx' (none allowed)")
    assert out.summary()["slices"]["All Examples"]["anomalies"] == 1
    assert out.summary()["slices"]["country_us"]["baseline"] is None


def test_slice_missing_from_the_baseline_is_said_not_failed():
    base = run_stats(seed=1)
    del base.datasets[2]  # no country_de
    out = check_data_quality(run_stats(), baseline=base, default_drift_threshold=0.1,
                             slice_keys=KEYS)
    assert out.failures == []
    record = anomalies_pb2.Anomalies.FromString(out.slice_records[2].anomalies)
    info = record.dataset_anomaly_info
    assert info.severity == A.WARNING and info.reason[0].type == A.COMPARATOR_CONTROL_DATA_MISSING
    assert not record.drift_skew_info
    assert out.summary()["slices"]["country_de"]["baseline"] == "missing"


def test_slice_keys_are_needed_beyond_the_overall_slice():
    with pytest.raises(ValueError, match="statistics dataset 'country_us': no slice key"):
        check_data_quality(run_stats(), schema=SCHEMA)
    proto_keys = {name: slice_key_proto(key) for name, key in KEYS.items()}
    assert check_data_quality(run_stats(), schema=SCHEMA, slice_keys=proto_keys).failures == []


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match="drift threshold age: expected a finite number >= 0"):
        check_data_quality(run_stats(), drift_thresholds={"age": -1}, slice_keys=KEYS)
    with pytest.raises(ValueError, match="drift threshold default_drift_threshold"):
        check_data_quality(run_stats(), default_drift_threshold=float("nan"), slice_keys=KEYS)


def test_empty_slice_is_data_missing():
    stats = statistics(dataset("All Examples", 0))
    out = check_data_quality(stats, schema=SCHEMA)
    assert out.failures == [] and out.overall.data_missing
    assert out.summary()["slices"]["All Examples"]["data_missing"] is True


def test_thresholds_from_the_config():
    from evalbeam.data_quality.checks import config_thresholds
    from evalbeam.proto import config_pb2

    dq = config_pb2.DataQuality(drift_thresholds={"age": 0.2})
    assert config_thresholds(dq) == ({"age": 0.2}, None)
    dq.default_drift_threshold.value = 0.0
    assert config_thresholds(dq) == ({"age": 0.2}, 0.0)


def test_summary_is_strict_json_and_overall_round_trips_as_text():
    import json

    out = check_data_quality(run_stats(age_shift=20), schema=SCHEMA, baseline=run_stats(seed=1),
                             slice_keys=KEYS)
    json.dumps(out.summary(), allow_nan=False)
    text = text_format.MessageToString(out.overall)  # anomalies.pbtxt
    assert "threshold: inf" in text  # measured without a threshold
    assert text_format.Parse(text, anomalies_pb2.Anomalies()) == out.overall
