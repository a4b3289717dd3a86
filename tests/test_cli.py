"""The command line: exit codes, `show`, `show --json`, and one clear line for every bad input."""
import json

import pyarrow as pa
import pytest

from bad_input import CONFIG, one_line_error, run
from conftest import make_table
from helpers_io import write


@pytest.fixture
def files(tmp_path):
    cfg = tmp_path / "config.textproto"
    cfg.write_text(CONFIG)
    data = write(make_table(500, seed=2), str(tmp_path / "data.parquet"))
    return str(cfg), data, str(tmp_path / "out")


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


def test_unknown_metric(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, config=CONFIG.replace('"AUC"', '"AUCC"'))
    assert "unknown metric class_name 'AUCC'; did you mean AUC?" in msg


def test_malformed_config(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, config=CONFIG.replace("slicing_specs {}", "slicing_specs {"))
    assert "c.textproto" in msg and ":" in msg


def test_no_matching_file(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, data=str(tmp_path / "nothing-*.parquet"))
    assert "matches no file" in msg


def test_corrupt_tfrecord(capsys, tmp_path):
    path = write(make_table(20), str(tmp_path / "d.tfrecord"))
    raw = bytearray(open(path, "rb").read())
    raw[40] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    msg = one_line_error(capsys, tmp_path, data=path)
    assert "d.tfrecord" in msg and "corrupt TFRecord" in msg


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
