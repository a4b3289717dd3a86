"""Cross-slice metrics: written as TFMA writes them (MetricsForSlice with a cross_slice_key, in
a shard of their own), read back by EvalResult.cross_slice_metrics and shown by `show`."""
import glob
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam.cli import main
from evalbeam.io.convert import metrics_from_proto, slice_key_from_proto
from evalbeam.io.result import load_result
from evalbeam.io.tfrecord import read_records
from evalbeam.proto import metrics_for_slice_pb2

# accuracy at 0.5: us 3/4 right, de 1/2, overall 4/6
DATA = pa.table({"y": [1, 1, 0, 0, 1, 0], "p": [0.9, 0.2, 0.1, 0.3, 0.8, 0.7],
                 "country": ["us", "us", "us", "us", "de", "de"]})
CONFIG = """model_specs { label_key: "y" prediction_key: "p" }
metrics_specs { metrics { class_name: "BinaryAccuracy" } metrics { class_name: "ExampleCount" } }
slicing_specs {}
cross_slicing_specs { baseline_spec {} slicing_specs { feature_keys: ["country"] } }
"""


def _by_name(values):
    return {k.name: v for k, v in values.items()}


def test_cross_slice_gaps_are_written_read_back_and_shown(tmp_path, capsys):
    pq.write_table(DATA, tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(CONFIG)
    out = str(tmp_path / "o")
    assert main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data",
                 str(tmp_path / "d.parquet"), "--output", out]) == 0
    want = {(("country", "us"),): {"binary_accuracy": 4 / 6 - 3 / 4, "example_count": 2.0},
            (("country", "de"),): {"binary_accuracy": 4 / 6 - 1 / 2, "example_count": 4.0}}

    # TFMA's format: the records after the slicing specs' shards (overall, country)
    shards = sorted(glob.glob(out + "/metrics-*"))
    assert [s.rsplit("/", 1)[1] for s in shards] == [
        f"metrics-0000{i}-of-00003.tfrecord" for i in range(3)]
    with open(shards[2], "rb") as f:
        records = [metrics_for_slice_pb2.MetricsForSlice.FromString(r)
                   for r in read_records(f, shards[2])]
    assert len(records) == 2
    for proto in records:
        assert proto.HasField("cross_slice_key") and not proto.HasField("slice_key")
        assert slice_key_from_proto(proto.cross_slice_key.baseline_slice_key) == ()
        comparison = slice_key_from_proto(proto.cross_slice_key.comparison_slice_key)
        assert _by_name(metrics_from_proto(proto)) == pytest.approx(want[comparison])

    result = load_result(out)
    assert {c: _by_name(v) for (b, c), v in result.cross_slice_metrics.items()} == {
        c: pytest.approx(v) for c, v in want.items()}
    assert {b for b, _ in result.cross_slice_metrics} == {()}
    assert _by_name(result.metrics[()])["binary_accuracy"] == pytest.approx(4 / 6)
    assert set(result.metrics) == {(), (("country", "us"),), (("country", "de"),)}

    capsys.readouterr()
    assert main(["show", out]) == 0
    text = capsys.readouterr().out
    assert "cross-slice gaps (baseline slice - comparison slice), 2 pair(s):" in text
    assert (f"  Overall - country=de: binary_accuracy (unweighted) {4 / 6 - 1 / 2:.4g}, "
            f"example_count (unweighted) 4") in text

    assert main(["show", out, "--json", "--metric", "binary_accuracy"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    gaps = {tuple(r["cross_slice"][1][0]): r["value"] for r in lines
            if "cross_slice" in r}
    assert gaps == {("country", "us"): pytest.approx(4 / 6 - 3 / 4),
                    ("country", "de"): pytest.approx(4 / 6 - 1 / 2)}
    assert all(r["cross_slice"][0] == [] and r["metric"] == "binary_accuracy"
               for r in lines if "cross_slice" in r)
    assert sum("slice" in r for r in lines) == 3  # the slices' own values, as before


def test_cross_slice_threshold_gaps_are_written_too(tmp_path):
    from evalbeam import run_evaluation

    text = ('model_specs { label_key: "y" prediction_key: "p" }\n'
            'metrics_specs { metrics { class_name: "BinaryAccuracy" cross_slice_thresholds { '
            'cross_slicing_specs { baseline_spec { feature_values { key: "country" value: "us" } } '
            'slicing_specs { feature_values { key: "country" value: "de" } } } '
            'threshold { value_threshold { upper_bound { value: 0.2 } } } } } }')
    result = run_evaluation(text, DATA, str(tmp_path / "o"))
    pair = ((("country", "us"),), (("country", "de"),))
    assert list(result.cross_slice_metrics) == [pair]
    (gap,) = result.cross_slice_metrics[pair].values()
    assert gap == pytest.approx(3 / 4 - 1 / 2)
    (entry,) = result.validation.metric_validations_per_slice
    assert "binary_accuracy (unweighted) gap (country=us - country=de) = 0.25 is above the " \
           "upper bound 0.2." == entry.failures[0].message
    assert np.isclose(entry.failures[0].metric_value.double_value.value, 0.25)
