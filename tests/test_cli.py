"""The command line: exit codes, `show`, `show --json`, and one clear line for every bad input."""
import json

import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam.cli import main
from helpers_io import write

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
                metrics { class_name: "BinaryAccuracy" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] } slicing_specs { feature_keys: ["age"] }
"""


@pytest.fixture
def files(tmp_path):
    cfg = tmp_path / "config.textproto"
    cfg.write_text(CONFIG)
    data = write(make_table(500, seed=2), str(tmp_path / "data.parquet"))
    return str(cfg), data, str(tmp_path / "out")


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_then_show_json(files, capsys):
    cfg, data, out = files
    code, stdout, _ = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                          "--direct_num_workers=1")
    assert code == 0 and "evaluated 500 of 500 rows" in stdout
    code, stdout, _ = run(capsys, "show", out, "--json")
    rows = [json.loads(line) for line in stdout.splitlines()]
    overall = {r["metric"]: r for r in rows if r["slice"] == []}
    assert set(overall) == {"example_count", "auc", "binary_accuracy"}
    assert overall["auc"]["weighted"] is True and overall["auc"]["model"] == ""
    ages = [r for r in rows if r["slice"] and r["slice"][0][0] == "age"]
    assert ages and all(isinstance(r["slice"][0][1], int) for r in ages)
    countries = [r for r in rows if r["slice"] and r["slice"][0][0] == "country"]
    assert all(isinstance(r["slice"][0][1], str) for r in countries)
    code, stdout, _ = run(capsys, "show", out)
    assert code == 0 and "Overall" in stdout and "auc" in stdout


def test_exit_code_1_when_validation_fails(files, capsys, tmp_path):
    cfg, data, out = files
    failing = tmp_path / "failing.textproto"
    failing.write_text(CONFIG.replace('metrics { class_name: "AUC" }', 'metrics { class_name: "AUC" '
                                      'threshold { value_threshold { lower_bound { value: 0.99 } } } }'))
    code, stdout, _ = run(capsys, "evaluate", "--config", str(failing), "--data", data, "--output", out)
    assert code == 1 and "validation: FAILED" in stdout and "below the lower bound 0.99" in stdout


def _bad(capsys, tmp_path, table=None, config=CONFIG, data=None, fmt=None):
    cfg = tmp_path / "c.textproto"
    cfg.write_text(config)
    if data is None:
        data = write(table if table is not None else make_table(100), str(tmp_path / "d.parquet"))
    argv = ["evaluate", "--config", str(cfg), "--data", data, "--output", str(tmp_path / "o")]
    code, _, err = run(capsys, *argv + (["--format", fmt] if fmt else []))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalbeam: error: "), err
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.glob(".o.tmp-*"))  # a failed run leaves no staging directory
    return lines[0]


def _with(column, values, n=4):
    t = make_table(n, seed=1)
    return t.set_column(t.schema.get_field_index(column), column, pa.array(values))


def test_missing_column(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, make_table(50).drop_columns(["weight"]))
    assert "d.parquet" in msg and "no column 'weight'" in msg and "columns present: label" in msg
    msg = _bad(capsys, tmp_path, make_table(50).drop_columns(["age"]))
    assert "no column 'age' (slicing spec age)" in msg


def test_labels_not_binary(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, _with("label", [0, 2, 5, 1]))
    assert "'label'" in msg and "2 label(s) that are not 0 or 1 (e.g. 2, 5)" in msg and "AUC" in msg


def test_predictions_outside_unit_interval(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, _with("prediction", [0.1, 1.5, -0.2, 0.3]))
    assert "'prediction'" in msg and "2 prediction(s) outside [0, 1]" in msg


@pytest.mark.parametrize("column", ["label", "prediction", "weight"])
def test_nan_or_infinite(capsys, tmp_path, column):
    msg = _bad(capsys, tmp_path, _with(column, [0.0, float("nan"), float("inf"), 1.0]))
    assert f"'{column}'" in msg and "2 NaN or infinite value(s)" in msg


def test_negative_weights(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, _with("weight", [1.0, -2.0, 1.0, 0.5]))
    assert "1 negative weight(s) (e.g. -2)" in msg


def test_unknown_metric(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, config=CONFIG.replace('"AUC"', '"AUCC"'))
    assert "unknown metric class_name 'AUCC'; did you mean AUC?" in msg


def test_malformed_config(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, config=CONFIG.replace("slicing_specs {}", "slicing_specs {"))
    assert "c.textproto" in msg and ":" in msg


def test_no_matching_file(capsys, tmp_path):
    msg = _bad(capsys, tmp_path, data=str(tmp_path / "nothing-*.parquet"))
    assert "matches no file" in msg


def test_corrupt_tfrecord(capsys, tmp_path):
    path = write(make_table(20), str(tmp_path / "d.tfrecord"))
    raw = bytearray(open(path, "rb").read())
    raw[40] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    msg = _bad(capsys, tmp_path, data=path)
    assert "d.tfrecord" in msg and "corrupt TFRecord" in msg


def test_bad_value_in_a_later_file_names_that_file(capsys, tmp_path):
    write(make_table(50), str(tmp_path / "a.parquet"))
    write(_with("label", [0, 1, 7, 1]), str(tmp_path / "b.parquet"))
    msg = _bad(capsys, tmp_path, data=str(tmp_path / "*.parquet"))
    assert "b.parquet" in msg and "not 0 or 1" in msg


def test_show_names_class_views_and_averages(capsys, tmp_path):
    cfg = tmp_path / "config.textproto"
    cfg.write_text('model_specs { label_key: "label" prediction_key: "scores" }\n'
                   'metrics_specs { metrics { class_name: "Recall" } '
                   'binarize { class_ids { values: [0, 1] } } aggregate { macro_average: true } }')
    data = write(pa.table({"label": [0, 1, 1, 2], "scores": [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1],
                                                              [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]]}),
                 str(tmp_path / "data.parquet"))
    out = str(tmp_path / "out")
    assert run(capsys, "evaluate", "--config", str(cfg), "--data", data, "--output", out)[0] == 0
    code, stdout, _ = run(capsys, "show", out, "--json")
    rows = {(r["sub_key"], r["aggregation"]): r["value"] for r in map(json.loads, stdout.splitlines())}
    # recall of class 0: 1 of 1; of class 1: 1 of 2; their mean
    assert rows == {("classId:0", ""): 1.0, ("classId:1", ""): 0.5, ("", "macro_average"): 0.75}
    code, stdout, _ = run(capsys, "show", out)
    assert "classId:1/recall" in stdout and "macro_average/recall" in stdout


def test_a_bad_value_is_one_line_on_stderr_and_nothing_else(tmp_path):
    import subprocess
    import sys
    cfg = tmp_path / "config.textproto"
    cfg.write_text(CONFIG)
    table = make_table(50).set_column(0, "label", pa.array([2] * 50))
    data = write(table, str(tmp_path / "data.parquet"))
    done = subprocess.run([sys.executable, "-m", "evalbeam.cli", "evaluate", "--config", str(cfg),
                           "--data", data, "--output", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"evalbeam: error: {data}: column 'label' (label_key) has 50 label(s) that are not 0 or 1 "
        "(e.g. 2); AUC, BinaryAccuracy need binary labels"]
