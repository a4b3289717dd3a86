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
