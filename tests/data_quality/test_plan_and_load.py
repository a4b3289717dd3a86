"""The data_quality config and CLI flags checked with one-line errors naming the setting; the
DataQualityPlan holding features, kinds, schema and baseline statistics; load_statistics
reading our statistics.tfrecord and TFDV's own files (TFRecord, .pb, .pbtxt)."""
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from evalbeam import run_evaluation
from evalbeam.config import parse_config, resolve_config
from evalbeam.data_quality import load_statistics
from evalbeam.data_quality.kinds import Kind, kind_of
from evalbeam.errors import ConfigError, InputError
from evalbeam.io.tfrecord import write_records

BASE = """model_specs { label_key: "label" prediction_key: "prediction" }
metrics_specs { metrics { class_name: "ExampleCount" } }
"""


def _plan(body: str):
    return resolve_config(parse_config(BASE + body)).data_quality


def _stats() -> statistics_pb2.DatasetFeatureStatisticsList:
    out = statistics_pb2.DatasetFeatureStatisticsList()
    d = out.datasets.add(name="All Examples", num_examples=3)
    f = d.features.add(type=statistics_pb2.FeatureNameStatistics.INT)
    f.path.step.append("age")
    f.num_stats.mean = 4.5
    return out


def test_no_data_quality_asks_for_nothing():
    assert _plan("") is None
    assert _plan("data_quality { }") is None


@pytest.mark.parametrize("body, message", [
    ('data_quality { features: ["a", "a"] }', "data_quality.features: column 'a' is listed twice"),
    ('data_quality { features: [""] }', "data_quality.features[0]: an empty column name"),
    ('data_quality { baseline_statistics: "x" baseline_data: "y" }',
     "baseline_statistics and baseline_data both give the baseline"),
    ('data_quality { statistics: true drift_thresholds { key: "a" value: -1 } }',
     "data_quality.drift_thresholds['a']: expected a number at least 0, got -1"),
    ('data_quality { statistics: true default_drift_threshold { value: nan } }',
     "data_quality.default_drift_threshold: expected a number at least 0"),
    ('data_quality { schema_path: "/no/such/schema.pbtxt" }',
     "data_quality.schema_path /no/such/schema.pbtxt: no such file"),
    ('data_quality { baseline_statistics: "/no/such/stats.tfrecord" }',
     "data_quality.baseline_statistics /no/such/stats.tfrecord: no such file"),
])
def test_config_errors_name_the_field(body, message):
    with pytest.raises(ConfigError) as e:
        _plan(body)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_plan_holds_schema_and_baseline(tmp_path):
    schema = schema_pb2.Schema()
    schema.feature.add(name="age", type=schema_pb2.INT)
    (tmp_path / "schema.pbtxt").write_text(text_format.MessageToString(schema))
    with open(tmp_path / "stats.tfrecord", "wb") as f:
        write_records(f, [_stats().SerializeToString()])
    plan = _plan(f'data_quality {{ features: ["age"] schema_path: "{tmp_path}/schema.pbtxt" '
                 f'baseline_statistics: "{tmp_path}/stats.tfrecord" '
                 'drift_thresholds { key: "age" value: 0.1 } }')
    assert plan.features == ["age"] and plan.schema == schema
    assert plan.baseline_statistics == _stats() and plan.drift_thresholds == {"age": 0.1}
    resolved = plan.for_schema(pa.schema([("age", pa.int64()), ("x", pa.float32())]), "f")
    assert resolved.kinds == {"age": Kind("INT")}
    with pytest.raises(InputError, match="f: no column 'nope' \\(data_quality.features\\)"):
        plan.__class__(features=["nope"]).for_schema(pa.schema([("a", pa.int8())]), "f")


@pytest.mark.parametrize("typ, kind", [
    (pa.int8(), Kind("INT")), (pa.bool_(), Kind("INT")), (pa.float32(), Kind("FLOAT")),
    (pa.string(), Kind("STRING")), (pa.large_string(), Kind("STRING")),
    (pa.binary(), Kind("BYTES")), (pa.dictionary(pa.int32(), pa.string()), Kind("STRING")),
    (pa.list_(pa.int64()), Kind("INT", True)), (pa.large_list(pa.string()), Kind("STRING", True)),
])
def test_kinds_from_arrow_types(typ, kind):
    assert kind_of(typ, "c") == kind


@pytest.mark.parametrize("typ", [pa.struct([("a", pa.int8())]), pa.list_(pa.list_(pa.int8())),
                                 pa.timestamp("s"), pa.map_(pa.string(), pa.int8())])
def test_other_types_are_one_config_error_naming_the_column(typ, tmp_path):
    """Named, a column of a type statistics do not describe is an error; of every column
    read, it is left out and listed."""
    with pytest.raises(ConfigError) as e:
        kind_of(typ, "odd")
    assert "column 'odd' has type" in str(e.value) and "\n" not in str(e.value)
    t = pa.table({"label": [0, 1], "prediction": [0.2, 0.8], "odd": pa.array(
        [None, None], typ)})
    pq.write_table(t, str(tmp_path / "d.parquet"))
    with pytest.raises(ConfigError, match="column 'odd' has type"):
        run_evaluation(BASE + 'data_quality { features: ["label", "odd"] }',
                       str(tmp_path / "d.parquet"), str(tmp_path / "out"), report=False)
    result = run_evaluation(BASE + "data_quality { statistics: true }",
                            str(tmp_path / "d.parquet"), str(tmp_path / "out"), report=False)
    summary = result.summary["statistics"]["statistics.tfrecord"]
    assert list(summary["columns_not_described"]) == ["odd"]
    assert [f.path.step[0] for f in result.statistics.datasets[0].features] == \
        ["label", "prediction"]


def test_load_statistics_reads_every_form(tmp_path):
    stats = _stats()
    with open(tmp_path / "a.tfrecord", "wb") as f:
        write_records(f, [stats.SerializeToString()])
    (tmp_path / "b.pb").write_bytes(stats.SerializeToString())
    (tmp_path / "c.pbtxt").write_text(text_format.MessageToString(stats))
    (tmp_path / "d.pb").write_bytes(stats.datasets[0].SerializeToString())
    for name in ("a.tfrecord", "b.pb", "c.pbtxt", "d.pb"):
        assert load_statistics(tmp_path / name) == stats, name
    (tmp_path / "bad.pbtxt").write_text("not { a proto")
    with pytest.raises(ConfigError, match="bad.pbtxt: not a DatasetFeatureStatisticsList"):
        load_statistics(tmp_path / "bad.pbtxt")


def test_cli_flags(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    t = pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                  "country": rng.choice(["us", "fr"], n), "age": rng.integers(18, 80, n)})
    data = str(tmp_path / "d.parquet")
    pq.write_table(t, data)
    config = tmp_path / "c.textproto"
    config.write_text(BASE + 'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "evalbeam.cli", "evaluate", "--config",
                          str(config), "--data", data, "--output", str(out), "--statistics",
                          "--statistics_features", "age,country", "--baseline_data", data,
                          "--no_report", "--quiet"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "statistics: 3 slices -> statistics.tfrecord" in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert {"statistics.tfrecord", "baseline_statistics.tfrecord"} <= set(summary["files"])
    assert summary["statistics"]["statistics.tfrecord"] == {
        "slices": 3, "omitted_below_min_slice_size": 0, "rows": n}
    stats = load_statistics(out / "statistics.tfrecord")
    assert [d.name for d in stats.datasets] == ["All Examples", "country_fr", "country_us"]
    assert {f.path.step[0] for f in stats.datasets[0].features} == {"age", "country"}
    run = subprocess.run([sys.executable, "-m", "evalbeam.cli", "evaluate", "--config",
                          str(config), "--data", data, "--output", str(tmp_path / "o2"),
                          "--statistics_features", "age,,x"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2 and "--statistics_features: expected column names" in run.stderr
