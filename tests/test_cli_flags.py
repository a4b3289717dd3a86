"""The command line's flags: typos are errors, every data path is read, help and version,
runners and job services, and exit code 3 for internal errors."""
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam import load_result, pipeline_flags
from evalbeam.cli import main
from helpers_io import write

CONFIG = BASE + ('metrics_specs { metrics { class_name: "ExampleCount" } }\n'
                 'slicing_specs {} slicing_specs { feature_keys: ["country"] }\n')


@pytest.fixture
def files(tmp_path):
    cfg = tmp_path / "config.textproto"
    cfg.write_text(CONFIG)
    data = write(make_table(200, seed=3), str(tmp_path / "data.parquet"))
    return str(cfg), data, str(tmp_path / "out")


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli(*argv, **kwargs):
    """The installed command, as a user runs it (the tree's package on PYTHONPATH)."""
    return subprocess.run([sys.executable, "-m", "evalbeam.cli", *argv], capture_output=True,
                          text=True, env=os.environ.copy(), **kwargs)


def one_line_error(code, err, *parts):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalbeam: error: "), err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("typo, message", [
    (["--shema", "x.pbtxt"], "unknown flag --shema (did you mean --schema?)"),
    (["--direct_num_worker=2"], "unknown flag --direct_num_worker (did you mean "
                                "--direct_num_workers?)"),
    (["--direct-num-workers=2"], "unknown flag --direct-num-workers (did you mean "
                                 "--direct_num_workers?)"),
    (["--out", "elsewhere"], "unknown flag --out (did you mean --output?)"),
])
def test_a_typo_stops_the_run(files, capsys, typo, message):
    cfg, data, out = files
    code, stdout, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                            *typo)
    one_line_error(code, err, message)
    assert stdout == "" and not os.path.exists(out)


def test_own_flags_take_the_hyphenated_spelling_too(capsys, tmp_path):
    table = make_table(300, seed=5)
    rng = np.random.default_rng(0)
    table = table.append_column("p_new", pa.array(rng.random(300)))
    cfg = tmp_path / "prod.textproto"
    cfg.write_text('model_specs { name: "prod" label_key: "label" prediction_key: "prediction" }\n'
                   'metrics_specs { metrics { class_name: "BinaryAccuracy" } }\n')
    gate = tmp_path / "gate.textproto"
    gate.write_text('model_specs { name: "prod" label_key: "label" prediction_key: "prediction" '
                    'is_baseline: true }\n'
                    'model_specs { name: "new" label_key: "label" prediction_key: "p_new" }\n'
                    'metrics_specs { metrics { class_name: "BinaryAccuracy" } }\n')
    data = write(table, str(tmp_path / "all.parquet"))
    assert run(capsys, "evaluate", "--config", str(cfg), "--data", data,
               "--output", str(tmp_path / "prod"))[0] == 0
    # the candidate's data lacks the baseline's predictions: they come from the earlier result
    candidate = write(table.drop_columns(["prediction"]), str(tmp_path / "new.parquet"))
    code, _, err = run(capsys, "evaluate", "--config", str(gate), "--data", candidate,
                       "--output", str(tmp_path / "new"), "--baseline-result",
                       str(tmp_path / "prod"), "--batch-size", "64")
    assert code == 0, err
    label = table.column("label").to_numpy()
    accuracy = {name: np.mean((table.column(col).to_numpy() > 0.5) == label)
                for name, col in [("prod", "prediction"), ("new", "p_new")]}
    result = load_result(str(tmp_path / "new"))
    assert result.value("binary_accuracy", (), "new", diff=True) == pytest.approx(
        accuracy["new"] - accuracy["prod"])


def test_every_data_path_is_read(capsys, tmp_path):
    # what the shell makes of an unquoted --data ./data-*.parquet
    cfg = tmp_path / "c.textproto"
    cfg.write_text(CONFIG)
    paths = [write(make_table(n, seed=n), str(tmp_path / f"data-{i}.parquet"))
             for i, n in enumerate([100, 70, 30])]
    out = str(tmp_path / "out")
    code, stdout, _ = run(capsys, "evaluate", "--config", str(cfg), "--data", *paths,
                          "--output", out)
    assert code == 0 and "evaluated 200 of 200 rows" in stdout
    assert load_result(out).summary["rows_read"] == 200
    # a path left over after another flag is an error, never handed to Beam
    code, _, err = run(capsys, "evaluate", "--config", str(cfg), "--data", paths[0],
                       "--output", str(tmp_path / "o2"), *paths[1:])
    one_line_error(code, err, f"unexpected argument {paths[1]!r}", "--data")
    assert not os.path.exists(tmp_path / "o2")


def test_beam_flags_with_a_separate_value_or_equals(files, capsys):
    cfg, data, out = files
    code, stdout, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                            "--direct_num_workers", "1", "--direct_running_mode=in_memory",
                            "--runner", "DirectRunner")
    assert code == 0, err
    assert "evaluated 200 of 200 rows" in stdout


def test_unknown_runner_is_one_line(files, capsys):
    cfg, data, out = files
    code, _, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                       "--runner=DirectRuner")
    one_line_error(code, err, "unknown runner 'DirectRuner' for --runner (did you mean "
                              "DirectRunner?)", "PortableRunner")
    code, _, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                       "--runner", "no_such_module.Runner")
    one_line_error(code, err, "runner 'no_such_module.Runner' cannot be loaded")
    assert not os.path.exists(out)


def _closed_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize("flags", [["--job_server_timeout=2"], []])
def test_a_dead_job_endpoint_fails_in_the_stated_time(files, capsys, monkeypatch, flags):
    monkeypatch.setattr(pipeline_flags, "JOB_ENDPOINT_TIMEOUT", 2)  # the default's path
    cfg, data, out = files
    endpoint = f"localhost:{_closed_port()}"
    start = time.monotonic()
    code, _, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out,
                       "--runner=PortableRunner", f"--job_endpoint={endpoint}", *flags)
    assert time.monotonic() - start < 20
    one_line_error(code, err, f"no job service answers at {endpoint} (--job_endpoint) within 2 s")
    assert not os.path.exists(out)


def test_an_internal_error_exits_3_with_its_traceback(files, capsys, monkeypatch):
    import evalbeam.api

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evalbeam.api, "finish_artifacts", disk_full)
    cfg, data, out = files
    code, _, err = run(capsys, "evaluate", "--config", cfg, "--data", data, "--output", out)
    assert code == 3
    assert "Traceback" in err and "No space left on device" in err
    assert err.strip().splitlines()[-1].startswith("evalbeam: internal error (exit code 3)")
    assert not os.path.exists(out)


def test_version_and_help():
    from evalbeam import __version__

    done = cli("--version")
    assert done.returncode == 0 and done.stdout == f"evalbeam {__version__}\n"
    done = cli("evaluate", "--help")
    assert done.returncode == 0
    usage = done.stdout.split("\n\n")[0]
    assert usage.startswith("usage: evalbeam evaluate --config CFG --data PATH [PATH ...] "
                            "--output DIR")
    assert "show" not in usage and "demo" not in usage and "diff" not in usage
    assert "--output may be missing, an empty directory or an earlier evalbeam result\n" in (
        done.stdout)
    for command in ("show", "diff", "demo"):
        done = cli(command, "--help")
        assert done.returncode == 0
        first = done.stdout.splitlines()[0]
        assert first.startswith(f"usage: evalbeam {command} [-h]"), first
        assert "evaluate" not in done.stdout.split("\n\n")[0]
    done = cli("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: evalbeam [-h] [--version] COMMAND")
    for command in ("evaluate", "show", "diff", "demo"):
        assert f"    {command}" in done.stdout


def test_show_of_a_missing_directory(capsys, tmp_path):
    code, _, err = run(capsys, "show", str(tmp_path / "nope"))
    one_line_error(code, err, f"{tmp_path / 'nope'}: no such directory")
    code, _, err = run(capsys, "show", str(tmp_path), "--jsn")
    one_line_error(code, err, "unknown flag --jsn (did you mean --json?)")


def test_no_beam_import_notice_on_stderr(files, capsys):
    cfg, data, out = files
    done = cli("evaluate", "--config", cfg, "--data", data, "--output", out)
    assert done.returncode == 0 and done.stderr == ""
    done = cli("show", out)
    assert done.returncode == 0 and done.stderr == ""
    # the Python API too, while other warnings still show
    done = subprocess.run([sys.executable, "-c", "import logging, evalbeam.api; "
                           "logging.warning('a real warning')"], capture_output=True, text=True,
                          env=os.environ.copy())
    assert done.stderr == "WARNING:root:a real warning\n"


def test_empty_data_says_so(capsys, tmp_path):
    cfg = tmp_path / "c.textproto"
    cfg.write_text(CONFIG)
    data = write(make_table(10).slice(0, 0), str(tmp_path / "empty.parquet"))
    code, stdout, err = run(capsys, "evaluate", "--config", str(cfg), "--data", data,
                            "--output", str(tmp_path / "out"))
    assert code == 0 and "evaluated 0 of 0 rows" in stdout
    assert err == ("evalbeam: warning: the input has no rows: every slice is empty (no metric "
                   "has a value)\n")
    nulls = make_table(7).set_column(0, "label", pa.array([None] * 7, pa.int64()))
    data = write(nulls, str(tmp_path / "nulls.parquet"))
    code, stdout, err = run(capsys, "evaluate", "--config", str(cfg), "--data", data,
                            "--output", str(tmp_path / "out2"))
    assert code == 0 and "evaluated 0 of 7 rows (7 dropped)" in stdout
    assert err == ("evalbeam: warning: all 7 rows read were dropped (see rows_dropped): every "
                   "slice is empty\n")


def test_dir_lists_the_public_api():
    import evalbeam

    names = dir(evalbeam)
    for name in ("run_evaluation", "evaluate_and_bless", "load_result", "EvalResult",
                 "Evaluate", "find_regressions", "EvalbeamError", "__version__"):
        assert name in names
    assert "importlib" not in names and "logging" not in names
    assert all(hasattr(evalbeam, n) for n in names)


@pytest.mark.parametrize("name, suggestion", [("recall", "did you mean Recall?"),
                                              ("AUCC", "did you mean AUC?"),
                                              ("Precison", "did you mean Precision")])
def test_unknown_metric_suggests_the_closest(capsys, tmp_path, name, suggestion):
    cfg = tmp_path / "c.textproto"
    cfg.write_text(BASE + 'metrics_specs { metrics { class_name: "%s" } }' % name)
    data = write(make_table(10), str(tmp_path / "d.parquet"))
    code, _, err = run(capsys, "evaluate", "--config", str(cfg), "--data", data,
                       "--output", str(tmp_path / "out"))
    line = one_line_error(code, err, f"unknown metric class_name {name!r}; {suggestion}")
    assert len(line) < 250


def test_python_api_checks_its_flags_too(files):
    from evalbeam import run_evaluation
    from evalbeam.errors import EvalbeamError

    cfg, data, out = files
    with pytest.raises(EvalbeamError, match=r"unknown flag --direct_num_worker \(did you mean "
                                            r"--direct_num_workers\?\)"):
        run_evaluation(cfg, data, out, pipeline_options=["--direct_num_worker=2"])
    assert not os.path.exists(out)


def test_flags_of_every_beam_options_class_are_known():
    from evalbeam.errors import EvalbeamError

    pipeline_flags.check(["--direct_num_workers=2", "--direct_running_mode", "multi_processing",
                          "--environment_type=LOOPBACK", "--job_endpoint", "localhost:8099",
                          "--project=p", "--region", "europe-west1", "--temp_location=gs://b/t",
                          "--flink_master=localhost:8081", "--spark_master_url", "local[2]",
                          "--setup_file", "./setup.py", "--experiments=a", "--experiments", "b",
                          "--streaming", "--no_pipeline_type_check", "--job-server-timeout=5"])
    with pytest.raises(EvalbeamError, match=r"unknown flag --projct \(did you mean --project\?\)"):
        pipeline_flags.check(["--experiments", "--projct=p"])  # a flag is never taken as a value


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_batch_size_must_be_positive(files, capsys, size):
    cfg, data, out = files
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", "--config", cfg, "--data", data, "--output", out, "--batch_size", size])
    assert stopped.value.code == 2
    assert f"--batch_size/--batch-size: expected a whole number of at least 1, got '{size}'" in (
        capsys.readouterr().err)
    assert not os.path.exists(out)
