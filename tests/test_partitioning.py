"""The same answer whatever the partitioning: one dataset evaluated in batches of 100, 1000 and
all rows, as one file, three files and row groups of 7 rows, in process and on two worker
processes, gives the same artifacts (metrics, plots, intervals; floats within 1e-12 relative, or
1e-13 absolute for the differences of nearly equal sums: diffs, standard errors),
for a binary model with a baseline, a multi-class model with class views and query metrics,
with the jackknife and the Poisson bootstrap."""
import glob
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.protobuf.json_format import MessageToDict

from evalbeam import run_evaluation
from evalbeam.io.tfrecord import read_records
from evalbeam.proto import metrics_for_slice_pb2 as mfs
from evalbeam.proto import validation_result_pb2

N, K = 1400, 4

BINARY = """
model_specs { name: "cand" label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }
model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "Precision" }
  metrics { class_name: "SymmetricFlipRate" } metrics { class_name: "CalibrationPlot" }
  metrics { class_name: "AUC" threshold { change_threshold { direction: HIGHER_IS_BETTER
    absolute { value: -0.5 } } } }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
MULTI_CLASS = """
model_specs { label_key: "cls" prediction_key: "scores" example_weight_key: "weight" }
metrics_specs {
  binarize { class_ids { values: [0, 2] } top_k_list { values: [2] } }
  aggregate { micro_average: true }
  metrics { class_name: "AUC" } metrics { class_name: "Precision" }
  metrics { class_name: "Recall" }
}
metrics_specs { metrics { class_name: "MultiClassConfusionMatrixPlot" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
QUERIES = """
model_specs { label_key: "label" prediction_key: "prediction" }
metrics_specs {
  query_key: "qid"
  metrics { class_name: "NDCG" config: '"gain_key": "gain", "top_k_list": [3]' }
  metrics { class_name: "MinLabelPosition" } metrics { class_name: "ExampleCount" }
}
slicing_specs {} slicing_specs { feature_keys: ["market"] }
"""
METHODS = {"jackknife": "", "bootstrap": "confidence_intervals { method: POISSON_BOOTSTRAP }"}


def _table() -> pa.Table:
    rng = np.random.default_rng(14)
    sizes = rng.integers(1, 9, N)
    qid = np.repeat(np.arange(N), sizes)[:N]
    rng.shuffle(qid)  # a query's documents spread over the files and batches
    label = rng.integers(0, 2, N)
    cls = rng.integers(0, K, N)
    logits = rng.normal(size=(N, K)) + 1.5 * np.eye(K)[cls]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pa.table({
        "label": label,
        "prediction": np.clip(rng.beta(2, 3, N) * 0.8 + 0.2 * label, 0, 1),
        "p_base": rng.random(N),
        "weight": rng.uniform(0.5, 2.0, N),
        "country": rng.choice(["us", "de", "fr"], N),
        "qid": qid,
        "market": np.where(qid % 2 == 0, "a", "b"),
        "gain": rng.integers(0, 4, N).astype(float),
        "cls": cls,
        "scores": pa.array(list(scores), type=pa.list_(pa.float64())),
    })


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """``(data, batch_size)`` per layout: one file read in batches of 100, 1000 and all rows,
    three files of unequal sizes, one file of row groups of 7 rows."""
    folder = tmp_path_factory.mktemp("partitioning")
    table = _table()
    whole = str(folder / "whole.parquet")
    pq.write_table(table, whole)
    (folder / "three").mkdir()
    for i, (start, stop) in enumerate([(0, 300), (300, 1100), (1100, N)]):
        pq.write_table(table.slice(start, stop - start), str(folder / "three" / f"part-{i}.parquet"))
    groups = str(folder / "groups.parquet")
    pq.write_table(table, groups, row_group_size=7)
    assert pq.ParquetFile(groups).metadata.num_row_groups == -(-N // 7)
    three = str(folder / "three")
    return {"batches of 100": (whole, 100), "batches of 1000": (whole, 1000),
            "one batch": (whole, N), "three files": (three, 1000),
            "row groups of 7": (groups, 1000),
            "two worker processes": (three, 300)}


def _records(output_dir: str, prefix: str, message) -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(output_dir, prefix + "*"))):
        with open(path, "rb") as f:
            out += [MessageToDict(message.FromString(r)) for r in read_records(f, path)]
    return sorted(out, key=lambda r: json.dumps(r.get("sliceKey", {}), sort_keys=True))


def _artifacts(output_dir: str) -> dict:
    with open(os.path.join(output_dir, "summary.json")) as f:
        summary = json.load(f)
    return {"metrics": _records(output_dir, "metrics-", mfs.MetricsForSlice),
            "plots": _records(output_dir, "plots-", mfs.PlotsForSlice),
            "validations": _records(output_dir, "validations", validation_result_pb2.ValidationResult),
            "summary": {k: summary[k] for k in ("rows_read", "rows_used", "intervals")}}


def _assert_same(got, want, where="artifacts"):
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            _assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, str):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-13, nan_ok=True), where
    else:
        assert got == want, where


def _intervals(records: list) -> int:
    return sum(1 for r in records for kv in r.get("metricKeysAndValues", [])
               if "confidenceInterval" in kv)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("config", ["binary with baseline", "multi-class", "queries"])
def test_artifacts_do_not_depend_on_the_partitioning(layouts, tmp_path, config, method):
    body = {"binary with baseline": BINARY, "multi-class": MULTI_CLASS, "queries": QUERIES}[config]
    body += ("options { compute_confidence_intervals { value: true } %s }" % METHODS[method])
    runs = {}
    for name, (data, batch_size) in layouts.items():
        options = (["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
                   if name == "two worker processes" else None)
        out = str(tmp_path / name.replace(" ", "_"))
        run_evaluation(body, data, out, batch_size=batch_size, pipeline_options=options,
                       report=False)
        runs[name] = _artifacts(out)
    want = runs.pop("one batch")
    assert want["summary"]["rows_read"] == N
    assert want["summary"]["intervals"]["intervals"] > 0
    assert _intervals(want["metrics"]) >= 2 * len(want["metrics"])  # every slice has some
    if config == "multi-class":
        assert want["plots"]
    for name, got in runs.items():
        _assert_same(got, want, name)


HARD = """
model_specs { label_key: "label" prediction_key: "hard" }
metrics_specs { metrics { class_name: "BinaryAccuracy" } metrics { class_name: "Precision" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
options { compute_confidence_intervals { value: true } %s }
"""


def _hard_table(n=3000):
    """Hard 0/1 predictions: every row is one of four (label, prediction) pairs."""
    rng = np.random.default_rng(5)
    label = rng.integers(0, 2, n)
    hard = np.where(rng.random(n) < 0.8, label, 1 - label)
    return pa.table({"label": label, "hard": hard, "country": rng.choice(["us", "de"], n),
                     "id": rng.permutation(n) * 7919})


@pytest.mark.parametrize("method", sorted(METHODS))
def test_an_example_id_makes_identical_rows_distinct_whatever_the_batching(tmp_path, method):
    from evalbeam.io.result import load_result

    body = HARD % ('confidence_intervals { %s example_id_key: "id" }'
                   % METHODS[method].replace("confidence_intervals { ", "").rstrip(" }"))
    table = _hard_table()
    runs = [run_evaluation(body, table, str(tmp_path / f"b{size}"), batch_size=size, report=False)
            for size in (100, 1000, len(table))]
    want = {k: v for k, v in runs[-1].intervals.items()}
    assert want and all(v for v in want.values())
    for got in runs[:-1]:
        _assert_same(_artifacts(got.output_dir), _artifacts(runs[-1].output_dir))
    assert load_result(runs[0].output_dir).summary["intervals"]["intervals"] > 0


def test_identical_rows_are_drawn_independently():
    """Without an id, 3000 rows of four kinds still fill the 20 jackknife partitions evenly
    (drawn together, each kind would sit in one partition), and their Poisson counts are
    Poisson(1) row by row."""
    from evalbeam.config import parse_config, resolve_config
    from evalbeam.extract import extract

    table = _hard_table()
    (batch,) = table.to_batches()
    for method, check in [("", "jackknife"), (METHODS["bootstrap"], "bootstrap")]:
        eval_plan = resolve_config(parse_config(HARD % method))
        arrays = next(iter(extract(batch, eval_plan).streams.values()))
        y, p = table.column("label").to_numpy(), table.column("hard").to_numpy()
        kind = (y == 1) & (p == 1)
        if check == "jackknife":
            parts = eval_plan.resampling.partitions(arrays)[kind]
            share = np.bincount(parts, minlength=20) / kind.sum()
            assert np.abs(share - 0.05).max() < 0.03
        else:
            counts = eval_plan.resampling.counts(arrays)[kind]
            assert abs(counts.mean() - 1) < 0.05 and abs(counts.var() - 1) < 0.1
            assert len({row.tobytes() for row in counts}) > 0.9 * kind.sum()


def test_a_missing_example_id_column_is_named(tmp_path):
    from evalbeam.errors import InputError

    body = HARD % 'confidence_intervals { example_id_key: "row_id" }'
    with pytest.raises(InputError, match=r"no column 'row_id' "
                                         r"\(options.confidence_intervals.example_id_key\)"):
        run_evaluation(body, _hard_table(100), str(tmp_path / "out"), report=False)
