"""Every metric against an independent reference (scikit-learn or numpy written here), per slice,
weighted and unweighted, on random data with zero weights included."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from conftest import evaluate_in_process, plan, split_batches

ALL = """
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "MeanPrediction" }
  metrics { class_name: "Calibration" } metrics { class_name: "BinaryAccuracy" }
  metrics { class_name: "Precision" } metrics { class_name: "Recall" }
  metrics { class_name: "F1Score" } metrics { class_name: "Specificity" }
  metrics { class_name: "FallOut" } metrics { class_name: "MissRate" }
  metrics { class_name: "BinaryCrossentropy" } metrics { class_name: "BinaryCrossEntropy" config: '"name": "bce_exact"' }
  metrics { class_name: "MeanSquaredError" } metrics { class_name: "RootMeanSquaredError" }
  metrics { class_name: "MeanAbsoluteError" } metrics { class_name: "MeanAbsolutePercentageError" }
  metrics { class_name: "SquaredPearsonCorrelation" }
  metrics { class_name: "AUC" } metrics { class_name: "AUCPrecisionRecall" }
  example_weights { weighted: true unweighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] } slicing_specs { feature_keys: ["country", "device"] }
"""


def references(y, p, w):
    hard = (p > 0.5).astype(int)
    wpos = w * y
    eps = 1e-7
    pc = np.clip(p, eps, 1 - eps)
    nz = y != 0
    out = {
        "example_count": w.sum(),
        "weighted_example_count": w.sum(),
        "mean_label": np.average(y, weights=w),
        "mean_prediction": np.average(p, weights=w),
        "calibration": (w * p).sum() / wpos.sum(),
        "binary_accuracy": skm.accuracy_score(y, hard, sample_weight=w),
        "precision": skm.precision_score(y, hard, sample_weight=w),
        "recall": skm.recall_score(y, hard, sample_weight=w),
        "f1_score": skm.f1_score(y, hard, sample_weight=w),
        "specificity": skm.recall_score(1 - y, 1 - hard, sample_weight=w),
        "fall_out": 1 - skm.recall_score(1 - y, 1 - hard, sample_weight=w),
        "miss_rate": 1 - skm.recall_score(y, hard, sample_weight=w),
        "binary_crossentropy": np.average(-(y * np.log(pc + eps) + (1 - y) * np.log(1 - pc + eps)),
                                          weights=w),
        "bce_exact": skm.log_loss(y, p, sample_weight=w, labels=[0, 1]),
        "mean_squared_error": skm.mean_squared_error(y, p, sample_weight=w),
        "root_mean_squared_error": math.sqrt(skm.mean_squared_error(y, p, sample_weight=w)),
        "mean_absolute_error": skm.mean_absolute_error(y, p, sample_weight=w),
        "mean_absolute_percentage_error":
            100 * np.average(np.abs((y[nz] - p[nz]) / y[nz]), weights=w[nz]),
        "squared_pearson_correlation": np.corrcoef(np.repeat(y, (w * 2).astype(int)),
                                                   np.repeat(p, (w * 2).astype(int)))[0, 1] ** 2,
        "auc": skm.roc_auc_score(y, p, sample_weight=w),
        "auc_precision_recall": skm.average_precision_score(y, p, sample_weight=w),
    }
    return out


# The histogram metrics see predictions quantised to 1e-4 buckets. ROC: pairs sharing a bucket
# count as ties (1/2), so |error| <= max bucket share of pair weight, here well under 1e-3.
# PR: TFMA's interpolated area differs from scikit-learn's step-wise average precision by
# O(1/positives); 2e-2 is generous for ~100+ positives per slice.
TOLERANCE = {"auc": 1e-3, "auc_precision_recall": 2e-2}


@pytest.mark.parametrize("weighted", [True, False])
def test_every_metric_matches_reference_per_slice(table, weighted):
    metrics, _, _ = evaluate_in_process(plan(ALL), split_batches(table, sizes_seed=1))
    y = table.column("label").to_numpy().astype(float)
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy() if weighted else np.ones(table.num_rows)
    country = np.array(table.column("country").to_pylist())
    device = np.array(table.column("device").to_pylist())
    assert len(metrics) == 1 + 4 + 8
    for key, got in metrics.items():
        mask = np.ones(len(y), bool)
        for column, value in key:
            mask &= {"country": country, "device": device}[column] == value
        want = references(y[mask], p[mask], w[mask])
        for name, expected in want.items():
            value = got[name if weighted else name + "/unweighted"]
            tol = TOLERANCE.get(name, 1e-9)
            assert value == pytest.approx(expected, rel=tol, abs=tol), (key, name)


def test_auc_equals_exact_auc_when_predictions_sit_on_the_bucket_grid():
    # Predictions in the middle of well-separated buckets: the histogram loses nothing, and
    # TFMA's thresholds put each distinct value on its own step, so ROC AUC is exact (ties 1/2).
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    p = (rng.integers(0, 100, 3000) / 100 + 0.00005) * (1 - 0.5 * (1 - y)) 
    p = np.round(p * 1e4) / 1e4 + 0.00005
    import pyarrow as pa
    t = pa.table({"label": y, "prediction": p, "weight": rng.random(3000)})
    metrics, _, _ = evaluate_in_process(plan('metrics_specs { metrics { class_name: "AUC" } }'),
                                        t.to_batches())
    assert metrics[()]["auc"] == pytest.approx(
        skm.roc_auc_score(y, p, sample_weight=t.column("weight").to_numpy()), abs=1e-12)


def test_pr_auc_worked_example():
    # Two positives at 0.9 and 0.4, two negatives at 0.6 and 0.1 (distinct buckets, unit weights).
    # Thresholds sweep the points (recall, precision): (0,·) -> (1/2,1) -> (1/2,1/2) -> (1,2/3)
    # -> (1,1/2). Davis-Goadrich interpolation between consecutive points:
    #  (1/2,1)->(1/2,1/2): no recall gained: 0. (1/2,1/2)->(1,2/3): tp 1->2 as p 2->3, slope 1,
    #  area = int_{2}^{3} (x-1)/x dx / 2 = (1 - ln(3/2)) / 2. First step (0 -> 1/2 at precision 1):
    #  1/2. Last step adds nothing (no tp gained).
    import pyarrow as pa
    t = pa.table({"label": [1, 1, 0, 0], "prediction": [0.9, 0.4, 0.6, 0.1], "weight": [1.0] * 4})
    metrics, _, _ = evaluate_in_process(
        plan('metrics_specs { metrics { class_name: "AUCPrecisionRecall" } }'), t.to_batches())
    assert metrics[()]["auc_precision_recall"] == pytest.approx(0.5 + (1 - math.log(1.5)) / 2, rel=1e-12)


def test_calibration_plot_buckets_worked_example():
    # [0, 0.001) holds 0.0005; [0.5, 0.501) holds 0.5 and 0.5004; [1, inf) holds 1.0.
    import pyarrow as pa
    t = pa.table({"label": [0, 1, 0, 1], "prediction": [0.0005, 0.5, 0.5004, 1.0],
                  "weight": [1.0, 2.0, 3.0, 4.0]})
    _, plots, _ = evaluate_in_process(
        plan('metrics_specs { metrics { class_name: "CalibrationPlot" } }'), t.to_batches())
    b = plots[()]["calibration_plot"]["calibration_histogram_buckets"]
    assert len(b["num_weighted_examples"]) == 1002
    assert (b["lower_threshold_inclusive"][1], b["upper_threshold_exclusive"][1]) == (0.0, 0.001)
    assert b["num_weighted_examples"][1] == 1.0 and b["total_weighted_label"][1] == 0.0
    assert b["num_weighted_examples"][501] == 5.0 and b["total_weighted_label"][501] == 2.0
    assert b["total_weighted_refined_prediction"][501] == pytest.approx(2 * 0.5 + 3 * 0.5004)
    assert b["lower_threshold_inclusive"][1001] == 1.0 and b["num_weighted_examples"][1001] == 4.0
    assert b["num_weighted_examples"].sum() == 10.0


def test_one_class_slices():
    # Only positives: ROC undefined (NaN; TFMA says 0.0), PR area 1. Only negatives: both NaN.
    import pyarrow as pa
    config = plan('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "AUCPrecisionRecall" } }')
    positives = pa.table({"label": [1, 1, 1], "prediction": [0.2, 0.5, 0.9], "weight": [1.0, 2.0, 1.0]})
    m = evaluate_in_process(config, positives.to_batches())[0][()]
    assert math.isnan(m["auc"]) and m["auc_precision_recall"] == pytest.approx(1.0)
    negatives = positives.set_column(0, "label", pa.array([0, 0, 0]))
    m = evaluate_in_process(config, negatives.to_batches())[0][()]
    assert math.isnan(m["auc"]) and math.isnan(m["auc_precision_recall"])
