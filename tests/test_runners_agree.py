"""Every runner gives the same answer: Beam's portable runner (against Beam's local job
service: the path Flink and Dataflow take), evalbeam's worker processes (the every-core mode)
and a Dask cluster of two worker processes.

- The partitioning cases (partitioning_cases: a baseline, class views, query metrics; the
  jackknife and the Poisson bootstrap), their rows shuffled into three files of row groups of
  200 read in batches of 150, give the artifacts of the in-process run on one file read in one
  batch (floats within 1e-12 relative). Two cases per runner: each runner both methods, each
  config two runners (test_dask adds a baseline, query metrics and the bootstrap together).
- The row accounting (rows read, used, dropped by reason, rows in no slice of a spec) of data
  with nulls in labels, predictions, weights and queries, and bad values in the dropped rows
  (dropped_rows), is the one counted by hand, in process and on every runner.
"""
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

import dropped_rows
from conftest import runner_options
from evalbeam import run_evaluation
from partitioning_cases import (N, artifacts, assert_same, config_with_intervals,
                                one_file_artifacts, table)

CUTS, ROW_GROUP, BATCH = [300, 1100], 200, 150


def _three_files(folder, rows) -> str:
    os.makedirs(folder)
    starts, stops = [0, *CUTS], [*CUTS, rows.num_rows]
    for i, (start, stop) in enumerate(zip(starts, stops)):
        pq.write_table(rows.slice(start, stop - start), os.path.join(folder, f"part-{i}.parquet"),
                       row_group_size=ROW_GROUP)
    return folder


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory):
    """partitioning_cases.table(), rows shuffled, in three files of row groups of 200."""
    rows = table().take(np.random.default_rng(7).permutation(N))
    return _three_files(str(tmp_path_factory.mktemp("runners") / "shuffled"), rows)


@pytest.mark.parametrize("runner, config, method", [
    ("worker processes", "binary with baseline", "jackknife"),
    ("worker processes", "multi-class", "bootstrap"),
    ("portable", "queries", "bootstrap"),
    ("portable", "multi-class", "jackknife"),
    ("dask", "binary with baseline", "bootstrap"),
    ("dask", "queries", "jackknife"),
])
def test_every_runner_gives_the_one_file_artifacts(shuffled, tmp_path, request, monkeypatch,
                                                    chosen, runner, config, method):
    want = one_file_artifacts(config, method)
    out = str(tmp_path / "out")
    run_evaluation(config_with_intervals(config, method), shuffled, out, batch_size=BATCH,
                   pipeline_options=runner_options(runner, request, monkeypatch), report=False)
    assert chosen.used == ([2] if runner == "worker processes" else [])
    assert_same(artifacts(out), want)


@pytest.fixture(scope="module")
def with_nulls(tmp_path_factory):
    """dropped_rows' data in three files of row groups of 200, and its row order."""
    rows, idx = dropped_rows.data()
    return _three_files(str(tmp_path_factory.mktemp("runners") / "with_nulls"), rows), rows, idx


@pytest.mark.parametrize("runner, config", [
    ("in process", "rows"), ("in process", "queries"),
    ("worker processes", "rows"),  # (with query metrics a run reads in one process)
    ("portable", "rows"), ("portable", "queries"), ("dask", "rows"), ("dask", "queries"),
])
def test_every_runner_accounts_for_every_row(with_nulls, tmp_path, request, monkeypatch,
                                             chosen, runner, config):
    data, rows, idx = with_nulls
    out = str(tmp_path / "out")
    result = run_evaluation(dropped_rows.CONFIGS[config], data, out, batch_size=BATCH,
                            pipeline_options=runner_options(runner, request, monkeypatch),
                            report=False)
    assert chosen.used == ([2] if runner == "worker processes" else [])
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    assert dropped_rows.accounting(summary) == dropped_rows.expected_accounting(config)
    # the metrics saw the rows used, and only those
    used = dropped_rows.used_rows(config, idx)
    weight = rows.column("weight").to_numpy(zero_copy_only=False)
    assert result.value("example_count", model_name="base") == used.sum()  # weights of 1
    assert result.value("example_count", model_name="cand") == pytest.approx(
        weight[used].sum(), rel=1e-12)
