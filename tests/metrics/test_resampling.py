"""Confidence intervals: TFMA's jackknife and Poisson bootstrap on the accumulator contract."""
import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from conftest import evaluate_in_process, first_spec_results, plan
from evalbeam.config import parse_config, resolve_config
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


# -- small and odd slices: every reduction, undefined resamples, ranges, minimum size ---------

R_JACKKNIFE, R_BOOTSTRAP = 20, 200
SMALL = """metrics_specs {
  metrics { class_name: "AUC" } metrics { class_name: "Precision" }
  metrics { class_name: "MatthewsCorrelationCoefficient" }
  metrics { module: "reduction_metrics" class_name: "MaxPrediction" }
  metrics { module: "reduction_metrics" class_name: "MinPrediction" }
  metrics { module: "reduction_metrics" class_name: "PeakWeightedError" }
  metrics { module: "reduction_metrics" class_name: "MeanWeight" }
}
slicing_specs {} slicing_specs { feature_keys: ["g"] }
"""
METHODS = {"jackknife": CI % f"confidence_intervals {{ num_samples: {R_JACKKNIFE} }}",
           "bootstrap": CI % ("confidence_intervals { method: POISSON_BOOTSTRAP "
                              f"num_samples: {R_BOOTSTRAP} }}")}


def by_hand_auc(y, p, w):
    """Pairs (positive, negative) ordered correctly, ties half: the weighted Mann-Whitney U."""
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return np.nan
    diff = p[pos][:, None] - p[neg][None, :]
    pairs = w[pos][:, None] * w[neg][None, :]
    return (pairs * ((diff > 0) + 0.5 * (diff == 0))).sum() / pairs.sum()


def by_hand_counts(y, p, w):
    hard = p > 0.5
    return (w[hard & (y == 1)].sum(), w[hard & (y == 0)].sum(), w[~hard & (y == 0)].sum(),
            w[~hard & (y == 1)].sum())


def by_hand_precision(y, p, w):
    tp, fp, _, _ = by_hand_counts(y, p, w)
    return tp / (tp + fp) if tp + fp > 0 else np.nan


def by_hand_mcc(y, p, w):
    tp, fp, tn, fn = by_hand_counts(y, p, w)
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return (tp * tn - fp * fn) / math.sqrt(den) if den > 0 else np.nan


def by_hand_metrics():
    import reduction_metrics as rm
    return {"auc": (by_hand_auc, (0, 1)), "precision": (by_hand_precision, (0, 1)),
            "matthews_correlation_coefficient": (by_hand_mcc, (-1, 1)),
            "max_prediction": (rm.max_prediction, (0, 1)),
            "min_prediction": (rm.min_prediction, None),
            "peak_weighted_error": (rm.peak_weighted_error, None),
            "mean_weight": (rm.mean_weight, None)}


def by_hand_interval(point, thetas, method, value_range):
    """TFMA's interval over the finite resamples, Student's t from scipy; unclipped too."""
    t_dist = pytest.importorskip("scipy.stats").t
    R = len(thetas)
    finite = thetas[np.isfinite(thetas)]
    k = len(finite)
    if not np.isfinite(point) or k < max(2, math.ceil(R / 2)):
        return (np.nan, np.nan), (np.nan, np.nan), k
    spread = R * point - (R - 1) * finite if method == "jackknife" else finite
    se = spread.std(ddof=1) / (math.sqrt(R) if method == "jackknife" else 1.0)
    half = t_dist.ppf(0.975, k - 1) * se
    raw = (finite.mean() - half, finite.mean() + half)
    if value_range is None:
        return raw, raw, k
    return tuple(np.clip(raw, *value_range)), raw, k


def small_slices(seed):
    """A table whose slices g hold 5 to 100 rows, some with very few positives; predictions on
    a grid of 50 values (every histogram resolution separates them, so AUCs are exact)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 101, 7)
    g = np.repeat(np.arange(len(sizes)), sizes)
    n = len(g)
    prevalence = rng.choice([0.04, 0.1, 0.5], len(sizes))[g]
    y = (rng.random(n) < prevalence).astype(np.int64)
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.25), 0, 0.999)
    p = (np.floor(score * 50) + 0.5) / 50
    w = rng.choice([1.0, 2.0], n)
    return pa.table({"label": y, "prediction": p, "weight": w, "g": g})


def draws(eval_plan, batch, method):
    """The partitions (jackknife) or Poisson counts (bootstrap) evalbeam drew for the batch."""
    arrays = next(iter(extract(batch, eval_plan).streams.values()))
    if method == "jackknife":
        return eval_plan.resampling.partitions(arrays)
    return eval_plan.resampling.counts(arrays)


@pytest.mark.parametrize("method", ["jackknife", "bootstrap"])
def test_small_slices_match_the_resampling_rule_by_hand(method):
    """Every reduction (sum, min, max) resampled by the stated rule: the jackknife's resample
    without partition i reduces the other partitions (a max: the max over the examples outside
    partition i); the bootstrap's resample repeats each example as often as it was drawn (a
    max: over the examples drawn at least once). Undefined resamples are left out and counted,
    bounds are clipped to the metric's range, and slices under 20 examples get no interval."""
    from conftest import accumulate
    from evalbeam.compute import iter_slice_results

    eval_plan = plan(SMALL + METHODS[method])
    R = eval_plan.resampling.samples
    metrics = by_hand_metrics()
    seen = {"clipped": 0, "left_out": 0, "nan": 0, "no_interval": 0, "intervals": 0}
    for seed in range(12 if method == "jackknife" else 5):
        t = small_slices(seed)
        (batch,) = t.to_batches()
        drawn = draws(eval_plan, batch, method)
        results = {r.slice_key: r for r in iter_slice_results(
            accumulate(eval_plan, [batch])[1], eval_plan)}
        y, p, w = (t.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
        g = t.column("g").to_numpy()
        for value in np.unique(g):
            r = results[(("g", int(value)),)]
            rows = np.flatnonzero(g == value)
            if len(rows) < 20:
                assert r.intervals == {} and r.dofs == {}
                seen["no_interval"] += 1
                continue
            for key, (lower, upper, _) in r.intervals.items():
                fn, value_range = metrics[key.name]
                point = fn(y[rows], p[rows], w[rows])
                assert r.metrics[key] == pytest.approx(point, rel=1e-12, nan_ok=True)
                if method == "jackknife":
                    thetas = np.array([fn(y[m], p[m], w[m]) for m in
                                       (rows[drawn[rows] != i] for i in range(R))])
                else:
                    thetas = np.array([fn(y[m], p[m], w[m]) for m in
                                       (np.repeat(rows, drawn[rows, i]) for i in range(R))])
                want, raw, k = by_hand_interval(point, thetas, method, value_range)
                assert (lower, upper) == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), \
                    (key.name, value, k)
                assert r.dofs.get(key, R - 1) == max(k - 1, 0)
                if np.isfinite(point) and k >= R // 2:
                    assert np.isfinite(lower) and np.isfinite(upper)
                    seen["intervals"] += 1
                else:
                    assert np.isnan(lower) and np.isnan(upper)
                    seen["nan"] += np.isfinite(point)
                if value_range is not None and np.isfinite(lower):
                    assert value_range[0] <= lower <= upper <= value_range[1]
                    seen["clipped"] += raw[0] < value_range[0] or raw[1] > value_range[1]
                seen["left_out"] += R - k if np.isfinite(lower) else 0
                if key.name == "max_prediction" and method == "jackknife":
                    assert lower <= point <= upper  # leaving out the max's partition lowers it
                if key.name == "max_prediction" and method == "bootstrap":
                    assert lower <= point  # no resample exceeds the max
    # the cases this test is about did occur
    assert seen["no_interval"] and seen["intervals"] > 50 and seen["clipped"], seen
    if method == "bootstrap":
        assert seen["left_out"], seen


def test_every_reduction_has_a_leave_one_out():
    from evalbeam.metrics.state import REDUCTIONS, leave_one_out

    rng = np.random.default_rng(4)
    groups = rng.normal(size=(3, 6, 2))
    groups[0, 2] = groups[0, 4] = groups[0].max(axis=0)  # ties between groups
    by_hand = {"sum": np.sum, "min": np.min, "max": np.max}
    assert set(REDUCTIONS) == set(by_hand)
    for reduce in REDUCTIONS:
        got = leave_one_out(groups, reduce)
        for i in range(6):
            others = np.delete(groups, i, axis=1)
            assert got[:, i] == pytest.approx(by_hand[reduce](others, axis=1), rel=1e-12), reduce


EMPTY_CONFIG = """metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "Precision" }
  metrics { module: "reduction_metrics" class_name: "MaxPrediction" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("source", ["table", "parquet"])
def test_empty_input_with_intervals(tmp_path, method, source):
    import json

    from conftest import BASE
    from evalbeam import run_evaluation
    from helpers_io import write

    empty = pa.table({"label": pa.array([], pa.int64()), "prediction": pa.array([], pa.float64()),
                      "weight": pa.array([], pa.float64()), "country": pa.array([], pa.string())})
    data = empty if source == "table" else write(empty, str(tmp_path / "empty.parquet"))
    result = run_evaluation(BASE + EMPTY_CONFIG + METHODS[method], data, str(tmp_path / "out"))
    assert list(result.metrics) == [()]
    overall = {k.name: v for k, v in result.metrics[()].items()}
    assert overall["example_count"] == 0.0
    assert all(math.isnan(overall[n]) for n in ("auc", "mean_label", "precision",
                                                "max_prediction"))
    assert result.intervals == {}  # no examples: no interval
    note = json.loads((tmp_path / "out" / "summary.json").read_text())["intervals"]
    assert note["slices_below_min_examples"] == 1 and note["intervals"] == 0


def test_t_quantile_over_many_degrees_of_freedom():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 29, 30, 31, 100, 199, 999, 10 ** 6):
        assert t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-5)


def test_the_command_line_says_what_became_of_the_intervals(tmp_path, capsys):
    """Through `evalbeam evaluate` and `show`: slices under 20 examples have no interval in the
    artifacts and are counted in summary.json; undefined resamples left out of an interval
    show in its degrees of freedom and in the counts; `show` says both."""
    import glob
    import json

    from conftest import BASE
    from evalbeam.cli import main
    from evalbeam.io.tfrecord import read_records
    from evalbeam.proto import metrics_for_slice_pb2
    from helpers_io import write

    tables = [small_slices(seed) for seed in (0, 1)]
    t = pa.concat_tables([tables[0], tables[1].set_column(3, "g", pa.array(
        tables[1].column("g").to_numpy() + 100))])
    data = write(t, str(tmp_path / "data.parquet"))
    config = tmp_path / "config.textproto"
    config.write_text(BASE + SMALL + METHODS["bootstrap"])
    out = str(tmp_path / "out")
    assert main(["evaluate", "--config", str(config), "--data", data, "--output", out]) == 0
    capsys.readouterr()

    g = t.column("g").to_numpy()
    sizes = np.bincount(g)
    small = {int(v) for v in np.flatnonzero((sizes > 0) & (sizes < 20))}
    assert small
    dofs, left_out, with_interval = [], 0, set()
    for path in glob.glob(out + "/metrics-*"):
        with open(path, "rb") as f:
            records = list(read_records(f, path))
        for record in records:
            m = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
            key = {c.column: c.int64_value for c in m.slice_key.single_slice_keys}
            for kv in m.metric_keys_and_values:
                if kv.HasField("confidence_interval"):
                    with_interval.add(key.get("g", -1))
                    ci = kv.confidence_interval
                    dofs.append(ci.degrees_of_freedom.value)
                    if not math.isnan(ci.lower_bound.double_value.value):
                        left_out += R_BOOTSTRAP - 1 - ci.degrees_of_freedom.value
    assert with_interval.isdisjoint(small) and len(with_interval) == len(np.unique(g)) - len(small) + 1
    assert min(dofs) < R_BOOTSTRAP - 1 and max(dofs) == R_BOOTSTRAP - 1
    note = json.loads(open(out + "/summary.json").read())["intervals"]
    assert note["method"] == "poisson_bootstrap" and note["num_samples"] == R_BOOTSTRAP
    assert note["min_examples"] == 20 and note["min_defined_resamples"] == R_BOOTSTRAP // 2
    assert note["slices_below_min_examples"] == len(small)
    assert note["resamples_left_out"] == left_out > 0
    assert main(["show", out]) == 0
    shown = capsys.readouterr().out
    assert (f"intervals: poisson_bootstrap, {R_BOOTSTRAP} resamples; none for {len(small)} "
            f"slice(s) with fewer than 20 examples; {left_out} undefined resample(s) left out of "
            f"{note['intervals_with_resamples_left_out']} interval(s)") in shown


def test_a_diffs_bounds_stay_within_the_widest_difference():
    """Paired jackknife resamples of candidate - baseline on 20-40 row slices, by hand: the
    bounds of an AUC or MCC diff are clipped to [-1, 1] and [-2, 2]."""
    from conftest import accumulate
    from evalbeam.compute import iter_slice_results

    text = """
    model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
    model_specs { name: "cand" label_key: "label" prediction_key: "prediction" }
    metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "MatthewsCorrelationCoefficient" } }
    slicing_specs {} slicing_specs { feature_keys: ["g"] }
    """ + CI % ""
    eval_plan = resolve_config(parse_config(text))
    clipped = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        g = np.repeat(np.arange(4), rng.integers(20, 41, 4))
        n = len(g)
        y = (rng.random(n) < 0.3).astype(np.int64)
        cand = (np.floor(np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 0.999) * 50) + 0.5) / 50
        base = (np.floor(np.clip(rng.normal(0.5 - 0.2 * y, 0.2), 0, 0.999) * 50) + 0.5) / 50
        (batch,) = pa.table({"label": y, "prediction": cand, "p_base": base, "g": g}).to_batches()
        part = draws(eval_plan, batch, "jackknife")
        ones = np.ones(n)
        for r in iter_slice_results(accumulate(eval_plan, [batch])[1], eval_plan):
            rows = np.flatnonzero(g == r.slice_key[0][1])
            for key, (lower, upper, _) in r.intervals.items():
                if not key.is_diff:
                    continue
                fn, width = {"auc": (by_hand_auc, 1), "matthews_correlation_coefficient":
                             (by_hand_mcc, 2)}[key.name]

                def diff(m):
                    return fn(y[m], cand[m], ones[m]) - fn(y[m], base[m], ones[m])

                thetas = np.array([diff(rows[part[rows] != i]) for i in range(20)])
                want, raw, _ = by_hand_interval(diff(rows), thetas, "jackknife", (-width, width))
                assert (lower, upper) == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True)
                clipped += raw[0] < -width or raw[1] > width
    assert clipped


def test_a_thousand_bootstrap_resamples_on_small_slices_give_finite_intervals():
    """The case that used to give [nan, nan]: 1,000 resamples of 20-30 rows, a few of them
    drawing one class only. Those are left out; the intervals stay finite and in [0, 1]."""
    eval_plan = plan('metrics_specs { metrics { class_name: "AUC" } '
                     'metrics { class_name: "AUCPrecisionRecall" } metrics { class_name: "Precision" } }\n'
                     + CI % "confidence_intervals { method: POISSON_BOOTSTRAP num_samples: 1000 }")
    left_out = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(20, 31))
        y = np.zeros(n, np.int64)
        y[rng.choice(n, 4, replace=False)] = 1
        p = np.clip(rng.normal(0.4 + 0.3 * y, 0.2), 0, 1)
        t = pa.table({"label": y, "prediction": p, "weight": np.ones(n)})
        (result,) = first_spec_results(eval_plan, t.to_batches())
        assert {k.name for k in result.intervals} == {"auc", "auc_precision_recall", "precision"}
        for key, (low, high, se) in result.intervals.items():
            assert 0.0 <= low <= result.metrics[key] <= high <= 1.0 and se > 0, key.name
            left_out += 999 - result.dofs.get(key, 999)
    # P(no positive among 4 drawn) = e^-4: about 18 of 1,000 resamples per AUC
    assert 100 < left_out < 1000


def many_users(n_rows, n_users, seed=0):
    """Most users with a few rows, 20 with about 60-100: many slices, some with intervals."""
    rng = np.random.default_rng(seed)
    user = np.where(rng.random(n_rows) < 0.7, rng.integers(0, n_users, n_rows),
                    rng.integers(0, 20, n_rows))
    y = (rng.random(n_rows) < 0.3).astype(np.int64)
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.25), 0, 0.999)
    p = (np.floor(score * 50) + 0.5) / 50  # a grid every histogram resolution separates
    return pa.table({"label": y, "prediction": p, "weight": rng.choice([1.0, 2.0], n_rows),
                     "user": user})


@pytest.mark.parametrize("R, n_rows, n_users", [(200, 9000, 3000), (1000, 3000, 1000)])
def test_many_slices_and_resamples_keep_partials_the_size_of_what_was_seen(monkeypatch, R, n_rows,
                                                                          n_users):
    """A batch's partials hold about one value per (example, resample) drawn, whatever R and
    the number of slices: each resample's histogram keeps its own entries (they used to be
    widened to every resample's channels: 12 GB for 30,000 rows, 3,000 users and R = 200). A
    batch with more (example, resample) pairs than one pass holds is computed in parts, giving
    what the whole batch gives; the intervals follow the bootstrap rule by hand."""
    from conftest import accumulate
    from evalbeam import compute, preagg

    eval_plan = plan(
        'metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "Precision" } }\n'
        'slicing_specs {} slicing_specs { feature_keys: ["user"] }\n'
        + CI % f"confidence_intervals {{ method: POISSON_BOOTSTRAP num_samples: {R} }}")
    t = many_users(n_rows, n_users)
    (batch,) = t.to_batches()
    # per (example, resample): a histogram entry of 4 words; per (slice, resample) a few sums;
    # the overall slice's dense histograms of 2 x 1,002 buckets per resample
    bound = 8 * (8 * n_rows * R + 16 * (n_users + 1) * R + 2 * 1002 * R)
    for _, table in preagg.batch_partials(batch, eval_plan)[1]:
        assert table.nbytes() < bound, (table.nbytes(), bound)

    want = {r.slice_key: r for r in compute.iter_slice_results(
        accumulate(eval_plan, [batch])[1], eval_plan)}
    monkeypatch.setattr(preagg, "MAX_RESAMPLED_ENTRIES", n_rows * R // 3 + 1)
    _, partials = preagg.batch_partials(batch, eval_plan)
    assert [index for index, _ in partials] == [0, 0, 0, 1, 1, 1]  # three parts
    got = {r.slice_key: r for r in compute.iter_slice_results(
        accumulate(eval_plan, [batch])[1], eval_plan)}
    assert got.keys() == want.keys() and len(got) > n_users // 2
    for key, r in want.items():
        assert got[key].metrics == pytest.approx(r.metrics, rel=1e-12, nan_ok=True)
        assert got[key].intervals.keys() == r.intervals.keys()
        for k, v in r.intervals.items():
            assert got[key].intervals[k] == pytest.approx(v, rel=1e-12, nan_ok=True)

    counts = draws(eval_plan, batch, "bootstrap")
    y, p, w = (t.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
    user = t.column("user").to_numpy()
    checked = 0
    for value in range(20):  # the users with intervals
        rows = np.flatnonzero(user == value)
        r = got[(("user", value),)]
        for key, (lower, upper, _) in r.intervals.items():
            fn = {"auc": by_hand_auc, "precision": by_hand_precision}[key.name]
            thetas = np.array([fn(y[m], p[m], w[m] * counts[m, i])
                               for i in range(R) for m in [rows[counts[rows, i] > 0]]])
            want_bounds, _, _ = by_hand_interval(fn(y[rows], p[rows], w[rows]), thetas,
                                                 "bootstrap", (0, 1))
            assert (lower, upper) == pytest.approx(want_bounds, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked == 40
