"""Baseline vs candidate: diff metrics, change thresholds (both directions, absolute and
relative, overall and per slice), value and change together, and the blessing."""
import os

import pyarrow as pa
import pytest

from evalbeam import run_evaluation
from evalbeam.cli import main

# Labels, a baseline and a candidate. At threshold 0.5 (prediction > 0.5 is positive):
#   baseline correct [T F F T | T T]: overall 4/6, us 2/4, de 2/2
#   candidate correct [T T T T | F T]: overall 5/6, us 4/4, de 1/2
# so binary_accuracy diffs: overall +1/6 (relative +0.25), us +0.5 (+1.0), de -0.5 (-0.5).
DATA = pa.table({
    "y": [1, 1, 0, 0, 1, 0],
    "p_base": [0.9, 0.2, 0.7, 0.1, 0.8, 0.3],
    "p_cand": [0.9, 0.6, 0.4, 0.1, 0.3, 0.3],
    "country": ["us", "us", "us", "us", "de", "de"],
})
MODELS = """
model_specs { name: "base" label_key: "y" prediction_key: "p_base" is_baseline: true }
model_specs { name: "cand" label_key: "y" prediction_key: "p_cand" }
"""


def config(threshold, slicing="slicing_specs {}"):
    return MODELS + ('metrics_specs { metrics { class_name: "BinaryAccuracy" %s } }\n' % threshold
                     + slicing)


def change(direction, absolute=None, relative=None):
    parts = [f"direction: {direction}"]
    if absolute is not None:
        parts.append(f"absolute {{ value: {absolute} }}")
    if relative is not None:
        parts.append(f"relative {{ value: {relative} }}")
    return "threshold { change_threshold { %s } }" % " ".join(parts)


def failures(result):
    return {tuple((c, v) for c, v in _key(entry)): [f for f in entry.failures]
            for entry in result.validation.metric_validations_per_slice}


def _key(entry):
    from evalbeam.io.convert import slice_key_from_proto
    return slice_key_from_proto(entry.slice_key)


def test_diff_metrics_for_the_candidate(tmp_path):
    result = run_evaluation(config("", 'slicing_specs {} slicing_specs { feature_keys: ["country"] }'),
                            DATA, str(tmp_path / "o"))
    assert result.value("binary_accuracy", model_name="base") == pytest.approx(4 / 6)
    assert result.value("binary_accuracy", model_name="cand") == pytest.approx(5 / 6)
    assert result.value("binary_accuracy", model_name="cand", diff=True) == pytest.approx(1 / 6)
    assert result.value("binary_accuracy", (("country", "de"),), "cand", diff=True) == pytest.approx(-0.5)
    with pytest.raises(KeyError):  # the baseline has no diff of its own
        result.value("binary_accuracy", model_name="base", diff=True)


@pytest.mark.parametrize("threshold, passes", [
    (change("HIGHER_IS_BETTER", absolute=0.1), True),    # +0.167 >= 0.1
    (change("HIGHER_IS_BETTER", absolute=0.2), False),   # +0.167 <  0.2
    (change("LOWER_IS_BETTER", absolute=0.2), True),     # +0.167 <= 0.2
    (change("LOWER_IS_BETTER", absolute=0.1), False),    # +0.167 >  0.1
    (change("HIGHER_IS_BETTER", relative=0.2), True),    # +0.25 >= 0.2
    (change("HIGHER_IS_BETTER", relative=0.3), False),   # +0.25 <  0.3
    (change("LOWER_IS_BETTER", relative=0.3), True),     # +0.25 <= 0.3
    (change("LOWER_IS_BETTER", relative=0.2), False),    # +0.25 >  0.2
    (change("HIGHER_IS_BETTER", absolute=0.1, relative=0.3), False),  # relative fails
])
def test_change_thresholds_overall(tmp_path, threshold, passes):
    result = run_evaluation(config(threshold), DATA, str(tmp_path / "o"))
    assert result.validation.validation_ok is passes
    assert os.path.exists(tmp_path / "o" / ("BLESSED" if passes else "NOT_BLESSED"))
    if not passes:
        (failure,) = failures(result)[()]
        assert failure.metric_key.is_diff and failure.metric_key.model_name == "cand"
        assert failure.metric_value.double_value.value == pytest.approx(1 / 6)
        assert failure.baseline_metric_value.double_value.value == pytest.approx(4 / 6)
        assert "vs baseline 0.666667 (change +0.166667)" in failure.message


def test_change_threshold_on_every_slice_of_a_spec(tmp_path):
    result = run_evaluation(config(change("HIGHER_IS_BETTER", absolute=0.0),
                                   'slicing_specs {} slicing_specs { feature_keys: ["country"] }'),
                            DATA, str(tmp_path / "o"))
    assert set(failures(result)) == {(("country", "de"),)}  # -0.5; overall +1/6 and us +0.5 pass


def test_per_slice_change_thresholds(tmp_path):
    per_slice = """threshold { value_threshold { lower_bound { value: 0 } } }
      per_slice_thresholds { slicing_specs { feature_values { key: "country" value: "us" } }
                             threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: 0.4 } } } }
      per_slice_thresholds { slicing_specs { feature_values { key: "country" value: "de" } }
                             threshold { change_threshold { direction: LOWER_IS_BETTER relative { value: -0.6 } } } }"""
    slicing = ('slicing_specs {} slicing_specs { feature_values { key: "country" value: "us" } } '
               'slicing_specs { feature_values { key: "country" value: "de" } }')
    result = run_evaluation(config(per_slice, slicing), DATA, str(tmp_path / "o"))
    # us: +0.5 >= 0.4 passes; de: relative -0.5 <= -0.6 fails
    got = failures(result)
    assert set(got) == {(("country", "de"),)}
    assert "relative change -0.5 must be <= -0.6" in got[(("country", "de"),)][0].message


def test_value_and_change_thresholds_on_one_metric(tmp_path):
    both = ("threshold { value_threshold { lower_bound { value: 0.9 } } "
            "change_threshold { direction: HIGHER_IS_BETTER absolute { value: 0 } } }")
    result = run_evaluation(config(both), DATA, str(tmp_path / "o"))
    (failure,) = failures(result)[()]
    assert not failure.metric_key.is_diff  # the value 5/6 < 0.9 fails; the change +1/6 passes
    assert "below the lower bound 0.9" in failure.message


def test_cli_exit_codes_and_bad_comparison_configs(tmp_path, capsys):
    data = tmp_path / "d.parquet"
    import pyarrow.parquet as pq
    pq.write_table(DATA, data)

    def cli(text):
        cfg = tmp_path / "c.textproto"
        cfg.write_text(text)
        code = main(["evaluate", "--config", str(cfg), "--data", str(data), "--output", str(tmp_path / "o")])
        return code, capsys.readouterr()

    assert cli(config(change("HIGHER_IS_BETTER", absolute=0.1)))[0] == 0
    code, out = cli(config(change("HIGHER_IS_BETTER", absolute=0.2)))
    assert code == 1 and "vs baseline" in out.out
    code, out = cli(config("").replace('prediction_key: "p_cand"', 'prediction_key: "p_cand" is_baseline: true'))
    assert code == 2 and "only one model can be the baseline" in out.err
    code, out = cli(config(change("HIGHER_IS_BETTER", absolute=0.1)).replace("is_baseline: true", ""))
    assert code == 2 and "no model spec has is_baseline: true" in out.err
    code, out = cli(config("threshold { change_threshold { absolute { value: 0 } } }"))
    assert code == 2 and "needs direction" in out.err
    code, out = cli(MODELS + 'metrics_specs { metrics { class_name: "AUC" } thresholds { key: "auc_pr" value {} } }')
    assert code == 2 and "no metric named 'auc_pr'" in out.err


def test_show_names_diffs(tmp_path, capsys):
    import json
    run_evaluation(config(""), DATA, str(tmp_path / "o"))
    main(["show", str(tmp_path / "o"), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    got = {(r["model"], r["metric"]): r["value"] for r in rows}
    assert got[("cand", "binary_accuracy_diff")] == pytest.approx(1 / 6)
    assert got[("base", "binary_accuracy")] == pytest.approx(4 / 6)
    assert ("base", "binary_accuracy_diff") not in got


def test_evaluator_step_reuses_a_baseline_result(tmp_path):
    from evalbeam import evaluate_and_bless

    slicing = 'slicing_specs {} slicing_specs { feature_keys: ["country"] }'
    production = ('model_specs { label_key: "y" prediction_key: "p_base" }\n'
                  'metrics_specs { metrics { class_name: "BinaryAccuracy" } }\n' + slicing)
    assert not evaluate_and_bless(DATA, production, str(tmp_path / "prod"))  # no thresholds
    assert os.path.exists(tmp_path / "prod" / "NOT_BLESSED")

    candidate_only = DATA.drop_columns(["p_base"])  # the baseline is not re-evaluated
    gate = config(change("HIGHER_IS_BETTER", absolute=0.0), slicing)
    assert not evaluate_and_bless(candidate_only, gate, str(tmp_path / "new"),
                                  baseline_result=str(tmp_path / "prod"))
    reused = run_evaluation(gate, candidate_only, str(tmp_path / "new2"),
                            baseline_result=str(tmp_path / "prod"))
    full = run_evaluation(gate, DATA, str(tmp_path / "full"))
    for key in [(), (("country", "us"),), (("country", "de"),)]:
        for model, diff in [("base", False), ("cand", False), ("cand", True)]:
            assert reused.value("binary_accuracy", key, model, diff=diff) == pytest.approx(
                full.value("binary_accuracy", key, model, diff=diff))
    assert set(failures(reused)) == {(("country", "de"),)}
    gentle = config(change("HIGHER_IS_BETTER", absolute=-0.6), slicing)
    assert evaluate_and_bless(candidate_only, gentle, str(tmp_path / "new3"),
                              baseline_result=str(tmp_path / "prod"))
    assert os.path.exists(tmp_path / "new3" / "BLESSED")


def test_cross_slice_thresholds_bound_the_gap_between_slices(tmp_path, capsys):
    # Candidate accuracy: overall 5/6, us 1, de 1/2, so overall - us = -1/6, overall - de = +1/3.
    gap = """cross_slice_thresholds {
        cross_slicing_specs { baseline_spec {} slicing_specs { feature_keys: ["country"] } }
        threshold { value_threshold { lower_bound { value: -0.2 } upper_bound { value: 0.2 } } } }"""
    text = ('model_specs { label_key: "y" prediction_key: "p_cand" }\n'
            'metrics_specs { metrics { class_name: "BinaryAccuracy" %s } }' % gap)
    result = run_evaluation(text, DATA, str(tmp_path / "o"))
    assert set(result.metrics) == {(), (("country", "us"),), (("country", "de"),)}  # added slices
    (entry,) = result.validation.metric_validations_per_slice
    assert _key_of(entry.cross_slice_key.comparison_slice_key) == (("country", "de"),)
    assert _key_of(entry.cross_slice_key.baseline_slice_key) == ()
    (failure,) = entry.failures
    assert failure.metric_value.double_value.value == pytest.approx(1 / 3)
    assert "gap (Overall - country=de) = 0.333333 is above the upper bound 0.2" in failure.message
    assert not result.validation.validation_ok
    pq_path = tmp_path / "d.parquet"
    import pyarrow.parquet as pq
    pq.write_table(DATA, pq_path)
    cfg = tmp_path / "c.textproto"
    cfg.write_text(text.replace('feature_keys: ["country"]', 'feature_keys: ["device"]'))
    assert main(["evaluate", "--config", str(cfg), "--data", str(pq_path), "--output",
                 str(tmp_path / "o2")]) == 2  # no column device
    cfg.write_text(text.replace("upper_bound { value: 0.2 }", "upper_bound { value: 0.5 }"))
    assert main(["evaluate", "--config", str(cfg), "--data", str(pq_path), "--output",
                 str(tmp_path / "o3")]) == 0
    assert "validation: passed" in capsys.readouterr().out


def _key_of(proto):
    from evalbeam.io.convert import slice_key_from_proto
    return slice_key_from_proto(proto)


def test_intervals_in_artifacts_show_and_on_diffs(tmp_path, capsys):
    import json
    import numpy as np
    rng = np.random.default_rng(8)
    n = 2000
    y = rng.integers(0, 2, n)
    data = pa.table({"y": y, "p_base": np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1),
                     "p_cand": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                     "country": rng.choice(["us", "de"], n)})
    text = (MODELS + 'metrics_specs { metrics { class_name: "AUC" } }\nslicing_specs {}\n'
            'options { compute_confidence_intervals { value: true } }')
    result = run_evaluation(text, data, str(tmp_path / "o"))
    low, high = result.interval("auc", model_name="cand", diff=True)
    diff = result.value("auc", model_name="cand", diff=True)
    assert low < diff < high and low > 0  # the better candidate is significantly better
    base_low, base_high = result.interval("auc", model_name="base")
    # paired resamples: the diff's interval is no wider than the two separate intervals
    # together (the candidate's AUC is 1 in every resample here: exactly as wide as the base's)
    cand_low, cand_high = result.interval("auc", model_name="cand")
    assert high - low <= (base_high - base_low) + (cand_high - cand_low) + 1e-12
    main(["show", str(tmp_path / "o"), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all("lower" in r and "upper" in r for r in rows)


def test_change_thresholds_can_require_significance(tmp_path):
    import numpy as np
    rng = np.random.default_rng(3)
    n = 500
    base = rng.random(n)
    data = pa.table({"y": rng.integers(0, 2, n), "p_base": base,
                     "p_cand": np.clip(base + rng.normal(0.003, 0.1, n), 0, 1),
                     "country": ["us"] * n})
    ci = "\noptions { compute_confidence_intervals { value: true } }"

    def run(threshold, name):
        text = MODELS + ('metrics_specs { metrics { class_name: "MeanPrediction" %s } }\n'
                         'slicing_specs {}' % threshold) + ci
        return run_evaluation(text, data, str(tmp_path / name))

    probe = run("", "probe")
    d = probe.value("mean_prediction", model_name="cand", diff=True)
    low, high = probe.interval("mean_prediction", model_name="cand", diff=True)
    assert low < d < high
    for direction, bound in (("HIGHER_IS_BETTER", (d + high) / 2), ("LOWER_IS_BETTER", (low + d) / 2)):
        plain = "threshold { change_threshold { direction: %s absolute { value: %r } } }" % (direction, bound)
        significant = plain.replace("} } }", "} require_significance: true } }")
        assert not run(plain, direction + "p").validation.validation_ok      # the point fails
        assert run(significant, direction + "s").validation.validation_ok    # not significantly
    beyond = "threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: %r } require_significance: true } }" % (high + 0.01)
    failed = run(beyond, "beyond")
    assert not failed.validation.validation_ok
    assert "interval [" in failed.validation.metric_validations_per_slice[0].failures[0].message


def test_regression_finder_ranks_significant_drops_by_impact(tmp_path, capsys):
    import json
    import numpy as np
    from evalbeam import find_regressions
    rng = np.random.default_rng(5)
    n = 6000
    country = rng.choice(["us", "de", "fr"], n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, 2, n)
    good = np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    noise = rng.random(n)
    # the candidate is as good in us, much worse in de, slightly worse in fr
    cand = np.where(country == "us", good, np.where(country == "de", noise, 0.7 * good + 0.3 * noise))
    data = pa.table({"y": y, "p_base": good, "p_cand": cand, "country": country})
    text = (MODELS + 'metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "ExampleCount" } }\n'
            'slicing_specs {} slicing_specs { feature_keys: ["country"] }\n'
            'options { compute_confidence_intervals { value: true } }')
    run_evaluation(text, data, str(tmp_path / "o"))
    found = find_regressions(str(tmp_path / "o"))
    slices = [tuple(tuple(e) for e in r["slice"]) for r in found]
    assert (("country", "us"),) not in slices  # no drop there
    assert [s for s in slices if s][0] == (("country", "de"),)  # largest drop x examples
    top = found[slices.index((("country", "de"),))]
    assert top["metric"] == "auc" and top["upper"] < 0 and top["change"] < 0
    assert top["impact"] == pytest.approx(top["examples"] * -top["change"])
    assert top["candidate"] == pytest.approx(top["baseline"] + top["change"])
    impacts = [r["impact"] for r in found]
    assert impacts == sorted(impacts, reverse=True)
    assert json.load(open(tmp_path / "o" / "regressions.json")) == found
    main(["diff", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert "regression(s), largest impact first" in out and "country=de: auc (model cand, unweighted)" in out


def test_diff_without_a_baseline_is_a_clear_error(tmp_path, capsys):
    run_evaluation('model_specs { label_key: "y" prediction_key: "p_cand" }\n'
                   'metrics_specs { metrics { class_name: "AUC" } }', DATA, str(tmp_path / "o"))
    assert main(["diff", str(tmp_path / "o")]) == 2
    assert "no model is the baseline" in capsys.readouterr().err
