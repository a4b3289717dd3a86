"""Data quality end to end through the command line: a schema inferred from data, anomalies
and drift beyond their thresholds failing the gate (exit 1, NOT_BLESSED, listed by show), and
clean data passing it; the values checked against numpy on the same rows."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from conftest import BASE, make_table
from evalbeam import cli, load_result
from evalbeam.io.tfrecord import read_records
from evalbeam.proto import data_quality_pb2

METRICS = 'metrics_specs { metrics { class_name: "ExampleCount" } }\n'


def _config(tmp_path, extra="", specs="slicing_specs {}\n"):
    path = tmp_path / "config.textproto"
    path.write_text(BASE + METRICS + specs + extra)
    return str(path)


def _write(tmp_path, name, table):
    path = tmp_path / name
    pq.write_table(table, path)
    return str(path)


def _evaluate(capsys, config, data, out, *flags):
    code = cli.main(["evaluate", "--config", config, "--data", data, "--output", str(out),
                     "--no_report", *flags])
    return code, capsys.readouterr()


def _shares(table, column):
    """{value: weighted share} of a string column, by numpy."""
    w = table.column("weight").to_numpy()
    values = np.array(table.column(column).to_pylist(), dtype=object)
    return {v: w[values == v].sum() / w.sum() for v in set(values)}


def test_drift_beyond_its_threshold_fails_the_gate(tmp_path, capsys):
    table = make_table(6000, seed=0)
    countries = np.array(table.column("country").to_pylist(), dtype=object)
    moved = countries.copy()
    moved[moved == "jp"] = "us"  # the baseline had no jp: its rows were us
    baseline = table.set_column(table.schema.get_field_index("country"), "country",
                                pa.array(list(moved)))
    config = _config(tmp_path, 'data_quality { drift_thresholds { key: "country" value: 0.05 } }\n')
    out = tmp_path / "out"
    code, said = _evaluate(capsys, config, _write(tmp_path, "data.parquet", table), out,
                           "--baseline_data", _write(tmp_path, "baseline.parquet", baseline))
    now, before = _shares(table, "country"), _shares(baseline, "country")
    expected = max(abs(now.get(v, 0) - before.get(v, 0)) for v in set(now) | set(before))
    assert expected > 0.05
    assert code == 1, said.err
    assert (out / "NOT_BLESSED").exists()
    result = load_result(str(out))
    failures = result.validation.data_quality_failures
    assert [(f.feature, f.measure) for f in failures] == [("country", "L_INFTY")]
    assert failures[0].value == pytest.approx(expected, rel=1e-9)
    assert failures[0].threshold == 0.05
    assert "country" in said.out and "L_INFTY" in said.out  # listed with the outcome
    shown = cli.main(["show", str(out)])
    text = capsys.readouterr().out
    assert shown == 0 and "L_INFTY" in text and "0.05" in text
    # every measured feature is in anomalies.pbtxt, failing or not
    overall = text_format.Parse((out / "anomalies.pbtxt").read_text(), anomalies_pb2.Anomalies())
    measured = {".".join(i.path.step): i.drift_measurements[0] for i in overall.drift_skew_info}
    assert measured["country"].value == pytest.approx(expected, rel=1e-9)
    assert measured["device"].value == pytest.approx(0.0, abs=1e-12)  # unchanged
    assert "country" in overall.anomaly_info
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data_quality_failures"] == 1 and summary["data_quality"]["failures"] == 1


def test_data_like_the_baseline_passes(tmp_path, capsys):
    """The same distribution drawn again: the drift measured is small and under 0.05."""
    config = _config(tmp_path, 'data_quality { default_drift_threshold { value: 0.05 } }\n')
    out = tmp_path / "out"
    data = _write(tmp_path, "data.parquet", make_table(20000, seed=0))
    code, said = _evaluate(capsys, config, data, out, "--baseline_data",
                           _write(tmp_path, "baseline.parquet", make_table(20000, seed=1)))
    assert code == 0, said.out + said.err
    assert (out / "BLESSED").exists()  # the drift thresholds are the run's thresholds
    validation = load_result(str(out)).validation
    assert validation.validation_ok and not validation.missing_thresholds
    assert not validation.data_quality_failures
    overall = text_format.Parse((out / "anomalies.pbtxt").read_text(), anomalies_pb2.Anomalies())
    assert len(overall.drift_skew_info) == 6  # every column measured
    assert all(0 <= i.drift_measurements[0].value < 0.05 for i in overall.drift_skew_info)


def test_an_inferred_schema_passes_its_data_and_catches_a_new_category(tmp_path, capsys):
    table = make_table(5000, seed=0)
    data = _write(tmp_path, "data.parquet", table)
    schema_path = tmp_path / "schema.pbtxt"
    assert cli.main(["infer-schema", "--data", data, "-o", str(schema_path)]) == 0
    said = capsys.readouterr().out
    assert "string domains: country, device" in said
    schema = text_format.Parse(schema_path.read_text(), schema_pb2.Schema())
    features = {f.name: f for f in schema.feature}
    assert {n: schema_pb2.FeatureType.Name(f.type) for n, f in features.items()} == {
        "label": "INT", "prediction": "FLOAT", "weight": "FLOAT", "country": "BYTES",
        "device": "BYTES", "age": "INT"}
    assert all(f.presence.min_fraction == 1.0 for f in features.values())
    domains = {d.name: sorted(d.value) for d in schema.string_domain}
    assert domains == {"country": ["de", "fr", "jp", "us"], "device": ["desktop", "mobile"]}

    config = _config(tmp_path, specs='slicing_specs {} slicing_specs { feature_keys: "device" }\n')
    code, said = _evaluate(capsys, config, data, tmp_path / "clean", "--schema", str(schema_path))
    assert code == 0, said.out + said.err  # its own data passes
    assert load_result(str(tmp_path / "clean")).validation.validation_ok

    countries = np.array(table.column("country").to_pylist(), dtype=object)
    countries[::50] = "xx"  # a category the schema does not know, in 2% of rows
    bad = table.set_column(table.schema.get_field_index("country"), "country",
                           pa.array(list(countries)))
    out = tmp_path / "out"
    code, said = _evaluate(capsys, config, _write(tmp_path, "bad.parquet", bad), out,
                           "--schema", str(schema_path))
    assert code == 1
    failures = load_result(str(out)).validation.data_quality_failures
    overall = [f for f in failures if not f.slice_key.single_slice_keys]
    assert [(f.feature, f.measure) for f in overall] == [
        ("country", "ENUM_TYPE_UNEXPECTED_STRING_VALUES")]
    assert overall[0].value == pytest.approx(_shares(bad, "country")["xx"], rel=1e-9)
    assert "'xx'" in overall[0].message
    sliced = {f.slice_key.single_slice_keys[0].bytes_value for f in failures if f not in overall}
    assert sliced == {b"desktop", b"mobile"}  # each device slice has the new category too
    with open(out / "slice_anomalies.tfrecord", "rb") as f:
        records = [data_quality_pb2.SliceAnomalies.FromString(r)
                   for r in read_records(f, "slice_anomalies")]
    assert sorted(r.slice_name for r in records) == ["All Examples", "device_desktop",
                                                     "device_mobile"]
    for r in records:
        assert "country" in anomalies_pb2.Anomalies.FromString(r.anomalies).anomaly_info


def test_infer_schema_never_replaces_a_file_unless_told(tmp_path, capsys):
    data = _write(tmp_path, "data.parquet", make_table(500))
    target = tmp_path / "schema.pbtxt"
    target.write_text("mine\n")
    assert cli.main(["infer-schema", "--data", data, "-o", str(target)]) == 2
    assert "exists; not replacing it" in capsys.readouterr().err
    assert target.read_text() == "mine\n"
    assert cli.main(["infer-schema", "--data", data, "-o", str(target), "--overwrite"]) == 0
    assert text_format.Parse(target.read_text(), schema_pb2.Schema()).feature
    assert cli.main(["infer-schema", "--data", data, "-o", str(target), "--features", "age,,x"]) == 2
    assert cli.main(["infer-schema", "--data", data, "-o", str(tmp_path / "s2.pbtxt"),
                     "--features", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err


def test_an_earlier_runs_statistics_are_a_baseline(tmp_path, capsys):
    data = _write(tmp_path, "data.parquet", make_table(3000))
    first = tmp_path / "first"
    code, said = _evaluate(capsys, _config(tmp_path), data, first, "--statistics")
    assert code == 0 and (first / "statistics.tfrecord").exists()
    config = _config(tmp_path, 'data_quality { default_drift_threshold { value: 0.0 } }\n')
    code, said = _evaluate(capsys, config, data, tmp_path / "again", "--baseline_statistics",
                           str(first / "statistics.tfrecord"))
    assert code == 0, said.out + said.err  # the same data: no drift at all
