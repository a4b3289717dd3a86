"""The histogram metrics (AUC, AUC-PR, the operating points) against worked examples,
scikit-learn and a brute force over TFMA's thresholds, per slice."""
import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from conftest import evaluate_in_process, plan, split_batches


def brute_force(y, p, w, thresholds):
    """TFMA's histogram path, written out: predictions bucketed to 1e-4, a bucket positive at
    t when its left edge >= t + 1e-7 (>= 0 at t = 0), nothing positive at t >= 1 + 1e-7."""
    bucket = np.clip(np.trunc(p * 10000 + 1), 0, 10001)
    left = np.where(bucket == 0, -np.inf, np.where(bucket == 10001, np.inf, (bucket - 1) / 10000))
    out = []
    for t in thresholds:
        edge = 0.0 if t == 0 else t + 1e-7
        pos = (left >= edge) & (t < 1 + 1e-7)
        tp, fp = w[pos & (y == 1)].sum(), w[pos & (y == 0)].sum()
        P, N = w[y == 1].sum(), w[y == 0].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append({"recall": tp / P, "specificity": (N - fp) / N,
                        "precision": tp / (tp + fp), "false_positive_rate": fp / N})
    return out


@pytest.mark.parametrize("class_name, target, bound, value, at_most", [
    ("SensitivityAtSpecificity", "specificity", 0.8, "recall", False),
    ("SpecificityAtSensitivity", "sensitivity", 0.7, "specificity", False),
    ("PrecisionAtRecall", "recall", 0.5, "precision", False),
    ("RecallAtPrecision", "precision", 0.75, "recall", False),
    ("RecallAtFalsePositiveRate", "false_positive_rate", 0.1, "recall", True),
])
def test_operating_points_match_a_brute_force_over_thresholds(table, class_name, target, bound,
                                                              value, at_most):
    n = 200  # num_thresholds: a brute force over 200 thresholds stays quick
    body = ('metrics_specs { metrics { class_name: "%s" config: \'"%s": %r, "num_thresholds": %d\' } }'
            % (class_name, target, bound, n))
    got = evaluate_in_process(plan(body), table.to_batches(max_chunksize=1234))[0][()]
    y = table.column("label").to_numpy()
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy()
    thresholds = [-1e-7] + [i / (n - 1) for i in range(1, n - 1)] + [1 + 1e-7]
    rates = brute_force(y, p, w, thresholds)
    constraint = "recall" if target == "sensitivity" else target
    feasible = [r[value] for r in rates
                if (r[constraint] <= bound if at_most else r[constraint] >= bound)]
    want = np.nanmax(feasible) if feasible else 0.0
    name = [k for k in got][0]
    assert got[name] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("bound", [0.0, 0.37, 0.8, 1.0])
def test_threshold_at_recall_is_the_highest_threshold_reaching_the_recall(table, bound):
    n = 200
    body = ('metrics_specs { metrics { class_name: "ThresholdAtRecall" '
            'config: \'"recall": %r, "num_thresholds": %d\' } }\n'
            'slicing_specs {} slicing_specs { feature_keys: ["country"] }' % (bound, n))
    got = evaluate_in_process(plan(body), split_batches(table, sizes_seed=7))[0]
    thresholds = [-1e-7] + [i / (n - 1) for i in range(1, n - 1)] + [1 + 1e-7]
    country = table.column("country").to_numpy(zero_copy_only=False)
    for key, rows in [((), np.ones(table.num_rows, bool))] + [
            ((("country", c),), country == c) for c in ("us", "de", "fr", "jp")]:
        y = table.column("label").to_numpy()[rows]
        p = table.column("prediction").to_numpy().astype(float)[rows]
        w = table.column("weight").to_numpy()[rows]
        rates = brute_force(y, p, w, thresholds)
        feasible = [t for t, r in zip(thresholds, rates) if r["recall"] >= bound]
        want = max(feasible) if feasible else 0.0
        assert got[key]["threshold_at_recall"] == pytest.approx(want, rel=1e-12), key


def test_threshold_at_recall_without_positives_is_nan():
    t = pa.table({"label": [0, 0], "prediction": [0.2, 0.7], "weight": [1.0, 1.0]})
    body = 'metrics_specs { metrics { class_name: "ThresholdAtRecall" config: \'"recall": 0.5\' } }'
    assert math.isnan(evaluate_in_process(plan(body), t.to_batches())[0][()]["threshold_at_recall"])


# class, config, the rates it reads (the constrained one first), at most
OPERATING_POINTS = [
    ("SensitivityAtSpecificity", '"specificity": 0.8', ("specificity", "recall"), False),
    ("SpecificityAtSensitivity", '"sensitivity": 0.7', ("recall", "specificity"), False),
    ("PrecisionAtRecall", '"recall": 0.5', ("recall", "precision"), False),
    ("RecallAtPrecision", '"precision": 0.75', ("precision", "recall"), False),
    ("RecallAtFalsePositiveRate", '"false_positive_rate": 0.1', ("false_positive_rate", "recall"),
     True),
]


@pytest.mark.parametrize("class_name, config, rates, at_most", OPERATING_POINTS)
def test_operating_points_are_nan_where_a_rate_they_read_is_undefined(class_name, config, rates,
                                                                      at_most):
    # slice "pos" has only positives, "neg" only negatives, "both" both; "empty" has no weight
    t = pa.table({"label": [1, 1, 0, 0, 1, 0, 1, 0, 1],
                  "prediction": [0.9, 0.4, 0.3, 0.8, 0.7, 0.2, 0.6, 0.1, 0.5],
                  "weight": [1.0] * 8 + [0.0],
                  "group": ["pos", "pos", "neg", "neg", "both", "both", "both", "both", "empty"]})
    body = ('metrics_specs { metrics { class_name: "%s" config: \'%s, "num_thresholds": 200\' } }\n'
            'slicing_specs { feature_keys: ["group"] }' % (class_name, config))
    got = evaluate_in_process(plan(body), t.to_batches())[0]
    thresholds = [-1e-7] + [i / 199 for i in range(1, 199)] + [1 + 1e-7]
    bound = float(config.split(":")[1])
    needs = {"recall": "positives", "specificity": "negatives", "false_positive_rate": "negatives"}
    for group in ("pos", "neg", "both", "empty"):
        rows = np.array([g == group for g in t.column("group").to_pylist()])
        y = t.column("label").to_numpy()[rows]
        w = t.column("weight").to_numpy()[rows]
        has = {"positives": w[y == 1].sum() > 0, "negatives": w[y == 0].sum() > 0}
        (value,) = got[(("group", group),)].values()
        if not all(has[needs[r]] for r in rates if r in needs):
            assert math.isnan(value), group
            continue
        p = t.column("prediction").to_numpy()[rows]
        feasible = [r[rates[1]] for r in brute_force(y, p, w, thresholds)
                    if (r[rates[0]] <= bound if at_most else r[rates[0]] >= bound)]
        assert value == pytest.approx(np.nanmax(feasible) if feasible else 0.0, rel=1e-12), group


def test_auc_equals_exact_auc_when_predictions_sit_on_the_bucket_grid():
    # Predictions in the middle of well-separated buckets: the histogram loses nothing, and
    # TFMA's thresholds put each distinct value on its own step, so ROC AUC is exact (ties 1/2).
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    p = (rng.integers(0, 100, 3000) / 100 + 0.00005) * (1 - 0.5 * (1 - y)) 
    p = np.round(p * 1e4) / 1e4 + 0.00005
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
    t = pa.table({"label": [1, 1, 0, 0], "prediction": [0.9, 0.4, 0.6, 0.1], "weight": [1.0] * 4})
    metrics, _, _ = evaluate_in_process(
        plan('metrics_specs { metrics { class_name: "AUCPrecisionRecall" } }'), t.to_batches())
    assert metrics[()]["auc_precision_recall"] == pytest.approx(0.5 + (1 - math.log(1.5)) / 2, rel=1e-12)


def test_one_class_slices():
    # Only positives: ROC undefined (NaN; TFMA says 0.0), PR area 1. Only negatives: both NaN.
    config = plan('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "AUCPrecisionRecall" } }')
    positives = pa.table({"label": [1, 1, 1], "prediction": [0.2, 0.5, 0.9], "weight": [1.0, 2.0, 1.0]})
    m = evaluate_in_process(config, positives.to_batches())[0][()]
    assert math.isnan(m["auc"]) and m["auc_precision_recall"] == pytest.approx(1.0)
    negatives = positives.set_column(0, "label", pa.array([0, 0, 0]))
    m = evaluate_in_process(config, negatives.to_batches())[0][()]
    assert math.isnan(m["auc"]) and math.isnan(m["auc_precision_recall"])

