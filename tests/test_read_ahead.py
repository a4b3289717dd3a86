"""The command line forks its reading processes before it imports Beam, and the pipeline's
reading step takes them: the result is the one numpy gives, whatever was read ahead; and the
command leaves without tearing down the interpreter, its output and exit code intact."""
import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import BASE, make_table
from evalbeam import load_result

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""

# the CLI in a subprocess with evalbeam's every-core mode from 1 row on 2 cores, noting what
# the reading ahead saw and did into the file named by argv[1]
SPY = """
import json, sys
from evalbeam import cli, local_workers, worker_pool
local_workers.MIN_ROWS, local_workers.cores = 1, lambda: 2
notes, start, take = {}, worker_pool.start_ahead, worker_pool.take_ahead
def start_ahead(*args):
    notes["beam imported when forking"] = "apache_beam" in sys.modules
    return start(*args)
def take_ahead(*args):
    shared = take(*args)
    notes["taken"] = shared is not None
    return shared
worker_pool.start_ahead, worker_pool.take_ahead = start_ahead, take_ahead
code = cli.main(sys.argv[2:])
json.dump(notes, open(sys.argv[1], "w"))
sys.exit(code)
"""


def _run(tmp_path, data, *flags):
    config = tmp_path / "config.textproto"
    config.write_text(CONFIG)
    notes, out = tmp_path / "notes.json", tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", SPY, str(notes), "evaluate", "--config",
                           str(config), "--data", *data, "--output", str(out), "--quiet",
                           *flags], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(notes.read_text()), str(out)


def _check(out, table):
    result = load_result(out)
    w, y = table.column("weight").to_numpy(), table.column("label").to_numpy()
    country = np.array(table.column("country").to_pylist())
    assert result.value("example_count") == pytest.approx(w.sum(), rel=1e-12)
    for c in set(country):
        m = country == c
        assert result.value("example_count", (("country", c),)) == pytest.approx(
            w[m].sum(), rel=1e-12)
        assert result.value("mean_label", (("country", c),)) == pytest.approx(
            (w[m] * y[m]).sum() / w[m].sum(), rel=1e-12)


@pytest.mark.parametrize("relative", [False, True])
def test_reading_starts_before_beam_is_imported_and_the_run_takes_it(tmp_path, relative):
    table = make_table(6000)
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=1000)
    data = "data.parquet" if relative else str(tmp_path / "data.parquet")
    notes, out = _run(tmp_path, [data])
    assert notes == {"beam imported when forking": False, "taken": True}
    _check(out, table)


def test_several_files_are_read_ahead_too(tmp_path):
    table = make_table(6000)
    pq.write_table(table.slice(0, 2500), tmp_path / "a.parquet", row_group_size=1000)
    pq.write_table(table.slice(2500), tmp_path / "b.parquet", row_group_size=1000)
    notes, out = _run(tmp_path, [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")])
    assert notes == {"beam imported when forking": False, "taken": True}
    _check(out, table)


@pytest.mark.parametrize("data, flags", [
    (["*.parquet"], []),  # a glob: Beam's filesystems list it, so nothing is read ahead
    (["data.parquet"], ["--direct_num_workers=1"]),  # a runner flag: the user's choice
])
def test_no_reading_ahead_where_its_files_or_runner_are_not_known_without_beam(
        tmp_path, data, flags):
    table = make_table(6000)
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=1000)
    notes, out = _run(tmp_path, data, *flags)
    assert "beam imported when forking" not in notes
    _check(out, table)


def test_the_command_leaves_with_its_exit_code_output_and_exit_functions(tmp_path):
    """``evalbeam`` (cli.entry) skips the interpreter's tear-down, not what must happen."""
    mark = tmp_path / "exit-function-ran"
    code = ("import atexit, pathlib, sys; from evalbeam import cli; "
            f"atexit.register(pathlib.Path({str(mark)!r}).write_text, 'yes'); "
            "print('before'); cli.entry()")
    done = subprocess.run([sys.executable, "-c", code, "show", str(tmp_path / "missing")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == "before\n"
    assert done.stderr.startswith("evalbeam: error:") and "missing" in done.stderr
    assert mark.read_text() == "yes"


@pytest.mark.parametrize("flags", [["--statistics"], ["--statistics_features", "age,country"]])
def test_statistics_runs_read_ahead_with_the_runs_data_quality_plan(tmp_path, flags):
    """The data-quality plan (features, kinds, shifts from the first rows) is made before Beam
    is imported as the run makes it: the processes are taken and the statistics are numpy's."""
    from evalbeam.data_quality import load_statistics

    table = make_table(6000)
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=1000)
    notes, out = _run(tmp_path, [str(tmp_path / "data.parquet")], *flags)
    assert notes == {"beam imported when forking": False, "taken": True}
    _check(out, table)
    overall = next(d for d in load_statistics(f"{out}/statistics.tfrecord").datasets
                   if d.name == "All Examples")
    assert overall.num_examples == 6000
    age = next(f for f in overall.features if list(f.path.step) == ["age"]).num_stats
    values = table.column("age").to_numpy()
    assert age.mean == pytest.approx(values.mean(), rel=1e-12)
    assert age.std_dev == pytest.approx(values.std(), rel=1e-12)
    assert (age.min, age.max) == (values.min(), values.max())
