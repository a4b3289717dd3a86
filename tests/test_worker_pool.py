"""Work shared out over forked worker processes: every item done once, errors raised here,
a worker that dies stops the run with one line."""
import os
import signal
import time

import pytest

from evalbeam import worker_pool
from evalbeam.errors import InputError


def _done_by_pid(take):
    done = []
    for item in iter(take, None):
        time.sleep(0.02)  # long enough for every process to take some
        done.append(item)
    return os.getpid(), done


def test_every_item_is_done_once_and_every_process_takes_some():
    items = list(range(40))
    results = worker_pool.share_out(items, _done_by_pid, 3)
    assert len(results) == 3
    assert results[0][0] == os.getpid()  # this process works too, and comes first
    assert len({pid for pid, _ in results}) == 3
    assert all(done for _, done in results)
    assert sorted(i for _, done in results for i in done) == items


def test_one_process_or_one_item_forks_nothing():
    assert worker_pool.share_out([1, 2], _done_by_pid, 1) == [(os.getpid(), [1, 2])]
    assert worker_pool.share_out([7], _done_by_pid, 4) == [(os.getpid(), [7])]


_PARENT = os.getpid()


def _fails_in_a_worker(take):
    for _ in iter(take, None):
        time.sleep(0.02)
    if os.getpid() != _PARENT:
        raise InputError("data.csv: column 'label' (label_key) is bad")
    return "ok"


def test_an_error_in_a_worker_is_raised_here():
    with pytest.raises(InputError, match="column 'label' .* is bad"):
        worker_pool.share_out(list(range(10)), _fails_in_a_worker, 2)


def _killed_in_a_worker(take):
    for _ in iter(take, None):
        time.sleep(0.02)
        if os.getpid() != _PARENT:
            os.kill(os.getpid(), signal.SIGKILL)
    return "ok"


def test_a_worker_killed_stops_the_run_with_one_line():
    started = time.time()
    with pytest.raises(worker_pool.WorkerDied) as caught:
        worker_pool.share_out(list(range(10)), _killed_in_a_worker, 2)
    message = str(caught.value)
    assert message.endswith("a worker process of the run was killed by SIGKILL (kill -9, or the "
                            "out-of-memory killer?)")
    assert "\n" not in message
    assert time.time() - started < 30


def test_workers_are_named_and_gone_afterwards():
    psutil = pytest.importorskip("psutil")
    names = []

    def watch(take):
        for _ in iter(take, None):
            time.sleep(0.05)
            names.extend(c.name() for c in psutil.Process(_PARENT).children())
        return None

    worker_pool.share_out(list(range(8)), watch, 2)
    assert "evalbeam-worker" in names
    assert "evalbeam-worker" not in [c.name() for c in psutil.Process().children()]


def test_a_worker_killed_mid_run_is_one_line_and_no_result(tmp_path, monkeypatch, capsys):
    """The command's run over four row groups in two processes; the forked one is killed
    while it reads: exit 4, one line, and nothing at --output."""
    import threading

    import pyarrow.parquet as pq
    psutil = pytest.importorskip("psutil")

    from conftest import BASE, make_table
    from evalbeam import cli, local_workers, task_partials

    path = tmp_path / "data.parquet"
    pq.write_table(make_table(8000), path, row_group_size=2000)
    config = tmp_path / "config.textproto"
    config.write_text(BASE + 'metrics_specs { metrics { class_name: "ExampleCount" } }\n')
    monkeypatch.setattr(local_workers, "MIN_ROWS", 1)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    slow = task_partials.tasks_partials

    def tasks_partials(take, *args):
        def slowly():
            time.sleep(0.3)
            return take()
        return slow(slowly, *args)

    monkeypatch.setattr(task_partials, "tasks_partials", tasks_partials)
    stop = threading.Event()

    def kill_the_worker():
        while not stop.is_set():
            for child in psutil.Process().children():
                if child.name() == "evalbeam-worker":
                    child.kill()
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_worker, daemon=True)
    killer.start()
    out = tmp_path / "out"
    code = cli.main(["evaluate", "--config", str(config), "--data", str(path),
                     "--output", str(out), "--quiet", "--no_report"])
    stop.set()
    err = capsys.readouterr().err
    assert code == 4, err
    assert err.count("\n") == 1
    assert "was killed by SIGKILL (kill -9, or the out-of-memory killer?); the run was stopped " \
        f"and wrote nothing to {out} (running it again may succeed)" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))  # nor a staging directory beside it


def test_bad_rows_read_by_a_worker_are_the_same_one_line(tmp_path, monkeypatch, capsys):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from conftest import BASE, make_table
    from evalbeam import cli, local_workers

    table = make_table(8000)
    prediction = table.column("prediction").to_numpy().copy()
    prediction[[2500, 7100]] = np.nan  # in the second and the fourth row group
    table = table.set_column(1, "prediction", pa.array(prediction))
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=2000)
    config = tmp_path / "config.textproto"
    config.write_text(BASE + 'metrics_specs { metrics { class_name: "ExampleCount" } }\n')
    monkeypatch.setattr(local_workers, "MIN_ROWS", 1)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    out = tmp_path / "out"
    code = cli.main(["evaluate", "--config", str(config), "--data", str(path),
                     "--output", str(out), "--quiet", "--no_report"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1
    assert f"{path} (row group " in err and "column 'prediction' (prediction_key) has 1 NaN" in err
    assert not out.exists()


def _taken(take):
    return list(iter(take, None))


def test_work_started_ahead_is_taken_under_an_equal_key_and_does_every_item_once():
    items = list(range(30))
    worker_pool.start_ahead(("run", [1, 2]), items, _done_by_pid, 2)
    shared = worker_pool.take_ahead(("run", [1, 2]), items, 2)  # equal, not the same object
    assert shared is not None and len(shared.children) == 1
    results = shared.finish(_done_by_pid)
    assert sorted(i for _, done in results for i in done) == items
    assert worker_pool.take_ahead(("run", [1, 2]), items, 2) is None  # taken once


@pytest.mark.parametrize("key, items, processes", [
    (("other",), list(range(6)), 2),  # another run's key
    (("run",), list(range(7)), 2),  # other items
    (("run",), list(range(6)), 3),  # another number of processes
    (None, list(range(6)), 2),  # a run that never reads ahead
])
def test_work_started_for_anything_else_is_stopped(key, items, processes):
    worker_pool.start_ahead(("run",), list(range(6)), lambda take: time.sleep(60), 2)
    (child, _), = worker_pool._AHEAD[1].children
    assert child.is_alive()
    assert worker_pool.take_ahead(key, items, processes) is None
    assert not child.is_alive() and worker_pool._AHEAD == []


def test_a_run_ending_without_taking_its_work_stops_it():
    worker_pool.start_ahead(("run",), list(range(6)), lambda take: time.sleep(60), 2)
    (child, _), = worker_pool._AHEAD[1].children
    worker_pool.stop_ahead()
    assert not child.is_alive() and worker_pool._AHEAD == []
