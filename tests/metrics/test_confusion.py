"""The binary confusion-matrix family against references written here (numpy) and scikit-learn,
per slice and weighted."""
import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from conftest import evaluate_in_process, plan, split_batches

FAMILY = ["TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "TP", "FN",
          "NegativePredictiveValue", "FalseDiscoveryRate", "FalseOmissionRate", "Prevalence",
          "PredictedPositiveRate", "ThreatScore", "MatthewsCorrelationCoefficient",
          "BalancedAccuracy", "Informedness", "Markedness", "FowlkesMallowsIndex",
          "PrevalenceThreshold", "PositiveLikelihoodRatio", "NegativeLikelihoodRatio",
          "DiagnosticOddsRatio", "MaxRecall", "PPV", "TPR", "TNR", "FPR", "FNR", "NPV"]


def reference(y, p, w):
    hard = p > 0.5
    tp, fp = w[hard & (y == 1)].sum(), w[hard & (y == 0)].sum()
    tn, fn = w[~hard & (y == 0)].sum(), w[~hard & (y == 1)].sum()
    tpr, tnr, ppv, npv = tp / (tp + fn), tn / (tn + fp), tp / (tp + fp), tn / (tn + fn)
    total = tp + fp + tn + fn
    return {
        "true_positives": tp, "true_negatives": tn, "false_positives": fp, "false_negatives": fn,
        "tp": tp, "fn": fn, "negative_predictive_value": npv, "false_discovery_rate": fp / (fp + tp),
        "false_omission_rate": fn / (fn + tn), "prevalence": (tp + fn) / total,
        "predicted_positive_rate": (tp + fp) / total, "threat_score": tp / (tp + fn + fp),
        "matthews_correlation_coefficient": skm.matthews_corrcoef(y, hard, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y, hard, sample_weight=w),
        "informedness": tpr + tnr - 1, "markedness": ppv + npv - 1,
        "fowlkes_mallows_index": math.sqrt(ppv * tpr),
        "prevalence_threshold": (math.sqrt(tpr * (1 - tnr)) + tnr - 1) / (tpr + tnr - 1),
        "positive_likelihood_ratio": tpr / (1 - tnr), "negative_likelihood_ratio": (1 - tpr) / tnr,
        "diagnostic_odds_ratio": (tp / fn) / (fp / tn),
        "max_recall": w[(p > 1e-12) & (y == 1)].sum() / w[y == 1].sum(),
        "ppv": ppv, "tpr": tpr, "tnr": tnr, "fpr": 1 - tnr, "fnr": 1 - tpr, "npv": npv,
    }


def test_family_matches_reference_per_slice(table):
    body = "metrics_specs { %s }\nslicing_specs {} slicing_specs { feature_keys: [\"country\"] }" % (
        " ".join(f'metrics {{ class_name: "{c}" }}' for c in FAMILY))
    metrics, _, _ = evaluate_in_process(plan(body), split_batches(table, sizes_seed=2))
    y = table.column("label").to_numpy()
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy()
    country = np.array(table.column("country").to_pylist())
    for key, got in metrics.items():
        mask = np.ones(len(y), bool) if not key else country == key[0][1]
        for name, want in reference(y[mask], p[mask], w[mask]).items():
            assert got[name] == pytest.approx(want, rel=1e-9), (key, name)


def test_undefined_rates_are_nan_as_tfma():
    # everything predicted positive: tn = fn = 0, so NLR (tnr = 0), DOR (fn = 0) and
    # markedness (npv = 0/0) are undefined
    t = pa.table({"label": [1, 0, 1], "prediction": [0.9, 0.8, 0.7], "weight": [1.0] * 3})
    body = ('metrics_specs { metrics { class_name: "NegativeLikelihoodRatio" } '
            'metrics { class_name: "DiagnosticOddsRatio" } metrics { class_name: "Markedness" } }')
    got = evaluate_in_process(plan(body), t.to_batches())[0][()]
    assert math.isnan(got["negative_likelihood_ratio"]) and math.isnan(got["diagnostic_odds_ratio"])
    assert math.isnan(got["markedness"])


def test_confusion_matrix_tables_use_tfmas_curve_convention_and_nan_elsewhere():
    # Worked by hand: labels 0, 0, 1 at predictions 0.2, 0.6, 0.4 (unit weights).
    # t=0.1: all positive, tp 1 fp 2: precision 1/3, recall 1, false omission 0/0 = NaN, f1 1/2.
    # t=0.5: only 0.6 positive, tp 0 fp 1 tn 1 fn 1: precision 0, recall 0, f1 0/0 = NaN.
    # t=0.9: nothing positive, tn 2 fn 1: precision 0/0 -> 1 (TFMA's Matrices.to_proto: "If
    # precision or recall are undefined then 1.0 and 0.0 will be used"), f1 0, omission 1/3.
    t = pa.table({"label": [0, 0, 1], "prediction": [0.2, 0.6, 0.4], "weight": [1.0] * 3})
    body = ('metrics_specs { metrics { class_name: "ConfusionMatrixAtThresholds" '
            'config: \'"thresholds": [0.1, 0.5, 0.9]\' } }')
    got = evaluate_in_process(plan(body), t.to_batches())[0][()]["confusion_matrix_at_thresholds"]
    m = got["confusion_matrix_at_thresholds"]
    np.testing.assert_allclose(m["precision"], [1 / 3, 0.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(m["recall"], [1.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(m["f1"], [0.5, np.nan, 0.0], rtol=1e-12)
    np.testing.assert_allclose(m["false_positive_rate"], [1.0, 0.5, 0.0], rtol=1e-12)
    np.testing.assert_allclose(m["false_omission_rate"], [np.nan, 0.5, 1 / 3], rtol=1e-12)
    np.testing.assert_allclose(m["accuracy"], [1 / 3, 1 / 3, 2 / 3], rtol=1e-12)
    # without positives recall is 0 in the table, while the Recall metric is undefined (NaN)
    negatives = pa.table({"label": [0, 0], "prediction": [0.2, 0.6], "weight": [1.0, 1.0]})
    body = ('metrics_specs { metrics { class_name: "ConfusionMatrixAtThresholds" '
            'config: \'"thresholds": [0.5]\' } metrics { class_name: "Recall" } }')
    got = evaluate_in_process(plan(body), negatives.to_batches())[0][()]
    assert got["confusion_matrix_at_thresholds"]["confusion_matrix_at_thresholds"]["recall"] == [0.0]
    assert math.isnan(got["recall"])
