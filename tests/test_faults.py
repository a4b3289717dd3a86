"""A run that is killed, or whose worker process is killed, leaves nothing that looks like a
result, and the next run into the same place clears what it left and succeeds; what evalbeam
did not write, or a live run still writes, is never removed."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest

import memory_filesystem
from conftest import BASE, make_table
from evalbeam import load_result
from evalbeam.cli import main
from evalbeam.io import staging

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
BIG = 3_000_000  # rows: seconds of work in one process, more on two workers
WAIT = 120  # seconds a run may take before the test calls it hung


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A Parquet file of BIG rows in ten row groups, the config, and the expected counts."""
    folder = tmp_path_factory.mktemp("big")
    table = make_table(BIG, seed=5)
    path = folder / "big.parquet"
    pq.write_table(table, path, row_group_size=BIG // 10)
    config = folder / "config.textproto"
    config.write_text(CONFIG)
    return str(path), str(config), _expected(table)


def _expected(table) -> dict:
    """{slice: (weighted example count, weighted mean label)}, by numpy."""
    w = table.column("weight").to_numpy()
    label = table.column("label").to_numpy().astype(float)
    country = np.array(table.column("country").to_pylist())
    out = {(): (w.sum(), (w * label).sum() / w.sum())}
    for c in np.unique(country):
        m = country == c
        out[(("country", c),)] = (w[m].sum(), (w[m] * label[m]).sum() / w[m].sum())
    return out


def _check(out, expected):
    result = load_result(out)
    for key, (count, mean) in expected.items():
        assert result.value("example_count", key) == pytest.approx(count, rel=1e-12)
        assert result.value("mean_label", key) == pytest.approx(mean, rel=1e-12)
    return result


def _left(tmp_path, name="out"):
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f".{name}.tmp-"))


_SLOW = """
import os, pathlib, signal, sys, time
from evalbeam import cli, local_workers, task_partials
if {terminal}:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if {auto_workers}:
    local_workers.MIN_ROWS, local_workers.cores = 1, lambda: 2
elif {terminal}:
    local_workers.MIN_ROWS = None  # one process, whatever the input
tasks, taken = task_partials.tasks_partials, []

def slowly(take):
    time.sleep(0.5)
    taken.append(1)
    if len(taken) == 2 and os.environ.get("EVALBEAM_TEST_READING"):
        # a task read and computed: its batches met every lazy import (pyarrow's of pandas
        # swallows a KeyboardInterrupt raised while it imports)
        pathlib.Path(os.environ["EVALBEAM_TEST_READING"]).touch()
    return take()

task_partials.tasks_partials = lambda take, *a: tasks(lambda: slowly(take), *a)
sys.exit(cli.main(sys.argv[1:]))
"""


def _start(args, *, auto_workers=False, cwd=None, terminal=False, slow_workers=None):
    """The CLI in a subprocess, each read task taking half a second more where this process
    reads it (so that a kill lands while it reads); ``auto_workers``: evalbeam's process per
    core turned on, two processes; ``terminal``: in a process group of its own, Ctrl-C raising
    KeyboardInterrupt as in a terminal (background jobs ignore SIGINT), one process unless
    ``auto_workers``, and the file EVALBEAM_TEST_READING names made once this process has
    read a task; ``slow_workers``: a folder for a ``sitecustomize`` that slows the tasks of
    the processes Beam starts too (they are not forked from this one)."""
    code = _SLOW.format(terminal=terminal, auto_workers=auto_workers)
    env = dict(os.environ)
    if slow_workers is not None:
        os.makedirs(slow_workers, exist_ok=True)
        with open(os.path.join(slow_workers, "sitecustomize.py"), "w") as f:
            f.write(_SLOW_WORKER)
        env["PYTHONPATH"] = os.pathsep.join([str(slow_workers)] + [
            p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd,
                            start_new_session=terminal)


_SLOW_WORKER = """
import time
from evalbeam import task_partials
_task = task_partials.task_partials

def _slowly(*a, **k):
    time.sleep(0.5)
    return _task(*a, **k)

task_partials.task_partials = _slowly
"""


def _wait_for(condition, process, what, timeout=WAIT):
    start = time.time()
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.time() - start < timeout, f"no {what} within {timeout} s"
        time.sleep(0.01)


def _finish(process, timeout=WAIT):
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
        process.kill()
        process.communicate()
        pytest.fail(f"the run hung: still running {timeout} s on")
    return process.returncode, out.decode(), err.decode()


def _evaluate(capsys, data, config, out, *flags):
    code = main(["evaluate", "--config", config, "--data", data, "--output", out, *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.err


# -- kill -9 of evaluate ----------------------------------------------------------------------

def test_a_killed_run_leaves_no_result_and_the_next_run_clears_its_staging(big, tmp_path,
                                                                          capsys):
    data, config, expected = big
    out = tmp_path / "out"
    run = _start(["evaluate", "--config", config, "--data", data, "--output", str(out)])
    _wait_for(lambda: any(n.endswith(".owner") for n in _left(tmp_path)), run, "owner record")
    time.sleep(0.5)  # reading
    run.send_signal(signal.SIGKILL)
    code, _, _ = _finish(run)
    assert code == -signal.SIGKILL
    assert not out.exists()  # nothing that looks like a result
    left = _left(tmp_path)
    assert len(left) == 2 and left[1] == left[0] + ".owner", left
    owner = json.loads((tmp_path / left[1]).read_text())
    assert owner["pid"] == run.pid and owner["host"] == socket.gethostname() and owner["local"]

    err = _evaluate(capsys, data, config, str(out))
    assert "note" not in err, err  # a dead local run's staging goes without a word
    assert _left(tmp_path) == []
    _check(str(out), expected)


def test_a_killed_rerun_leaves_the_earlier_result_as_it_was(big, tmp_path, capsys):
    data, config, expected = big
    small = make_table(2000, seed=3)
    small_data = str(tmp_path / "small.parquet")
    pq.write_table(small, small_data)
    out = tmp_path / "out"
    _evaluate(capsys, small_data, config, str(out))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    run = _start(["evaluate", "--config", config, "--data", data, "--output", str(out)])
    _wait_for(lambda: any(n.endswith(".owner") for n in _left(tmp_path)), run, "owner record")
    time.sleep(0.5)
    run.send_signal(signal.SIGKILL)
    assert _finish(run)[0] == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    _check(str(out), _expected(small))

    _evaluate(capsys, data, config, str(out))
    assert _left(tmp_path) == []
    _check(str(out), expected)


# The moments of a run's end, made to last so that the kill lands there: the complete staging
# directory before its rename, and the earlier result moved aside before the new one is in place.
_PAUSE = """
import os, sys, time
from evalbeam import cli
from evalbeam.io import output_location
where = sys.argv[1]
def pause():
    open(sys.argv[2], "w").close()
    time.sleep(600)
if where == "before_rename":
    output_location.put_in_place = lambda *args: pause()
else:
    rename = os.rename
    def paused(src, dst):
        rename(src, dst)
        if dst.endswith(".old"):  # the earlier result moved aside
            pause()
    os.rename = paused
sys.exit(cli.main(sys.argv[3:]))
"""


def _killed_at(where, tmp_path, data, config, out):
    flag = tmp_path / "paused"
    run = subprocess.Popen([sys.executable, "-c", _PAUSE, where, str(flag), "evaluate",
                            "--config", config, "--data", data, "--output", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    _wait_for(flag.exists, run, f"the pause {where}")
    run.send_signal(signal.SIGKILL)
    assert _finish(run)[0] == -signal.SIGKILL
    flag.unlink()


def test_killed_with_the_staging_complete(tmp_path, capsys):
    table = make_table(3000, seed=8)
    data = str(tmp_path / "d.parquet")
    pq.write_table(table, data)
    config = tmp_path / "c.textproto"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    _killed_at("before_rename", tmp_path, data, str(config), out)
    assert not out.exists()
    left = _left(tmp_path)
    staged = sorted(os.listdir(tmp_path / left[0]))
    assert "summary.json" in staged and "metrics-00000-of-00002.tfrecord" in staged
    _evaluate(capsys, data, str(config), str(out))
    assert _left(tmp_path) == []
    _check(str(out), _expected(table))


def test_killed_between_the_renames_the_earlier_result_is_put_back(tmp_path, capsys):
    first, second = make_table(3000, seed=8), make_table(2000, seed=9)
    config = tmp_path / "c.textproto"
    config.write_text(CONFIG)
    data1, data2 = str(tmp_path / "d1.parquet"), str(tmp_path / "d2.parquet")
    pq.write_table(first, data1)
    pq.write_table(second, data2)
    out = tmp_path / "out"
    _evaluate(capsys, data1, str(config), str(out))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _killed_at("between_renames", tmp_path, data2, str(config), out)
    assert not out.exists()  # the earlier result is aside, the new one not yet in place
    assert any(n.endswith(".old") for n in _left(tmp_path))

    staging.clear_stale(str(out))
    assert f"put back {out}" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _left(tmp_path) == []
    _evaluate(capsys, data2, str(config), str(out))
    _check(str(out), _expected(second))


# -- what the next run leaves alone -----------------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _plant(tmp_path, name, owner, files=("metrics-00000-of-00001.tfrecord",)):
    path = tmp_path / name
    path.mkdir()
    for f in files:
        (path / f).write_bytes(b"x")
    if owner is not None:
        (tmp_path / (name + ".owner")).write_text(json.dumps(owner))
    return path


def test_what_is_left_and_what_goes(tmp_path, capsys):
    out = str(tmp_path / "out")
    me = staging.record(local=True)
    dead = {**me, "pid": _dead_pid()}
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = {**me, "pid": sleeper.pid, "started": staging._started(sleeper.pid)}
        planted = {
            "gone": _plant(tmp_path, ".out.tmp-000000000001", dead),
            "reused": _plant(tmp_path, ".out.tmp-000000000002",
                             {**alive, "started": "1"}),  # that pid, another start: reused
            "rebooted": _plant(tmp_path, ".out.tmp-000000000003",
                               {**alive, "boot": "an-earlier-boot"}),
            "alive": _plant(tmp_path, ".out.tmp-000000000004", alive),
            "other_host": _plant(tmp_path, ".out.tmp-000000000005",
                                 {**dead, "host": "elsewhere.example"}),
            "remote_runner": _plant(tmp_path, ".out.tmp-000000000006", {**dead, "local": False}),
            "foreign_file": _plant(tmp_path, ".out.tmp-000000000007", dead,
                                   ["summary.json", "notes.txt"]),
            "no_record": _plant(tmp_path, ".out.tmp-000000000008", None),
            "unreadable": _plant(tmp_path, ".out.tmp-000000000009", None),
            "not_a_staging_name": _plant(tmp_path, ".out.tmp-mine", dead),
            "another_output": _plant(tmp_path, ".output.tmp-00000000000a", dead),
        }
        (tmp_path / ".out.tmp-000000000009.owner").write_text("{not json")
        capsys.readouterr()
        staging.clear_stale(out)
        err = capsys.readouterr().err
        gone = {k for k, p in planted.items() if not p.exists()}
        assert gone == {"gone", "reused", "rebooted"}
        for key in gone:
            assert not (tmp_path / (planted[key].name + ".owner")).exists()
        for key in set(planted) - gone:  # untouched, record and all
            assert os.listdir(planted[key]), key
            has_record = key not in ("no_record",)
            assert (tmp_path / (planted[key].name + ".owner")).exists() == has_record, key
        lines = err.strip().splitlines()
        said = {k for k, p in planted.items() if any(p.name + ":" in line for line in lines)}
        assert said == {"other_host", "remote_runner", "foreign_file", "no_record",
                        "unreadable"}, err
        assert len(lines) == len(said) and all(line.startswith("evalbeam: note: left ") for line in lines)
        assert "elsewhere.example" in next(line for line in lines if "000000000005" in line)
        assert "notes.txt" in next(line for line in lines if "000000000007" in line)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_live_runs_staging_is_not_touched_by_another_run(tmp_path, capsys):
    """Two runs into one place at once: the second does not remove the first's staging."""
    table = make_table(2000, seed=4)
    data = str(tmp_path / "d.parquet")
    pq.write_table(table, data)
    config = tmp_path / "c.textproto"
    config.write_text(CONFIG)
    live = _plant(tmp_path, ".out.tmp-0000000000aa", staging.record(local=True))
    _evaluate(capsys, data, str(config), str(tmp_path / "out"))
    assert live.exists() and (tmp_path / (live.name + ".owner")).exists()
    _check(str(tmp_path / "out"), _expected(table))


def test_on_an_object_store(tmp_path, capsys):
    """memstore:// stands for gs://: a dead local run's staging objects go, a remote
    runner's are left and named."""
    memory_filesystem.OBJECTS.clear()
    bucket = "memstore://bucket"
    dead = {**staging.record(local=True), "pid": _dead_pid()}
    for name, owner in ((".out.tmp-000000000001", dead),
                        (".out.tmp-000000000002", {**dead, "local": False})):
        memory_filesystem.OBJECTS[f"{bucket}/{name}/metrics-00000-of-00002.tfrecord"] = b"x"
        memory_filesystem.OBJECTS[f"{bucket}/{name}.owner"] = json.dumps(owner).encode()
    table = make_table(2000, seed=6)
    data = str(tmp_path / "d.parquet")
    pq.write_table(table, data)
    config = tmp_path / "c.textproto"
    config.write_text(CONFIG)
    err = _evaluate(capsys, data, str(config), f"{bucket}/out")
    left = sorted(n for n in memory_filesystem.OBJECTS if n.startswith(f"{bucket}/.out"))
    assert left == [f"{bucket}/.out.tmp-000000000002.owner",
                    f"{bucket}/.out.tmp-000000000002/metrics-00000-of-00002.tfrecord"]
    assert err.count("evalbeam: note: ") == 1 and "remote runner" in err, err
    _check(f"{bucket}/out", _expected(table))
    memory_filesystem.OBJECTS.clear()


# -- a worker process killed mid-run ----------------------------------------------------------

def _workers(process) -> list:
    """The worker processes of a run (Beam's, or evalbeam's forked ones), not a shell above
    one."""
    found = []
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            command, name = child.cmdline(), child.name()
        except psutil.Error:
            continue
        if name == "evalbeam-worker" or (len(command) > 2 and command[1] == "-m"
                                         and command[2] == "evalbeam.worker_deaths"):
            found.append(child)
    return found


def _expected_workers(mode) -> int:
    """Two cores: Beam starts two workers; evalbeam forks one beside the run's process."""
    return 1 if mode == "evalbeam" else 2


@pytest.mark.parametrize("mode", ["evalbeam", "beam"])
def test_a_killed_worker_stops_the_run_with_one_line(big, tmp_path, capsys, mode):
    data, config, expected = big
    out = tmp_path / "out"
    args = ["evaluate", "--config", config, "--data", data, "--output", str(out)]
    flags = [] if mode == "evalbeam" else ["--direct_num_workers=2",
                                           "--direct_running_mode=multi_processing"]
    run = _start(args + flags, auto_workers=mode == "evalbeam")
    _wait_for(lambda: len(_workers(run)) == _expected_workers(mode), run, "the worker processes")
    workers = _workers(run)
    time.sleep(1.0)  # both at work
    assert run.poll() is None
    workers[0].kill()
    code, stdout, err = _finish(run)
    lines = err.strip().splitlines()
    if mode == "beam" and code == 0:  # Beam had its work done (or retried it): whole, exact
        _check(str(out), expected)
        assert _left(tmp_path) == []
        return
    assert code == 4, err
    assert lines[-1] == ("evalbeam: error: a worker process of the run was killed by SIGKILL "
                         f"(kill -9, or the out-of-memory killer?); the run was stopped and "
                         f"wrote nothing to {out} (running it again may succeed)"), err
    if mode == "evalbeam":  # quiet workers: the line is all that is said
        assert lines == lines[-1:], err
    assert not out.exists() and _left(tmp_path) == []  # no result, no staging
    assert stdout == ""
    time.sleep(0.5)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]

    # and the same place takes the run again (in one process here), complete
    _evaluate(capsys, data, config, str(out))
    _check(str(out), expected)


@pytest.mark.parametrize("mode", ["evalbeam", "beam"])
def test_a_killed_run_takes_its_workers_with_it(big, tmp_path, capsys, mode):
    """kill -9 of a multi-process run: its workers end too (Beam's would wait forever for
    bundles that no longer come), and the next run clears the staging."""
    data, config, expected = big
    out = tmp_path / "out"
    flags = [] if mode == "evalbeam" else ["--direct_num_workers=2",
                                           "--direct_running_mode=multi_processing"]
    run = _start(["evaluate", "--config", config, "--data", data, "--output", str(out), *flags],
                 auto_workers=mode == "evalbeam", slow_workers=tmp_path / "site")
    # (evalbeam's workers start reading before the pipeline, and its staging, exist)
    _wait_for(lambda: len(_workers(run)) == _expected_workers(mode) and _left(tmp_path), run,
              "the worker processes and the staging")
    workers = _workers(run)
    time.sleep(1.0)
    run.send_signal(signal.SIGKILL)
    assert _finish(run)[0] == -signal.SIGKILL
    deadline = time.time() + 10
    while [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]:
        assert time.time() < deadline, "a worker outlived the run by 10 s"
        time.sleep(0.1)
    assert not out.exists() and _left(tmp_path)
    _evaluate(capsys, data, config, str(out))
    assert _left(tmp_path) == []
    _check(str(out), expected)


@pytest.mark.parametrize("mode", ["evalbeam", "one process"])
def test_ctrl_c_stops_the_run_with_one_line_and_leaves_nothing(big, tmp_path, mode):
    """SIGINT (Ctrl-C) mid-run: one line, exit code 130, no result, no staging, no worker."""
    data, config, expected = big
    out = tmp_path / "out"
    reading = tmp_path / "reading"
    os.environ["EVALBEAM_TEST_READING"] = str(reading)
    try:
        run = _start(["evaluate", "--config", config, "--data", data, "--output", str(out)],
                     auto_workers=mode == "evalbeam", terminal=True)
    finally:
        del os.environ["EVALBEAM_TEST_READING"]
    _wait_for(lambda: reading.exists() and _left(tmp_path), run, "the reading")
    workers = _workers(run)
    assert len(workers) == (mode == "evalbeam")
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: to every process of the terminal's
    code, stdout, err = _finish(run)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == (f"evalbeam: interrupted: the run wrote nothing to "
                                            f"{out}"), err
    assert "Traceback" not in err
    assert not out.exists() and _left(tmp_path) == []
    time.sleep(0.5)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def test_a_death_after_the_result_was_put_in_place_keeps_it(tmp_path):
    """A worker dying once the run put its result in place (its staging moved, summary.json
    from this run) leaves that whole result; before, the run is stopped and discarded."""
    from evalbeam.api import _finished

    out, staging = tmp_path / "out", tmp_path / ".out.tmp-1"
    started = time.time()
    staging.mkdir()
    (staging / "summary.json").write_text("{}")
    assert not _finished(str(staging), str(out), started)  # still staged
    staging.rename(out)
    assert _finished(str(staging), str(out), started)
    assert not _finished(str(staging), str(out), time.time() + 60)  # an earlier run's result
    assert not _finished(str(staging), str(tmp_path / "missing"), started)
