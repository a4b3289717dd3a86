"""Flip rates between baseline and candidate predictions of the same examples: TFMA's worked
example end to end, numbers per slice against numpy written here (weighted by the baseline's
weights and unweighted, any batch split), confidence intervals, thresholds and config errors."""
import math

import numpy as np
import pyarrow as pa
import pytest

from conftest import evaluate_in_process, first_spec_results, make_table, split_batches
from evalbeam import run_evaluation
from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError
from evalbeam.extract import extract
from evalbeam.keys import MetricKey

RATES = ["SymmetricFlipRate", "NegToNegFlipRate", "NegToPosFlipRate", "PosToNegFlipRate",
         "PosToPosFlipRate"]
MODELS = """
model_specs { name: "base" label_key: "label" prediction_key: "p_base" example_weight_key: "w_base"
              is_baseline: true }
model_specs { name: "cand" label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }
"""
SLICES = ('slicing_specs {} slicing_specs { feature_keys: ["country"] } '
          'slicing_specs { feature_keys: ["country", "device"] }')


def resolve_text(text):
    return resolve_config(parse_config(text))


def flip_table(n=5000, seed=0):
    """make_table's candidate plus a baseline: noisier predictions, weights of its own."""
    rng = np.random.default_rng(seed + 100)
    t = make_table(n, seed)
    p = t.column("prediction").to_numpy().astype(float)
    t = t.append_column("p_base", pa.array(np.clip(p + rng.normal(0, 0.2, n), 0, 1)))
    return t.append_column("w_base", pa.array(rng.choice([0.0, 0.5, 1.0, 3.0], n)))


def reference(p_cand, p_base, w, threshold):
    """TFMA's formulas: decisions are prediction > threshold; rates are weighted shares."""
    b, c = p_base > threshold, p_cand > threshold
    total = w.sum()
    return {"symmetric_flip_rate": w[b != c].sum() / total,
            "neg_to_neg_flip_rate": w[~b & ~c].sum() / total,
            "neg_to_pos_flip_rate": w[~b & c].sum() / total,
            "pos_to_neg_flip_rate": w[b & ~c].sum() / total,
            "pos_to_pos_flip_rate": w[b & c].sum() / total}


def test_tfma_worked_example_end_to_end(tmp_path):
    # flip_metrics_test.py in TFMA: weights 1..4, expected 3/10, 3/10, 1/10, 2/10, 4/10
    data = pa.table({"y": [0, 0, 1, 1], "pb": [0.1, 0.9, 0.1, 0.9], "pc": [0.9, 0.1, 0.2, 0.8],
                     "w": [1.0, 2.0, 3.0, 4.0]})
    config = """
    model_specs { name: "baseline" label_key: "y" prediction_key: "pb" example_weight_key: "w"
                  is_baseline: true }
    model_specs { name: "candidate" label_key: "y" prediction_key: "pc" example_weight_key: "w" }
    metrics_specs { model_names: ["candidate"] %s }
    metrics_specs { metrics { class_name: "BooleanFlipRates" config: '%s' } }
    """ % (" ".join(f'metrics {{ class_name: "{c}" }}' for c in RATES),
           ", ".join(f'"{d}_flip_rate_name": "all/{d}"' for d in ("neg_to_neg", "neg_to_pos",
                                                                  "pos_to_neg", "pos_to_pos")))
    result = run_evaluation(config, data, str(tmp_path / "out"))
    want = {"neg_to_neg": 0.3, "neg_to_pos": 0.1, "pos_to_neg": 0.2, "pos_to_pos": 0.4}
    want = {"symmetric_flip_rate": 0.3, "flip_rate": 0.3,
            **{f"{d}_flip_rate": v for d, v in want.items()},
            **{f"all/{d}": v for d, v in want.items()}}
    got = result.metrics[()]
    for name, value in want.items():
        # TFMA's key: the candidate's, weighted, is_diff; nothing for the baseline model
        key = MetricKey(name, "candidate", "", None, True, True)
        assert got[key] == pytest.approx(value, rel=1e-12), name
    assert len(got) == len(want)


@pytest.mark.parametrize("threshold", [None, 0.3])
def test_rates_per_slice_weighted_and_unweighted_any_split(threshold):
    t = flip_table()
    cfg = f'config: \'"threshold": {threshold}\'' if threshold is not None else ""
    body = MODELS + "metrics_specs { %s example_weights { weighted: true unweighted: true } }\n" % (
        " ".join(f'metrics {{ class_name: "{c}" {cfg} }}' for c in RATES)) + SLICES
    eval_plan = resolve_text(body)
    whole, _, _ = evaluate_in_process(eval_plan, t.to_batches())
    p_cand, p_base = (t.column(c).to_numpy().astype(float) for c in ("prediction", "p_base"))
    w_base = t.column("w_base").to_numpy()
    country = np.array(t.column("country").to_pylist())
    device = np.array(t.column("device").to_pylist())
    for seed in (1, 2):
        metrics, _, _ = evaluate_in_process(eval_plan, split_batches(t, sizes_seed=seed))
        assert metrics.keys() == whole.keys() and len(metrics) == 1 + 4 + 8
        for key, got in metrics.items():
            mask = np.ones(len(p_cand), bool)
            for column, value in key:
                mask &= {"country": country, "device": device}[column] == value
            args = (p_cand[mask], p_base[mask])
            for suffix, w in (("", w_base[mask]), ("/unweighted", np.ones(mask.sum()))):
                for name, want in reference(*args, w, threshold or 0.5).items():
                    assert got[name + suffix] == pytest.approx(want, rel=1e-12), (key, name)
                    assert got[name + suffix] == pytest.approx(whole[key][name + suffix],
                                                               rel=1e-12)


def test_weights_are_the_baselines_and_a_slice_without_weight_is_nan():
    t = pa.table({"label": [0, 1, 0, 1], "prediction": [0.9, 0.9, 0.1, 0.1],
                  "p_base": [0.1, 0.9, 0.1, 0.9], "weight": [5.0, 5.0, 1.0, 1.0],
                  "w_base": [1.0, 3.0, 0.0, 0.0], "country": ["us", "us", "de", "de"]})
    body = MODELS + ('metrics_specs { metrics { class_name: "SymmetricFlipRate" } }\n'
                     'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    metrics, _, _ = evaluate_in_process(resolve_text(body), t.to_batches())
    assert metrics[()]["symmetric_flip_rate"] == pytest.approx(1 / 4)  # w_base: 1 of 1+3
    assert metrics[(("country", "us"),)]["symmetric_flip_rate"] == pytest.approx(1 / 4)
    assert math.isnan(metrics[(("country", "de"),)]["symmetric_flip_rate"])


def _overall_intervals(eval_plan, batches):
    (result,) = first_spec_results(eval_plan, batches)
    return result


def test_jackknife_interval_is_the_textbook_grouped_jackknife():
    t = flip_table(3000, seed=3)
    eval_plan = resolve_text(MODELS + 'metrics_specs { metrics { class_name: "SymmetricFlipRate" } '
                             'metrics { class_name: "PosToNegFlipRate" } }\n'
                             "options { compute_confidence_intervals { value: true } }")
    batch = t.to_batches()[0]
    result = _overall_intervals(eval_plan, [batch])
    # the partitions evalbeam drew for this batch (the same for every stream of it)
    partitions = {eval_plan.resampling.partitions(a).tobytes()
                  for a in extract(batch, eval_plan).streams.values()}
    assert len(partitions) == 1
    part = np.frombuffer(partitions.pop(), dtype=np.int64)
    p_cand, p_base, w = (t.column(c).to_numpy().astype(float)
                         for c in ("prediction", "p_base", "w_base"))
    R = 20
    for name in ("symmetric_flip_rate", "pos_to_neg_flip_rate"):
        def stat(m):
            return reference(p_cand[m], p_base[m], w[m], 0.5)[name]
        theta = stat(np.ones(len(w), bool))
        theta_i = np.array([stat(part != i) for i in range(R)])
        se = (R * theta - (R - 1) * theta_i).std(ddof=1) / math.sqrt(R)
        key = MetricKey(name, "cand", "", None, True, True)
        low, high, se_got = result.intervals[key]
        assert result.metrics[key] == pytest.approx(theta, rel=1e-12)
        assert se_got == pytest.approx(se, rel=1e-9)
        assert (low, high) == pytest.approx((theta_i.mean() - 2.0930240544 * se,
                                             theta_i.mean() + 2.0930240544 * se), rel=1e-6)


def test_bootstrap_interval_covers_the_rate_and_does_not_depend_on_other_specs():
    t = flip_table(3000, seed=4)
    body = (MODELS + 'metrics_specs { metrics { class_name: "BooleanFlipRates" } '
            'metrics { class_name: "MeanLabel" } }\n'
            "options { compute_confidence_intervals { value: true } "
            "confidence_intervals { method: POISSON_BOOTSTRAP } }")
    result = _overall_intervals(resolve_text(body), t.to_batches(max_chunksize=700))
    sliced = _overall_intervals(resolve_text(body + "\n" + SLICES), t.to_batches(max_chunksize=700))
    for name in ("flip_rate", "neg_to_neg_flip_rate", "pos_to_pos_flip_rate"):
        key = MetricKey(name, "cand", "", None, True, True)
        low, high, se = result.intervals[key]
        assert low < result.metrics[key] < high and 0 < se < 0.05
        assert sliced.intervals[key] == pytest.approx(result.intervals[key], rel=1e-12)


def test_value_threshold_checks_the_rate(tmp_path):
    data = pa.table({"label": [0, 1, 0, 1], "prediction": [0.9, 0.9, 0.1, 0.1],
                     "p_base": [0.1, 0.9, 0.1, 0.9], "weight": [1.0] * 4, "w_base": [1.0] * 4})
    config = MODELS + ('metrics_specs { metrics { class_name: "SymmetricFlipRate" threshold { '
                       'value_threshold { upper_bound { value: 0.25 } } } } }')
    result = run_evaluation(config, data, str(tmp_path / "out"))  # flip rate 2/4
    assert not result.validation.validation_ok
    (entry,) = result.validation.metric_validations_per_slice
    assert "symmetric_flip_rate (model cand, weighted) = 0.5 is above the upper bound 0.25" in entry.failures[0].message
    assert entry.failures[0].metric_key.is_diff


@pytest.mark.parametrize("body, message", [
    ('model_specs { name: "a" label_key: "label" prediction_key: "prediction" }\n'
     'model_specs { name: "b" label_key: "label" prediction_key: "p_base" }\n'
     'metrics_specs { metrics { class_name: "SymmetricFlipRate" } }',
     r"metrics\[0\] \(SymmetricFlipRate\): SymmetricFlipRate compares a candidate's predictions "
     r"with the baseline's, but no model spec has is_baseline: true"),
    (MODELS + 'metrics_specs { model_names: ["base"] metrics { class_name: "BooleanFlipRates" } }',
     r"BooleanFlipRates is computed for candidate models, but the metrics_spec's model_names "
     r"name only the baseline 'base'"),
    ('model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }\n'
     'model_specs { name: "cand" label_keys { key: "ctr" value: "label" } '
     'prediction_keys { key: "ctr" value: "prediction" } }\n'
     'metrics_specs { metrics { class_name: "NegToPosFlipRate" } }',
     r"NegToPosFlipRate compares output 'ctr' of model 'cand' with the baseline's, but the "
     r"baseline 'base' has no such output \(outputs: \[''\]\)"),
    (MODELS + 'metrics_specs { metrics { class_name: "SymmetricFlipRate" threshold { '
     'change_threshold { direction: LOWER_IS_BETTER absolute { value: 0.1 } } } } }',
     "symmetric_flip_rate already compares the candidate with the baseline; give it a "
     "value_threshold, not a change_threshold"),
    (MODELS + 'metrics_specs { metrics { class_name: "BooleanFlipRates" threshold { '
     'value_threshold { upper_bound { value: 0.1 } } } } }',
     r"boolean_flip_rates gives several values \(flip_rate, neg_to_neg_flip_rate, "
     r"neg_to_pos_flip_rate, pos_to_neg_flip_rate, pos_to_pos_flip_rate\); put the threshold"),
    (MODELS + 'metrics_specs { metrics { class_name: "PosToPosFlipRate" config: \'"threshold": "high"\' } }',
     r"PosToPosFlipRate\): threshold must be a number, got 'high'"),
    (MODELS + 'metrics_specs { metrics { class_name: "BooleanFlipRates" '
     'config: \'"flip_rate_name": "pos_to_pos_flip_rate"\' } }',
     r"Expected five distinct rate names"),
    (MODELS + 'metrics_specs { metrics { class_name: "BooleanFlipRates" } '
     'metrics { class_name: "NegToNegFlipRate" } }',
     r"metric 'neg_to_neg_flip_rate' is configured twice for model 'cand'"),
    (MODELS + 'metrics_specs { metrics { class_name: "SymmetricFlipRate" config: \'"thresholds": 0.3\' } }',
     r"unknown config key\(s\) \['thresholds'\]; SymmetricFlipRate takes \['threshold', 'name'\]"),
])
def test_config_errors(body, message):
    with pytest.raises(ConfigError, match=message) as e:
        resolve_text(body)
    assert "\n" not in str(e.value)


def test_a_baseline_result_cannot_give_flip_rates(tmp_path):
    t = flip_table(200)
    earlier = run_evaluation(MODELS + 'metrics_specs { metrics { class_name: "MeanLabel" } }', t,
                             str(tmp_path / "earlier"))
    config = MODELS + ('metrics_specs { metrics { class_name: "MeanLabel" } '
                       'metrics { class_name: "SymmetricFlipRate" } }')
    with pytest.raises(ConfigError, match=r"^evalbeam error: SymmetricFlipRate: flip rates "
                       r"compare each example's predictions with the baseline's, which a baseline "
                       r"result does not hold"):
        run_evaluation(config, t, str(tmp_path / "out"), baseline_result=earlier.output_dir)


def test_every_candidate_output_against_the_baselines_same_output():
    t = flip_table(1000, seed=5)
    t = t.append_column("p_other", pa.array(1 - t.column("p_base").to_numpy()))
    outputs = 'prediction_keys { key: "%s" value: "%s" } prediction_keys { key: "%s" value: "%s" }'
    body = ('model_specs { name: "base" label_key: "label" is_baseline: true %s }\n'
            % (outputs % ("a", "p_base", "b", "p_other")) +
            'model_specs { name: "cand" label_key: "label" %s }\n'
            % (outputs % ("a", "prediction", "b", "p_base")) +
            'model_specs { name: "cand2" label_key: "label" %s }\n'
            % (outputs % ("a", "p_other", "b", "prediction")) +
            'metrics_specs { metrics { class_name: "SymmetricFlipRate" } }')
    (result,) = first_spec_results(resolve_text(body), split_batches(t, sizes_seed=6))
    col = {c: t.column(c).to_numpy().astype(float) for c in ("prediction", "p_base", "p_other")}
    ones = np.ones(t.num_rows)
    want = {("cand", "a"): ("prediction", "p_base"), ("cand", "b"): ("p_base", "p_other"),
            ("cand2", "a"): ("p_other", "p_base"), ("cand2", "b"): ("prediction", "p_other")}
    assert set(result.metrics) == {MetricKey("symmetric_flip_rate", m, o, None, False, True)
                                   for m, o in want}
    for (model, output), (cand, base) in want.items():
        key = MetricKey("symmetric_flip_rate", model, output, None, False, True)
        expected = reference(col[cand], col[base], ones, 0.5)["symmetric_flip_rate"]
        assert result.metrics[key] == pytest.approx(expected, rel=1e-12), (model, output)
