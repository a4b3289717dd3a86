"""Evaluations whose artifacts must not depend on how the data is partitioned, and the
comparison of two runs' artifacts (metrics, plots, validations and intervals; floats within
1e-12 relative, or 1e-13 absolute for the differences of nearly equal sums: diffs, standard
errors): a binary model with a baseline, a multi-class model with class views and query
metrics, each with the jackknife or the Poisson bootstrap."""
import glob
import json
import os
import tempfile

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
CONFIGS = {"binary with baseline": BINARY, "multi-class": MULTI_CLASS, "queries": QUERIES}
METHODS = {"jackknife": "", "bootstrap": "confidence_intervals { method: POISSON_BOOTSTRAP }"}


def config_with_intervals(config: str, method: str) -> str:
    """The config named ``config`` (of CONFIGS) with intervals by ``method`` (of METHODS)."""
    return CONFIGS[config] + ("options { compute_confidence_intervals { value: true } %s }"
                              % METHODS[method])


def table() -> pa.Table:
    """N rows for every config: no two alike in label, prediction and weight (else their draws
    could change with the batching), queries of 1..8 documents spread over the rows."""
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


def _records(output_dir: str, prefix: str, message) -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(output_dir, prefix + "*"))):
        with open(path, "rb") as f:
            out += [MessageToDict(message.FromString(r)) for r in read_records(f, path)]
    return sorted(out, key=lambda r: json.dumps(r.get("sliceKey", {}), sort_keys=True))


def artifacts(output_dir: str) -> dict:
    """What must not depend on the partitioning: every record of the metrics, plots and
    validations files (in slice key order) and summary.json's row accounting and intervals."""
    with open(os.path.join(output_dir, "summary.json")) as f:
        summary = json.load(f)
    return {"metrics": _records(output_dir, "metrics-", mfs.MetricsForSlice),
            "plots": _records(output_dir, "plots-", mfs.PlotsForSlice),
            "validations": _records(output_dir, "validations",
                                    validation_result_pb2.ValidationResult),
            "summary": {k: summary[k] for k in ("rows_read", "rows_used", "rows_dropped",
                                                "intervals")}}


def assert_same(got, want, where="artifacts"):
    """Equal structures; floats within 1e-12 relative (1e-13 absolute near 0)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, str):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-13, nan_ok=True), where
    else:
        assert got == want, where


def interval_count(records: list) -> int:
    """Metric values with a confidence interval in these metrics records."""
    return sum(1 for r in records for kv in r.get("metricKeysAndValues", [])
               if "confidenceInterval" in kv)


def check_reference(want: dict, config: str) -> None:
    """The reference run's artifacts hold what the comparison is about: every row, intervals
    in every slice, plots for the multi-class config."""
    assert want["summary"]["rows_read"] == N
    assert want["summary"]["intervals"]["intervals"] > 0
    assert interval_count(want["metrics"]) >= 2 * len(want["metrics"])  # every slice has some
    if config == "multi-class":
        assert want["plots"]


_one_file = {}


def one_file_artifacts(config: str, method: str) -> dict:
    """The artifacts of the in-process run of ``config_with_intervals(config, method)`` on
    :func:`table` as one file of one row group, read in one batch (checked by
    :func:`check_reference`; computed once per process)."""
    if (config, method) not in _one_file:
        with tempfile.TemporaryDirectory() as folder:
            data = os.path.join(folder, "whole.parquet")
            pq.write_table(table(), data)
            out = os.path.join(folder, "out")
            run_evaluation(config_with_intervals(config, method), data, out, batch_size=N,
                           report=False)
            want = artifacts(out)
        check_reference(want, config)
        _one_file[config, method] = want
    return _one_file[config, method]
