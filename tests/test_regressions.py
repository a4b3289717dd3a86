"""The gate and `evalbeam diff` agree: every slice failing a change threshold is a regression,
also with a baseline read from an earlier result (with or without confidence intervals);
slices the baseline result lacks are said once, without NaN comparisons."""
import importlib.util
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from evalbeam import find_regressions, load_result
from evalbeam.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

PRODUCTION = """model_specs { label_key: "y" prediction_key: "p_base" }
metrics_specs { metrics { class_name: "BinaryAccuracy" } }
slicing_specs {} slicing_specs { feature_keys: ["device"] }"""
GATE = """model_specs { name: "base" label_key: "y" prediction_key: "p_base" is_baseline: true }
model_specs { name: "cand" label_key: "y" prediction_key: "p_cand" }
metrics_specs { metrics { class_name: "BinaryAccuracy"
  threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: -0.01 } } } } }
slicing_specs {} slicing_specs { feature_keys: ["device"] } slicing_specs { feature_keys: ["country"] }
"""


def _data(seed=4, n=3000):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    device = rng.choice(["phone", "tablet"], n)
    # the candidate flips a fifth of the tablet decisions the wrong way
    flip = (device == "tablet") & (rng.random(n) < 0.2)
    cand = np.where(flip, np.where(y == 1, 0.1, 0.9), base)
    return pa.table({"y": y, "p_base": base, "p_cand": cand, "device": device,
                     "country": rng.choice(["us", "de", "fr"], n)})


def _accuracy(y, p):
    return float(np.mean((p > 0.5) == (y == 1)))


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_gate_and_diff_agree_with_a_baseline_result_of_fewer_slicing_specs(tmp_path, capsys):
    table = _data()
    pq.write_table(table.drop_columns(["p_cand"]), tmp_path / "prod.parquet")
    pq.write_table(table.drop_columns(["p_base"]), tmp_path / "cand.parquet")
    run41, run42 = str(tmp_path / "run41"), str(tmp_path / "run42")
    assert main(["evaluate", "--config", _write(tmp_path, "prod.textproto", PRODUCTION), "--data",
                 str(tmp_path / "prod.parquet"), "--output", run41]) == 0
    capsys.readouterr()
    code = main(["evaluate", "--config", _write(tmp_path, "gate.textproto", GATE), "--data",
                 str(tmp_path / "cand.parquet"), "--output", run42, "--baseline_result", run41])
    out = capsys.readouterr().out
    assert code == 1
    assert "nan" not in out.lower()

    y = table.column("y").to_numpy()
    base, cand = table.column("p_base").to_numpy(), table.column("p_cand").to_numpy()
    device = table.column("device").to_numpy(zero_copy_only=False)
    country = table.column("country").to_numpy(zero_copy_only=False)
    for c in ("us", "de", "fr"):  # the baseline result has no country slices: said once each
        rows = country == c
        line = (f"country={c}: binary_accuracy (model cand, unweighted): no baseline value (the "
                f"baseline result has no such slice); the candidate's value is "
                f"{_accuracy(y[rows], cand[rows]):.6g}.")
        assert out.count(f"country={c}:") == 1 and line in out
    tablet = device == "tablet"
    cand_t, base_t = _accuracy(y[tablet], cand[tablet]), _accuracy(y[tablet], base[tablet])
    assert cand_t - base_t < -0.01
    assert (f"device=tablet: binary_accuracy (model cand, unweighted) = {cand_t:.6g} vs baseline "
            f"{base_t:.6g} (change {cand_t - base_t:+.6g}): the change must be >= -0.01.") in out

    result = load_result(run42)
    fr_values = result.metrics[(("country", "fr"),)]  # no baseline value there: none written
    assert {(k.model_name, k.is_diff) for k in fr_values} == {("cand", False)}
    failed = {e.slice_key.SerializeToString() for e in result.validation.metric_validations_per_slice}
    code = main(["diff", run42, "--json", "--fail_on_regression"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    by_slice = {tuple(tuple(e) for e in r["slice"]): r for r in records}
    assert len(by_slice) == len(records) == len(failed)  # every failed slice, once
    tablet_record = by_slice[(("device", "tablet"),)]
    assert tablet_record["change"] == pytest.approx(cand_t - base_t)
    assert tablet_record["candidate"] == pytest.approx(cand_t)
    assert tablet_record["interval_excludes_zero"] is None  # no intervals computed
    (threshold,) = tablet_record["failed_thresholds"]
    assert threshold["change_threshold"] == {"direction": "HIGHER_IS_BETTER", "absolute": -0.01}
    fr = by_slice[(("country", "fr"),)]
    assert fr["baseline"] is None and fr["change"] is None
    assert fr["candidate"] == pytest.approx(_accuracy(y[country == "fr"], cand[country == "fr"]))
    assert json.load(open(tmp_path / "run42" / "regressions.json")) == find_regressions(run42)

    assert main(["diff", run42]) == 0  # without --fail_on_regression: a listing
    text = capsys.readouterr().out
    assert (f"device=tablet: binary_accuracy (model cand, unweighted) {cand_t:.4g} vs baseline "
            f"{base_t:.4g} (change {cand_t - base_t:+.4g})") in text
    assert "fails: change >= -0.01" in text
    assert "country=fr: binary_accuracy (model cand, unweighted)" in text
    assert "no baseline value to compare with" in text


def test_diff_exits_0_with_fail_on_regression_when_there_is_none(tmp_path, capsys):
    table = _data()
    gentle = GATE.replace("absolute { value: -0.01 }", "absolute { value: -0.5 }")
    out = str(tmp_path / "o")
    same = table.set_column(table.schema.get_field_index("p_cand"), "p_cand", table["p_base"])
    pq.write_table(same, tmp_path / "d.parquet")
    assert main(["evaluate", "--config", _write(tmp_path, "g.textproto", gentle), "--data",
                 str(tmp_path / "d.parquet"), "--output", out]) == 0
    capsys.readouterr()
    assert main(["diff", out, "--fail_on_regression"]) == 0
    assert "no regressions" in capsys.readouterr().out


def _orchestrator():
    spec = importlib.util.spec_from_file_location("orchestrator_step",
                                                  EXAMPLES / "orchestrator_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_orchestrator_flow_with_a_worse_candidate_lists_every_failed_slice(tmp_path, capsys):
    """The documented flow (baseline_result, intervals, require_significance) with a candidate
    worse in every slice: the gate fails every slice, and diff lists each of them."""
    module = _orchestrator()
    rng = np.random.default_rng(2)
    n = 20_000
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 1.0, n)
    production = 1 / (1 + np.exp(-signal))
    candidate = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.45, n))))  # noisier: lower AUC
    country = rng.choice(["us", "de", "fr"], n)
    data = str(tmp_path / "eval.parquet")
    pq.write_table(pa.table({"label": y, "p_production": production, "p_candidate": candidate,
                             "country": country}), data)
    baseline = module.evaluate_production(data, str(tmp_path))
    assert not module.evaluator_step(data, str(tmp_path), baseline)
    assert not module.push_step(str(tmp_path))

    out = str(tmp_path / "candidate")
    validation = load_result(out).validation
    failures = [f for e in validation.metric_validations_per_slice for f in e.failures]
    assert len(failures) == 4  # overall and three countries
    for f in failures:
        assert ("require_significance: no interval of the change, as the baseline comes from an "
                "earlier result") in f.message
    found = find_regressions(out)
    assert len(found) == 4
    assert json.load(open(tmp_path / "candidate" / "regressions.json")) == found
    for r in found:
        rows = np.ones(n, bool) if not r["slice"] else country == r["slice"][0][1]
        want = roc_auc_score(y[rows], candidate[rows]) - roc_auc_score(y[rows], production[rows])
        assert want < -0.01
        assert r["change"] == pytest.approx(want, abs=1e-3)  # 10,000-bucket histogram AUC
        assert r["interval_excludes_zero"] is None and r["failed_thresholds"]
    capsys.readouterr()
    assert main(["diff", out, "--fail_on_regression", "--top", "3"]) == 1
    text = capsys.readouterr().out
    assert "4 regression(s)" in text and "  ... and 1 more (--top 0 lists all" in text


def test_a_failed_change_within_its_interval_is_listed_as_not_significant(tmp_path, capsys):
    """Intervals on, baseline in the data: a point change failing the threshold is listed
    although its interval includes zero (the gate failed it), marked not significant."""
    rng = np.random.default_rng(2)
    n = 500
    base = rng.random(n)
    cand = np.clip(base + rng.normal(-0.003, 0.1, n), 0, 1)
    table = pa.table({"y": rng.integers(0, 2, n), "p_base": base, "p_cand": cand})
    text = ('model_specs { name: "base" label_key: "y" prediction_key: "p_base" is_baseline: true }\n'
            'model_specs { name: "cand" label_key: "y" prediction_key: "p_cand" }\n'
            'metrics_specs { metrics { class_name: "MeanPrediction" threshold { change_threshold { '
            'direction: HIGHER_IS_BETTER absolute { value: 0 } } } } }\n'
            'options { compute_confidence_intervals { value: true } }')
    change = float(cand.mean() - base.mean())
    assert change < 0
    from evalbeam import run_evaluation
    result = run_evaluation(text, table, str(tmp_path / "o"))
    low, high = result.interval("mean_prediction", model_name="cand", diff=True)
    assert low < 0 < high  # noise: the interval includes zero
    assert not result.validation.validation_ok  # the point value fails (no require_significance)
    (record,) = find_regressions(str(tmp_path / "o"))
    assert record["change"] == pytest.approx(change)
    assert record["higher_is_better"] is True  # from the threshold: MeanPrediction has none
    assert record["interval_excludes_zero"] is False
    assert (record["lower"], record["upper"]) == pytest.approx((low, high))
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "o"), "--top", "0"]) == 0
    assert ", not significant)" in capsys.readouterr().out
