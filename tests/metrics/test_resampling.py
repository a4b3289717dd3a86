"""Confidence intervals: TFMA's jackknife and Poisson bootstrap on the accumulator contract."""
import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from conftest import evaluate_in_process, first_spec_results, plan
from evalbeam.extract import extract
from evalbeam.metrics.resampling import t_quantile_975

CI = "options { compute_confidence_intervals { value: true } %s }"
JACKKNIFE = CI % ""
BOOTSTRAP = CI % "confidence_intervals { method: POISSON_BOOTSTRAP }"


def intervals(eval_plan, batches):
    (result,) = first_spec_results(eval_plan, batches)
    return {k.name: (result.metrics[k],) + result.intervals[k] for k in result.intervals}


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (5, 9, 19, 50, 199):
        assert t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-5)
    assert t_quantile_975(19) == pytest.approx(2.0930240544, abs=1e-6)  # TFMA's constant


def test_jackknife_is_the_textbook_grouped_jackknife():
    rng = np.random.default_rng(0)
    t = pa.table({"label": rng.integers(0, 2, 300), "prediction": rng.random(300),
                  "weight": rng.choice([1.0, 2.0], 300)})
    eval_plan = plan('metrics_specs { metrics { class_name: "MeanLabel" } metrics { class_name: "AUC" } }\n'
                     + JACKKNIFE)
    got = intervals(eval_plan, t.to_batches())
    # the partitions evalbeam drew for this batch
    arrays = next(iter(extract(t.to_batches()[0], eval_plan).streams.values()))
    part = eval_plan.resampling.partitions(arrays)
    y, p, w = (t.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
    R = 20
    for name, stat in (("mean_label", lambda m: np.average(y[m], weights=w[m])),
                       ("auc", lambda m: roc_auc_score(y[m], p[m], sample_weight=w[m]))):
        theta = stat(np.ones(len(y), bool))
        theta_i = np.array([stat(part != i) for i in range(R)])
        pseudo = R * theta - (R - 1) * theta_i
        se = pseudo.std(ddof=1) / math.sqrt(R)
        lower, upper = theta_i.mean() - 2.0930240544 * se, theta_i.mean() + 2.0930240544 * se
        value, low, high, se_got = got[name]
        # mean label is exact; AUC's resamples use 1,000-bucket histograms (1e-3 quantisation)
        tol = 1e-9 if name == "mean_label" else 2e-3
        assert value == pytest.approx(theta, abs=tol)
        assert (low, high) == pytest.approx((lower, upper), abs=tol), name
        assert se_got == pytest.approx(se, rel=0.05 if name == "auc" else 1e-9)


@pytest.mark.parametrize("options", [JACKKNIFE, BOOTSTRAP])
def test_intervals_cover_the_true_value_at_about_the_nominal_rate(options):
    # 300 data sets of 400 Bernoulli(0.3) labels: a 95% interval for the mean label should cover
    # 0.3 in about 95% of them; with 300 trials a rate outside [0.89, 0.99] is implausible
    # (binomial sd 1.3%), as is one from a wrong standard error (e.g. 1.5x too wide: ~99.8%).
    eval_plan = plan('metrics_specs { metrics { class_name: "MeanLabel" } }\n' + options)
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(300):
        y = (rng.random(400) < 0.3).astype(np.int64)
        t = pa.table({"label": y, "prediction": rng.random(400), "weight": np.ones(400)})
        _, low, high, _ = intervals(eval_plan, t.to_batches())["mean_label"]
        covered += low <= 0.3 <= high
    assert 0.89 <= covered / 300 <= 0.99


def test_counts_and_plots_have_no_interval_and_points_are_unchanged(table):
    body = ('metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } '
            'metrics { class_name: "CalibrationPlot" } metrics { class_name: "Precision" } }\n')
    with_ci = intervals(plan(body + BOOTSTRAP), table.to_batches(max_chunksize=1000))
    assert set(with_ci) == {"auc", "precision"}
    plain = evaluate_in_process(plan(body), table.to_batches(max_chunksize=1000))[0][()]
    assert with_ci["auc"][0] == plain["auc"] and with_ci["precision"][0] == plain["precision"]
    for value, low, high, se in with_ci.values():
        assert low < value < high and se > 0
