"""Every core by default: the rule choosing how many local processes a run uses (from the row
count the input's metadata gives, or an estimate from file sizes), a user's runner flags
winning over it, row estimates for CSV and TFRecord, and quiet worker processes."""
import gzip
import os

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from conftest import BASE, make_table
from evalbeam import cli, local_workers
from evalbeam.io import readers
from helpers_io import write_tfrecord

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def _parquet(tmp_path, rows=4000, groups=4):
    table = make_table(rows)
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=rows // groups)
    return str(path), table


def _evaluate(tmp_path, data, *flags):
    config = tmp_path / "config.textproto"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    code = cli.main(["evaluate", "--config", str(config), "--data", data, "--output", str(out),
                     *flags])
    assert code == 0
    return str(out)


def _check_counts(out, table):
    from evalbeam import load_result

    result = load_result(out)
    w = table.column("weight").to_numpy()
    country = np.array(table.column("country").to_pylist())
    assert result.value("example_count") == pytest.approx(w.sum(), rel=1e-12)
    for c in set(country):
        assert result.value("example_count", (("country", c),)) == pytest.approx(
            w[country == c].sum(), rel=1e-12)


def test_the_rule(monkeypatch):
    assert local_workers.worker_count(local_workers.MIN_ROWS - 1, 10, 8) == 1
    assert local_workers.worker_count(local_workers.MIN_ROWS, 10, 8) == 8
    monkeypatch.setattr(local_workers, "MIN_ROWS", 2_000_000)
    below = local_workers.MIN_ROWS - 1
    assert local_workers.worker_count(below, 10, 8) == 1
    assert local_workers.worker_count(local_workers.MIN_ROWS, 10, 8) == 8
    assert local_workers.worker_count(local_workers.MIN_ROWS, 3, 8) == 3  # a task per worker
    assert local_workers.worker_count(10 * local_workers.MIN_ROWS, 1, 8) == 1  # one row group
    assert local_workers.worker_count(10 * local_workers.MIN_ROWS, 10, 1) == 1


def test_below_the_threshold_one_process(tmp_path, chosen, monkeypatch):
    path, table = _parquet(tmp_path, 4000)
    monkeypatch.setattr(local_workers, "MIN_ROWS", 4001)
    _check_counts(_evaluate(tmp_path, path), table)
    assert chosen == [1, 1]  # asked before Beam is imported (evalbeam.read_ahead), then by the run
    assert chosen.used == []  # read in Beam's own step


def test_above_the_threshold_every_core_quietly(tmp_path, chosen, monkeypatch, capfd):
    """Two processes (the row groups are four, the cores two) and nothing on stderr."""
    path, table = _parquet(tmp_path, 4000, groups=4)
    monkeypatch.setattr(local_workers, "MIN_ROWS", 4000)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    capfd.readouterr()
    _check_counts(_evaluate(tmp_path, path), table)
    assert chosen == [2, 2]  # asked before Beam is imported (evalbeam.read_ahead), then by the run
    assert chosen.used == [2]
    err = capfd.readouterr().err
    assert err.strip() == "", err


def test_the_row_count_comes_from_the_footers(tmp_path, chosen, monkeypatch):
    """Two files of 3000 rows: 6000 rows in all, over the threshold of 5000 only together."""
    table = make_table(6000)
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(table.slice(0, 3000), folder / "a.parquet")
    pq.write_table(table.slice(3000), folder / "b.parquet")
    monkeypatch.setattr(local_workers, "MIN_ROWS", 5000)
    monkeypatch.setattr(local_workers, "cores", lambda: 4)
    _check_counts(_evaluate(tmp_path, str(folder)), table)
    assert chosen == [2]  # two read tasks: two processes, although four cores


@pytest.mark.parametrize("flags", [["--direct_num_workers=1"], ["--runner=DirectRunner"]])
def test_a_users_flag_wins(tmp_path, chosen, monkeypatch, flags):
    path, table = _parquet(tmp_path, 4000)
    monkeypatch.setattr(local_workers, "MIN_ROWS", 1)
    _check_counts(_evaluate(tmp_path, path, *flags), table)
    assert chosen == []


def _csv(path, table, compress=False):
    pcsv.write_csv(table, str(path))
    if compress:
        data = path.read_bytes()
        path.unlink()
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    return str(path)


@pytest.mark.parametrize("compress", [False, True])
def test_csv_rows_estimated_from_the_size(tmp_path, compress):
    table = make_table(60000)  # about 3 MB of CSV: sampled, not read whole
    path = _csv(tmp_path / "big.csv", table, compress)
    estimate = readers.estimated_rows(path, "csv")
    assert estimate == pytest.approx(60000, rel=0.1)
    small = _csv(tmp_path / "small.csv", table.slice(0, 100), compress)
    assert readers.estimated_rows(small, "csv") == 100  # read whole: exact


def test_tfrecord_rows_estimated_from_the_size(tmp_path):
    table = make_table(30000)
    path = str(tmp_path / "big.tfrecord")
    write_tfrecord(table, path)
    assert os.path.getsize(path) > 2 * readers._SAMPLE_BYTES  # sampled, not read whole
    assert readers.estimated_rows(path, "tfrecord") == pytest.approx(30000, rel=0.1)
    small = str(tmp_path / "small.tfrecord")
    write_tfrecord(table.slice(0, 50), small)
    assert readers.estimated_rows(small, "tfrecord") == 50


def test_csv_estimate_decides(tmp_path, chosen, monkeypatch):
    table = make_table(60000)
    folder = tmp_path / "data"
    folder.mkdir()
    _csv(folder / "a.csv", table.slice(0, 30000))
    _csv(folder / "b.csv", table.slice(30000))
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    monkeypatch.setattr(local_workers, "MIN_ROWS", 70000)  # above the estimate of about 60000
    _evaluate(tmp_path, str(folder))
    monkeypatch.setattr(local_workers, "MIN_ROWS", 50000)  # below it
    _check_counts(_evaluate(tmp_path, str(folder)), table)
    assert chosen == [1, 2]
