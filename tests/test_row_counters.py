"""Beam counters (namespace ``evalbeam``) of the rows read, used and dropped by reason: from
``run_evaluation`` reading files (rows counted where each read task is pre-aggregated, or, with
query metrics, where its batches are), in process, on evalbeam's worker processes and on the
portable runner, and from ``Evaluate`` given record batches in a user's pipeline; the same
numbers as counted by hand (dropped_rows) and as summary.json. (Beam's DaskRunner has no
metrics.)"""
import json
import os

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing import test_pipeline

import dropped_rows
from conftest import runner_options
from evalbeam import Evaluate, run_evaluation
from evalbeam.row_counters import dropped_counter
from partitioning_cases import N

# by config: the counters a run on dropped_rows' data must end with
PREDICTIONS = 20 + 15  # null 'prediction' (the candidate's) and null 'p_base' (the baseline's)
COUNTERS = {
    "rows": {"rows_read": N, "rows_used": N - 95, "rows_dropped": 95,
             "rows_dropped_null_label": 40, "rows_dropped_null_prediction": PREDICTIONS,
             "rows_dropped_null_weight": 20},
}
COUNTERS["queries"] = {**COUNTERS["rows"], "rows_used": N - 100, "rows_dropped": 100,
                       "rows_dropped_null_query_key": 5}


def _counters(result) -> dict:
    """The run's evalbeam counters by name, summed over the steps that count."""
    out = {}
    for c in result.metrics().query(MetricsFilter().with_namespace("evalbeam"))["counters"]:
        out[c.key.metric.name] = out.get(c.key.metric.name, 0) + c.committed
    return out


def _summary(output_dir) -> dict:
    with open(os.path.join(output_dir, "summary.json")) as f:
        return json.load(f)


def _as_counters(summary) -> dict:
    """summary.json's accounting as the counters would have it."""
    out = {k: summary[k] for k in ("rows_read", "rows_used")}
    out["rows_dropped"] = sum(summary["rows_dropped"].values())
    for reason, rows in summary["rows_dropped"].items():
        out[dropped_counter(reason)] = out.get(dropped_counter(reason), 0) + rows
    return out


@pytest.fixture
def pipeline_results(monkeypatch):
    """The PipelineResult of every pipeline run while the test runs."""
    results, run = [], beam.Pipeline.run

    def keep(self, *args, **kwargs):
        results.append(run(self, *args, **kwargs))
        return results[-1]

    monkeypatch.setattr(beam.Pipeline, "run", keep)
    return results


def test_counter_names():
    assert dropped_counter("null label ('label')") == "rows_dropped_null_label"
    assert dropped_counter("null prediction ('p (base)')") == "rows_dropped_null_prediction"
    assert dropped_counter("null query_key ('qid')") == "rows_dropped_null_query_key"


@pytest.mark.parametrize("runner, config", [
    ("in process", "rows"), ("in process", "queries"),
    ("worker processes", "rows"), ("portable", "queries"),
])
def test_run_evaluation_counts_rows_by_reason(tmp_path, pipeline_results, request, monkeypatch,
                                              chosen, runner, config):
    rows, _ = dropped_rows.data()
    data = str(tmp_path / "data.parquet")
    pq.write_table(rows, data, row_group_size=500)  # three read tasks
    out = str(tmp_path / "out")
    run_evaluation(dropped_rows.CONFIGS[config], data, out, batch_size=200, report=False,
                   pipeline_options=runner_options(runner, request, monkeypatch))
    assert chosen.used == ([2] if runner == "worker processes" else [])
    (result,) = pipeline_results
    assert _counters(result) == COUNTERS[config]
    assert _as_counters(_summary(out)) == COUNTERS[config]


def test_evaluate_in_a_pipeline_counts_rows_by_reason(tmp_path):
    rows, _ = dropped_rows.data()
    out = str(tmp_path / "out")
    pipeline = test_pipeline.TestPipeline()
    _ = (pipeline
         | beam.Create(rows.to_batches(max_chunksize=300))
         | Evaluate(dropped_rows.QUERIES, out, report=False))
    result = pipeline.run()
    result.wait_until_finish()
    assert _counters(result) == COUNTERS["queries"]
    assert _as_counters(_summary(out)) == COUNTERS["queries"]
