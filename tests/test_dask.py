"""The evaluation on Beam's DaskRunner, on a distributed.LocalCluster of two worker processes:
the same artifacts as the in-process run, with a baseline model, confidence intervals and query
metrics; the work done by both workers; rows given as dicts refused with one line."""
import collections
import json
import os
import subprocess
import sys

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import distributed

from evalbeam import Evaluate, load_result, run_evaluation
from evalbeam.demo import CONFIG as B1, generate
from evalbeam.errors import InputError

ROWS, FILES, ROW_GROUP = 24_000, 3, 4_000  # 3 files x 2 row groups: 6 read tasks
QUERIES = 1_600
DROPPED = 37  # rows without a label
CONFIG = """
model_specs { name: "candidate" label_key: "label" prediction_key: "prediction"
              example_weight_key: "weight" }
model_specs { name: "baseline" label_key: "label" prediction_key: "base_prediction"
              example_weight_key: "weight" is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" }
  metrics { class_name: "Calibration" }
  metrics { class_name: "BinaryAccuracy" }
  metrics { class_name: "AUC" config: '"num_thresholds": 10000'
            threshold { value_threshold { lower_bound { value: 0.99 } }
                        change_threshold { direction: HIGHER_IS_BETTER
                                           absolute { value: -0.001 } } } }
  metrics { class_name: "ConfusionMatrixPlot" }
  metrics { class_name: "CalibrationPlot" }
  example_weights { weighted: true }
}
metrics_specs {
  query_key: "qid"
  binarize { top_k_list { values: [1, 5] } }
  metrics { class_name: "NDCG" config: '"gain_key": "gain"' }
  metrics { class_name: "MinLabelPosition" }
  metrics { class_name: "PrecisionAtK" }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["country", "device"] }
options { compute_confidence_intervals { value: true }
          confidence_intervals { method: POISSON_BOOTSTRAP } }
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """B1's data (weights constant within a query), a baseline's predictions, queries of
    documents spread over every file, in FILES files of row groups of ROW_GROUP rows."""
    where = tmp_path_factory.mktemp("dask_data")
    generate(ROWS, str(where / "b1.parquet"))
    table = pq.read_table(where / "b1.parquet")
    rng = np.random.default_rng(3)
    qid = rng.integers(0, QUERIES, ROWS)
    prediction = table.column("prediction").to_numpy()
    table = table.set_column(table.schema.get_field_index("weight"), "weight",
                             pa.array(rng.choice([0.5, 1.0, 2.0], QUERIES)[qid]))
    label = table.column("label").to_numpy()
    unlabelled = np.zeros(ROWS, bool)
    unlabelled[rng.choice(ROWS, DROPPED, replace=False)] = True  # dropped: no label
    table = table.set_column(table.schema.get_field_index("label"), "label",
                             pa.array(label, mask=unlabelled))
    table = (table.append_column("base_prediction", pa.array(
                 np.clip(prediction + rng.normal(scale=0.2, size=ROWS), 0, 1)))
             .append_column("qid", pa.array(qid))
             .append_column("gain", pa.array(rng.integers(0, 4, ROWS).astype(np.float64))))
    per_file = ROWS // FILES
    paths = []
    for i in range(FILES):
        paths.append(str(where / f"part-{i}.parquet"))
        pq.write_table(table.slice(i * per_file, per_file), paths[-1], row_group_size=ROW_GROUP)
    config = where / "config.textproto"
    config.write_text(CONFIG)
    return paths, str(config), table


def _same(got, want, where):
    """Equal structures; floats (and float arrays) within 1e-12 relative."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            _same(got[k], want[k], f"{where}/{k}")
    elif where.startswith("intervals") and isinstance(want, (tuple, list)) and len(want) == 2:
        # (lower, upper): a bound near 0 is the difference of two larger numbers (mean and
        # t x standard error), so both bounds are compared on the interval's scale
        scale = np.max(np.abs(np.concatenate([np.ravel(want[0]), np.ravel(want[1])])))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-12 * scale, err_msg=where)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, np.ndarray):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=where)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=0, nan_ok=True), where
    else:
        assert got == want, where


def _same_metrics(got, want):
    """_same, but a diff (candidate - baseline) within 1e-12 of the values it subtracts: two
    equal values may differ by one rounding, in either run, and their diff then by 1e-16."""
    assert got.keys() == want.keys()
    for slice_key, values in want.items():
        assert got[slice_key].keys() == values.keys(), slice_key
        for key, value in values.items():
            where = f"metrics/{slice_key}/{key}"
            if key.is_diff and isinstance(value, float) and value == value:
                scale = max(abs(v) for k, v in values.items() if not k.is_diff and
                            isinstance(v, float) and (k.name, k.sub_key) == (key.name, key.sub_key))
                assert abs(got[slice_key][key] - value) <= 1e-12 * scale, where
            else:
                _same(got[slice_key][key], value, where)


def test_dask_cluster_gives_the_in_process_artifacts(data, dask_cluster, tmp_path):
    paths, config, table = data
    local_cluster, client = dask_cluster
    local = run_evaluation(config, paths, str(tmp_path / "local"))
    with distributed.get_task_stream(client) as tasks:
        run = subprocess.run(
            [sys.executable, "-m", "evalbeam.cli", "evaluate", "--config", config,
             "--data", *paths, "--output", str(tmp_path / "dask"), "--runner=DaskRunner",
             f"--dask_client_address={local_cluster.scheduler_address}"],
            capture_output=True, text=True, env=os.environ, timeout=300)
    assert run.returncode == 1, run.stderr  # evaluated; a threshold failed (as locally)
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
    # the cluster did the work: tasks ran on both worker processes
    workers = {t["worker"] for t in tasks.data}
    assert workers == set(local_cluster.scheduler_info["workers"]), workers
    dask = load_result(str(tmp_path / "dask"))

    # an independent check of the numbers both runs agree on
    kept = table.filter(table.column("label").is_valid())
    w, y = kept.column("weight").to_numpy(), kept.column("label").to_numpy()
    overall = dask.metrics[()]
    by_name = {(k.name, k.model_name, k.is_diff): v for k, v in overall.items()}
    assert by_name["weighted_example_count", "candidate", False] == pytest.approx(w.sum(), rel=1e-12)
    assert by_name["mean_label", "candidate", False] == pytest.approx((w * y).sum() / w.sum(),
                                                                        rel=1e-12)
    assert any(k.is_diff for k in overall) and dask.intervals[()], "no diffs or intervals"

    # the row accounting travels in the data (the DaskRunner has no Beam metrics)
    assert dask.summary["rows_read"] == ROWS and dask.summary["rows_used"] == ROWS - DROPPED
    assert sum(dask.summary["rows_dropped"].values()) == DROPPED, dask.summary["rows_dropped"]
    _same_metrics(dask.metrics, local.metrics)
    _same(dask.plots, local.plots, "plots")
    _same(dask.intervals, local.intervals, "intervals")
    assert dask.omitted == local.omitted
    assert dask.validation == local.validation
    assert not dask.validation.validation_ok  # no slice has an AUC of 0.99
    skip = {"evaluated_at", "files"}  # when it ran; the file listing is checked below
    _same({k: v for k, v in dask.summary.items() if k not in skip},
          {k: v for k, v in local.summary.items() if k not in skip}, "summary")
    assert sorted(dask.summary["files"]) == sorted(local.summary["files"])
    for name in ("regressions.json", "eval_config.json"):
        with open(tmp_path / "dask" / name) as a, open(tmp_path / "local" / name) as b:
            _same(json.load(a), json.load(b), name)


def test_rows_as_dicts_are_refused_on_dask(data, dask_cluster, tmp_path):
    """The DaskRunner drops what a DoFn emits at the end of a bundle, where the last rows given
    as dicts are gathered: the run stops with one line instead of losing them."""
    paths, config, table = data
    options = beam.options.pipeline_options.PipelineOptions([
        "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
        f"--dask_client_address={dask_cluster[0].scheduler_address}"])
    pipeline = beam.Pipeline(options=options)
    _ = (pipeline | beam.Create(table.slice(0, 100).to_pylist())
         | Evaluate(config, str(tmp_path / "out")))
    run = pipeline.run()
    try:
        with pytest.raises(InputError, match="give it record batches") as raised:
            run.wait_until_finish()
    finally:
        run.client.close()
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_dask_runner_by_its_short_name_in_run_evaluation(data, dask_cluster, tmp_path):
    """run_evaluation takes --runner=DaskRunner and partitions by read task unless told."""
    paths, config, table = data
    address = f"--dask_client_address={dask_cluster[0].scheduler_address}"
    small = str(tmp_path / "small.parquet")
    pq.write_table(table.slice(0, 3_000), small, row_group_size=1_000)
    local = run_evaluation(B1, small, str(tmp_path / "local"))
    with distributed.get_task_stream(dask_cluster[1]) as tasks:
        got = run_evaluation(B1, small, str(tmp_path / "dask"),
                             pipeline_options=["--runner=DaskRunner", address])
    # B1's pipeline has one DoFn stage before its shuffle (Dask names its tasks (stage,
    # partition)): a partition per row group, and one for the Start element (the DaskRunner's
    # default would put the three row groups in one partition)
    partitions = collections.Counter(t["key"][0] for t in tasks.data
                                     if isinstance(t["key"], tuple) and len(t["key"]) == 2
                                     and t["key"][0].startswith("apply_dofn_to_bundle-")
                                     and "shuffle" not in t["key"][0])
    assert max(partitions.values()) == 3 + 1, partitions
    assert got.summary["rows_read"] == 3_000
    _same_metrics(got.metrics, local.metrics)


def test_a_scheduler_that_does_not_answer_is_one_line(data, tmp_path, capsys):
    from evalbeam.cli import main

    paths, config, _ = data
    code = main(["evaluate", "--config", config, "--data", paths[0], "--output",
                 str(tmp_path / "out"), "--runner=DaskRunner",
                 "--dask_client_address=127.0.0.1:1", "--dask_connection_timeout=1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "no Dask scheduler answers at 127.0.0.1:1 (--dask_client_address)" in err
    assert not os.listdir(tmp_path)  # nothing written, no staging left


@pytest.mark.parametrize("flag, said", [
    ("--runner=DaskRuner", "unknown runner 'DaskRuner' for --runner (did you mean DaskRunner?)"),
    ("--dask_npartition=3", "unknown flag --dask_npartition (did you mean --dask_npartitions?)"),
])
def test_dask_flags_are_checked_before_any_work(data, tmp_path, capsys, flag, said):
    from evalbeam.cli import main

    paths, config, _ = data
    code = main(["evaluate", "--config", config, "--data", paths[0], "--output",
                 str(tmp_path / "out"), "--runner=DaskRunner", flag])
    err = capsys.readouterr().err
    assert code == 2 and said in err and err.count("\n") == 1, err
