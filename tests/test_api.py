"""End to end through Beam: files in every format -> artifacts -> load_result, and edge cases."""
import math

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam import run_evaluation
from helpers_io import write

CONFIG = BASE + """
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" }
  metrics { class_name: "AUC" } metrics { class_name: "Precision" }
  metrics { class_name: "BinaryCrossentropy" }
  metrics { class_name: "CalibrationPlot" } metrics { class_name: "ConfusionMatrixPlot" }
  metrics { class_name: "MeanLabel" config: '"name": "mean_label_gate"'
            threshold { value_threshold { lower_bound { value: 0.2 } } } }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def _values(result):
    return {(k, m.name, m.example_weighted): v for k, ms in result.metrics.items()
            for m, v in ms.items()}


@pytest.fixture(scope="module")
def data():
    # float32 predictions and float weights survive every format exactly
    t = make_table(3000, seed=5)
    return t.set_column(2, "weight", pa.array(t.column("weight").to_numpy(), pa.float32()))


def test_formats_and_splits_give_the_same_numbers(tmp_path, data):
    results = {}
    for fmt in ("parquet", "csv", "tfrecord"):
        path = write(data, str(tmp_path / f"data.{fmt}"))
        results[fmt] = _values(run_evaluation(CONFIG, path, str(tmp_path / f"out_{fmt}")))
    two = [write(data.slice(0, 1000), str(tmp_path / "a.parquet")),
           write(data.slice(1000), str(tmp_path / "b.parquet"))]
    results["two files"] = _values(run_evaluation(CONFIG, two, str(tmp_path / "out_two"),
                                                  batch_size=333))
    reference = results.pop("parquet")
    assert len(reference) == 5 * 6
    for name, got in results.items():
        assert got.keys() == reference.keys(), name
        # CSV holds float32 predictions as shortest decimal text, read back as float64
        rel = 1e-6 if name == "csv" else 1e-9
        for k, v in reference.items():
            assert got[k] == pytest.approx(v, rel=rel, abs=1e-12), (name, k)


def test_artifacts_are_complete_and_readable(tmp_path, data):
    out = tmp_path / "out"
    result = run_evaluation(CONFIG, write(data, str(tmp_path / "d.parquet")), str(out))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["BLESSED", "eval_config.json", "metrics-00000-of-00002.tfrecord",
                     "metrics-00001-of-00002.tfrecord", "plots-00000-of-00002.tfrecord",
                     "plots-00001-of-00002.tfrecord", "report.html", "summary.json",
                     "validations.tfrecord"]
    assert sorted(result.summary["files"] + ["summary.json"]) == names
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert result.summary["rows_read"] == result.summary["rows_used"] == 3000
    assert result.validation.validation_ok
    w = data.column("weight").to_numpy().astype(float)
    assert result.value("example_count") == pytest.approx(w.sum())
    plot = result.plots[()]
    cal = next(v for k, v in plot.items() if "calibration_histogram_buckets" in v)
    buckets = cal["calibration_histogram_buckets"]
    assert len(buckets["num_weighted_examples"]) == 1002
    assert buckets["num_weighted_examples"].sum() == pytest.approx(w.sum())
    p = data.column("prediction").to_numpy().astype(float)
    assert buckets["total_weighted_refined_prediction"].sum() == pytest.approx((w * p).sum())
    cm = next(v for k, v in plot.items() if "confusion_matrix_at_thresholds" in v)
    matrices = cm["confusion_matrix_at_thresholds"]
    i = int(np.flatnonzero(np.isclose(matrices["threshold"], 0.5))[0])
    y = data.column("label").to_numpy()
    # histogram path: positive iff the bucket's left edge >= 0.5 + 1e-7, i.e. p >= 0.5001
    assert matrices["true_positives"][i] == pytest.approx(w[(y == 1) & (p >= 0.5001)].sum())


def test_failed_threshold_fails_validation(tmp_path, data):
    config = CONFIG.replace("lower_bound { value: 0.2 }", "lower_bound { value: 0.9 }")
    result = run_evaluation(config, write(data, str(tmp_path / "d.parquet")), str(tmp_path / "o"))
    assert not result.validation.validation_ok
    failures = [f for s in result.validation.metric_validations_per_slice for f in s.failures]
    assert len(failures) == 5 and all("below the lower bound 0.9" in f.message for f in failures)


def test_empty_input_gives_valid_artifacts_with_zero_counts(tmp_path, data):
    path = write(data.slice(0, 0), str(tmp_path / "empty.parquet"))
    result = run_evaluation(CONFIG, path, str(tmp_path / "out"))
    assert list(result.metrics) == [()]
    assert result.value("example_count") == 0
    assert math.isnan(result.value("auc"))
    assert result.summary["rows_read"] == 0


def test_one_class_and_zero_weight_slices(tmp_path):
    t = pa.table({"label": [1, 1, 0, 1, 0], "prediction": [0.9, 0.2, 0.4, 0.6, 0.3],
                  "weight": [1.0, 2.0, 1.0, 0.0, 0.0], "country": ["us", "us", "de", "fr", "fr"]})
    result = run_evaluation(CONFIG, t, str(tmp_path / "out"))
    assert math.isnan(result.value("auc", (("country", "us"),)))  # positives only
    assert result.value("example_count", (("country", "fr"),)) == 0.0  # all weights zero
    assert math.isnan(result.value("mean_label", (("country", "fr"),)))
    assert result.value("auc") == pytest.approx(1 / 3)  # pairs: 0.9>0.4 (w 1), 0.2<0.4 (w 2)


def test_csv_typed_by_a_tensorflow_metadata_schema(tmp_path):
    # Without a schema "age" would be read as int64 and "zip" (digits) as int64 too; the schema
    # makes zip a string, so slice keys keep its leading zero.
    path = tmp_path / "d.csv"
    path.write_text("label,prediction,weight,zip\n1,0.9,1.0,01234\n0,0.2,1.0,01234\n1,0.6,2.0,99\n")
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "zip" type: BYTES }\nfeature { name: "label" type: INT }\n')
    config = BASE + ('metrics_specs { metrics { class_name: "ExampleCount" } }\n'
                     'slicing_specs { feature_keys: ["zip"] }')
    result = run_evaluation(config, str(path), str(tmp_path / "out"), schema=str(schema))
    assert set(result.metrics) == {(("zip", "01234"),), (("zip", "99"),)}
    untyped = run_evaluation(config, str(path), str(tmp_path / "out2"))
    assert set(untyped.metrics) == {(("zip", 1234),), (("zip", 99),)}


def test_slice_present_in_one_file_only(tmp_path):
    a = pa.table({"label": [1, 0], "prediction": [0.8, 0.3], "weight": [1.0, 1.0],
                  "country": ["us", "us"]})
    b = pa.table({"label": [1, 0], "prediction": [0.6, 0.1], "weight": [2.0, 1.0],
                  "country": ["de", "us"]})
    files = [write(a, str(tmp_path / "a.parquet")), write(b, str(tmp_path / "b.parquet"))]
    result = run_evaluation(CONFIG, files, str(tmp_path / "out"))
    assert result.value("example_count", (("country", "de"),)) == 2.0
    assert result.value("example_count", (("country", "us"),)) == 3.0
    assert result.value("example_count") == 5.0


def test_roc_and_pr_curve_points(tmp_path):
    # Positives at 0.9 and 0.4, negatives at 0.6 and 0.1 (unit weights).
    t = pa.table({"label": [1, 1, 0, 0], "prediction": [0.9, 0.4, 0.6, 0.1],
                  "weight": [1.0] * 4, "country": ["us"] * 4})
    result = run_evaluation(CONFIG, t, str(tmp_path / "out"))
    roc = result.roc_curve()
    at = {round(float(t), 3): i for i, t in enumerate(roc["thresholds"])}
    assert len(roc["fpr"]) == 1002
    assert (roc["fpr"][at[0.0]], roc["tpr"][at[0.0]]) == (1.0, 1.0)
    assert (roc["fpr"][at[0.5]], roc["tpr"][at[0.5]]) == (0.5, 0.5)   # 0.9 and 0.6 above 0.5
    assert (roc["fpr"][at[0.7]], roc["tpr"][at[0.7]]) == (0.0, 0.5)
    assert (roc["fpr"][at[1.0]], roc["tpr"][at[1.0]]) == (0.0, 0.0)
    pr = result.pr_curve()
    assert (pr["recall"][at[0.3]], pr["precision"][at[0.3]]) == (1.0, 2 / 3)
    assert pr["precision"][at[1.0]] == 1.0  # nothing predicted positive: TFMA's 1.0


def test_gain_lift_and_score_distribution_written_and_read_back(tmp_path):
    # Positives at 0.9 and 0.4, negatives at 0.6 and 0.1 (unit weights).
    t = pa.table({"label": [1, 1, 0, 0], "prediction": [0.9, 0.4, 0.6, 0.1],
                  "weight": [1.0] * 4, "country": ["us"] * 4})
    config = BASE + """metrics_specs {
      metrics { class_name: "ConfusionMatrixPlot" } metrics { class_name: "GainCurve" config: '"num_points": 4' }
      metrics { class_name: "LiftCurve" config: '"num_points": 4' }
      metrics { class_name: "ScoreDistributionPlot" config: '"num_thresholds": 2' } }"""
    result = run_evaluation(config, t, str(tmp_path / "out"))
    # ranking 0.9 (+), 0.6 (-), 0.4 (+), 0.1 (-)
    np.testing.assert_allclose(result.gain_curve()["gain"], [0.5, 0.5, 1, 1])
    np.testing.assert_allclose(result.lift_curve()["lift"], [2, 1, 4 / 3, 1])
    np.testing.assert_allclose(result.lift_curve()["population_fraction"], [0.25, 0.5, 0.75, 1])
    d = result.score_distribution()  # thresholds -1e-6, 0, 0.5, 1
    np.testing.assert_array_equal(d["upper_threshold_inclusive"], [-1e-6, 0, 0.5, 1, np.inf])
    np.testing.assert_array_equal(d["weighted_positives"], [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(d["weighted_negatives"], [0, 0, 1, 1, 0])
    assert len(result.roc_curve()["fpr"]) == 1002  # the ConfusionMatrixPlot's, not the other
