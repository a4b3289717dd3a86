"""The output directory: evalbeam replaces only what it wrote (an earlier result, once the new
one is complete) and refuses anything else before any work, touching nothing."""
import io
import json
import os

import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam import load_result, run_evaluation
from evalbeam.cli import main
from evalbeam.errors import EvalbeamError
from evalbeam.errors import OutputError
from evalbeam.io.tfrecord import read_records
from evalbeam.proto import metrics_for_slice_pb2
from helpers_io import write

import memory_filesystem

CONFIG = BASE + 'metrics_specs { metrics { class_name: "ExampleCount" } }\nslicing_specs {}\n'
THREE_SPECS = CONFIG + ('slicing_specs { feature_keys: ["country"] } '
                        'slicing_specs { feature_keys: ["age"] }\n')


@pytest.fixture
def setup(tmp_path):
    cfg = tmp_path / "config.textproto"
    cfg.write_text(CONFIG)
    data = write(make_table(300, seed=1), str(tmp_path / "data.parquet"))
    return str(cfg), data


def evaluate(capsys, cfg, data, out, *more):
    code = main(["evaluate", "--config", cfg, "--data", data, "--output", str(out), *more])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(root):
    """{relative path: bytes} of every file under root (hidden ones too)."""
    found = {}
    for parent, _, names in os.walk(root):
        for name in names:
            path = os.path.join(parent, name)
            found[os.path.relpath(path, root)] = open(path, "rb").read()
    return found


def refused(capsys, cfg, data, out, root, *reasons):
    """The run stops with exit 2 and one line naming ``out`` and why; nothing under root changed."""
    before = snapshot(root)
    code, stdout, err = evaluate(capsys, cfg, data, out)
    assert code == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"evalbeam: error: output {out} "), err
    for reason in reasons:
        assert reason in lines[0]
    assert snapshot(root) == before
    return lines[0]


def test_a_project_folder_is_refused_and_untouched(setup, capsys, tmp_path):
    cfg, data = setup
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "train.py").write_text("print('my model')\n")
    refused(capsys, cfg, data, proj, tmp_path, "not empty and not an evalbeam result",
            "train.py")
    # the config inside the folder is named as the reason
    (proj / "eval.textproto").write_text(CONFIG)
    refused(capsys, str(proj / "eval.textproto"), data, proj, tmp_path, "holds an input",
            "eval.textproto")


def test_an_existing_file_is_refused(setup, capsys, tmp_path):
    cfg, data = setup
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    refused(capsys, cfg, data, notes, tmp_path, "is an existing file")
    refused(capsys, cfg, data, notes / "out", tmp_path, "cannot be created", "is a file")


def test_the_current_directory_and_its_parents_are_refused(setup, capsys, tmp_path,
                                                           monkeypatch):
    cfg, data = setup
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # empty, and still not to be replaced
    refused(capsys, cfg, data, ".", tmp_path, "is the current directory")
    refused(capsys, cfg, data, str(tmp_path), tmp_path, "holds the current directory")


def test_a_directory_holding_the_data_is_refused(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    data = write(make_table(50), str(out / "metrics-00000-of-00001.tfrecord"))  # named like ours
    cfg = tmp_path / "c.textproto"
    cfg.write_text(CONFIG)
    refused(capsys, str(cfg), data, out, tmp_path, "holds an input")


def test_an_unwritable_location_is_one_line_before_the_pipeline(setup, capsys, tmp_path):
    cfg, data = setup
    code, _, err = evaluate(capsys, cfg, data, "/proc/evalbeam-out")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("evalbeam: error: output /proc/evalbeam-out cannot be written")
    code, _, err = evaluate(capsys, cfg, data, "nosuchscheme://bucket/out")
    assert code == 2 and "no filesystem for nosuchscheme://" in err and err.count("\n") == 1


def test_missing_and_empty_directories_are_written(setup, capsys, tmp_path):
    cfg, data = setup
    assert evaluate(capsys, cfg, data, tmp_path / "a" / "b" / "new")[0] == 0
    (tmp_path / "empty").mkdir()
    assert evaluate(capsys, cfg, data, tmp_path / "empty")[0] == 0
    assert load_result(str(tmp_path / "empty")).summary["rows_read"] == 300
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no staging left


def test_an_earlier_result_is_replaced_by_the_new_one(capsys, tmp_path):
    three = tmp_path / "three.textproto"
    three.write_text(THREE_SPECS)
    one = tmp_path / "one.textproto"
    one.write_text(CONFIG)
    first = write(make_table(500, seed=1), str(tmp_path / "first.parquet"))
    second = write(make_table(120, seed=2), str(tmp_path / "second.parquet"))
    out = tmp_path / "out"
    assert evaluate(capsys, str(three), first, out)[0] == 0
    assert len([n for n in os.listdir(out) if n.startswith("metrics-")]) == 3
    assert evaluate(capsys, str(one), second, out)[0] == 0
    result = load_result(str(out))
    assert result.summary["rows_read"] == 120 and list(result.metrics) == [()]
    assert sorted(os.listdir(out)) == sorted(result.summary["files"] + ["summary.json"])
    assert "metrics-00000-of-00001.tfrecord" in os.listdir(out)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_a_result_with_a_file_of_the_users_is_not_replaced(setup, capsys, tmp_path):
    cfg, data = setup
    out = tmp_path / "out"
    assert evaluate(capsys, cfg, data, out)[0] == 0
    (out / "my-analysis.md").write_text("AUC looks fine\n")
    refused(capsys, cfg, data, out, tmp_path, "my-analysis.md")
    # a folder that looks like a result but was not written by evalbeam
    (out / "my-analysis.md").unlink()
    run = json.loads((out / "eval_config.json").read_text())
    run["version"] = "tfma 0.46.0"
    (out / "eval_config.json").write_text(json.dumps(run))
    refused(capsys, cfg, data, out, tmp_path, "eval_config.json")


def test_a_failed_run_keeps_the_earlier_result(setup, capsys, tmp_path):
    cfg, data = setup
    out = tmp_path / "out"
    assert evaluate(capsys, cfg, data, out)[0] == 0
    before = snapshot(out)
    bad = make_table(40).set_column(2, "weight", pa.array([-1.0] * 40))
    code, _, err = evaluate(capsys, cfg, write(bad, str(tmp_path / "bad.parquet")), out)
    assert code == 2 and "negative weight" in err
    assert snapshot(out) == before
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_the_python_api_raises_before_any_work(setup, tmp_path):
    from evalbeam import evaluate_and_bless

    cfg, data = setup
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "train.py").write_text("x = 1\n")
    with pytest.raises(OutputError, match=r"output .*proj is not empty and not an evalbeam "
                                          r"result \(it holds train.py\)"):
        run_evaluation(cfg, data, str(proj))
    with pytest.raises(EvalbeamError, match="holds train.py"):
        evaluate_and_bless(data, cfg, str(proj))
    assert sorted(os.listdir(proj)) == ["train.py"]


# -- object stores -------------------------------------------------------------------------------
def _objects(prefix):
    return sorted(n[len(prefix):] for n in memory_filesystem.OBJECTS if n.startswith(prefix))


def test_object_store_result_never_mixes_with_an_older_one(capsys, tmp_path):
    memory_filesystem.OBJECTS.clear()
    three = tmp_path / "three.textproto"
    three.write_text(THREE_SPECS)
    one = tmp_path / "one.textproto"
    one.write_text(CONFIG)
    first = write(make_table(500, seed=1), str(tmp_path / "first.parquet"))
    second = write(make_table(120, seed=2), str(tmp_path / "second.parquet"))
    out = "memstore://bucket/runs/eval"
    assert evaluate(capsys, str(three), first, out)[0] == 0
    old_shard = memory_filesystem.OBJECTS[f"{out}/metrics-00001-of-00003.tfrecord"]
    assert evaluate(capsys, str(one), second, out)[0] == 0
    result = load_result(out)
    # the older run's shards are gone, and only the new run's files are there
    assert _objects(out + "/") == sorted(result.summary["files"] + ["summary.json"])
    assert not _objects("memstore://bucket/runs/.")  # no staging left behind
    # a file of an older run in the same place (e.g. a replace that was interrupted) is not read
    memory_filesystem.OBJECTS[f"{out}/metrics-00001-of-00003.tfrecord"] = old_shard
    result = load_result(out)
    assert list(result.metrics) == [()]
    countries = [metrics_for_slice_pb2.MetricsForSlice.FromString(r).slice_key
                 for r in read_records(io.BytesIO(old_shard), "old")]
    assert countries  # the stale shard held slices the loader left out


def test_object_store_failed_run_keeps_the_earlier_result(setup, capsys, tmp_path):
    memory_filesystem.OBJECTS.clear()
    cfg, data = setup
    out = "memstore://bucket/eval"
    assert evaluate(capsys, cfg, data, out)[0] == 0
    before = dict(memory_filesystem.OBJECTS)
    bad = make_table(40).set_column(2, "weight", pa.array([-1.0] * 40))
    code, _, err = evaluate(capsys, cfg, write(bad, str(tmp_path / "bad.parquet")), out)
    assert code == 2 and "negative weight" in err
    assert memory_filesystem.OBJECTS == before
    # a run that fails once its files are staged leaves none of them behind
    from evalbeam.errors import InputError
    from evalbeam.io import output_location

    def interrupted(staging, output_dir, files):
        assert len(_objects(staging + "/")) == len(files) + 1
        raise InputError("interrupted")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(output_location, "put_in_place", interrupted)
        code, _, err = evaluate(capsys, cfg, data, out)
    assert code == 2 and "interrupted" in err
    assert memory_filesystem.OBJECTS == before


def test_object_store_place_with_other_objects_is_refused(setup, capsys, tmp_path):
    memory_filesystem.OBJECTS.clear()
    cfg, data = setup
    memory_filesystem.OBJECTS["memstore://bucket/models/model.pkl"] = b"weights"
    code, _, err = evaluate(capsys, cfg, data, "memstore://bucket/models")
    assert code == 2 and "holds model.pkl" in err and err.count("\n") == 1
    assert memory_filesystem.OBJECTS == {"memstore://bucket/models/model.pkl": b"weights"}
    code = main(["show", "memstore://bucket/nothing"])
    assert code == 2 and capsys.readouterr().err == (
        "evalbeam: error: memstore://bucket/nothing: no such directory (nothing is stored under "
        "it)\n")


# -- demo --------------------------------------------------------------------------------------
def demo(capsys, folder, rows="3000"):
    code = main(["demo", "--output", str(folder), "--rows", rows])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_refuses_a_users_folder(capsys, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    write(make_table(10), str(folder / "data.parquet"))  # the user's own data.parquet
    before = snapshot(tmp_path)
    code, stdout, err = demo(capsys, folder)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert f"demo --output {folder} holds files the demo did not write (data.parquet)" in err
    assert snapshot(tmp_path) == before


def test_demo_replaces_its_own_folder(capsys, tmp_path):
    folder = tmp_path / "demo"
    code, stdout, _ = demo(capsys, folder)
    assert code == 0 and "evaluated 3000 of 3000 rows" in stdout
    code, stdout, _ = demo(capsys, folder, rows="2000")
    assert code == 0 and "evaluated 2000 of 2000 rows" in stdout
    assert sorted(os.listdir(folder)) == ["data.parquet", "result"]
    assert load_result(str(folder / "result")).summary["rows_read"] == 2000


def test_demo_with_no_rows_is_one_line(capsys, tmp_path):
    code, stdout, err = demo(capsys, tmp_path / "d", rows="0")
    assert code == 2 and err == "evalbeam: error: demo --rows must be at least 1, got 0\n"
    assert not (tmp_path / "d").exists()


def test_the_ptransform_refuses_at_graph_build_time(tmp_path):
    from evalbeam import Evaluate

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "train.py").write_text("x = 1\n")
    with pytest.raises(OutputError, match="holds train.py"):
        Evaluate(CONFIG, str(proj))


def test_a_result_file_listed_in_its_summary_counts_as_the_results(setup, capsys, tmp_path):
    cfg, data = setup
    out = tmp_path / "out"
    assert evaluate(capsys, cfg, data, out)[0] == 0
    # an artifact a newer evalbeam writes is listed in the result's summary.json
    (out / "statistics.tfrecord").write_text("future\n")
    summary = json.loads((out / "summary.json").read_text())
    summary["files"].append("statistics.tfrecord")
    (out / "summary.json").write_text(json.dumps(summary))
    assert evaluate(capsys, cfg, data, out)[0] == 0
    assert "statistics.tfrecord" not in os.listdir(out)
