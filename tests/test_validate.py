"""Thresholds as a user meets them: every value of a metric with several is checked, failures
name what tells a metric's values apart, require_significance says when no interval decided,
and the CLI lists at most 20 failures."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam import run_evaluation
from evalbeam.cli import main


def _precision(y, p, t, w=None):
    w = np.ones(len(y)) if w is None else w
    positive = p > t
    return float(w[positive & (y == 1)].sum() / w[positive].sum())


def _recall(y, p, t):
    positive = p > t
    return float((positive & (y == 1)).sum() / (y == 1).sum())


# predictions and labels with precision 3/5 at 0.3 and 2/3 at 0.5 (by hand):
#   > 0.3: 0.9(1) 0.8(1) 0.6(0) 0.45(1) 0.35(0)   > 0.5: 0.9(1) 0.8(1) 0.6(0)
DATA = pa.table({"y": [1, 1, 0, 1, 0, 1, 0, 0],
                 "p": [0.9, 0.8, 0.6, 0.45, 0.35, 0.2, 0.1, 0.05]})


def _failures(result):
    return [f for e in result.validation.metric_validations_per_slice for f in e.failures]


def test_value_threshold_checks_every_threshold_of_precision(tmp_path):
    y, p = DATA.column("y").to_numpy(), DATA.column("p").to_numpy()
    assert _precision(y, p, 0.3) == pytest.approx(3 / 5) and _precision(y, p, 0.5) == pytest.approx(2 / 3)
    text = ('model_specs { label_key: "y" prediction_key: "p" }\n'
            'metrics_specs { metrics { class_name: "Precision" config: \'"thresholds": [0.3, 0.5]\' '
            'threshold { value_threshold { lower_bound { value: %s } } } } }')
    (failure,) = _failures(run_evaluation(text % 0.65, DATA, str(tmp_path / "a")))
    # only precision@0.3 = 0.6 is below 0.65; precision@0.5 = 0.667 passes
    assert failure.message == ("precision@0.3 (unweighted) = 0.6 is below the lower bound 0.65.")
    assert list(failure.metric_value.array_value.float64_values) == pytest.approx([0.6, 2 / 3])
    (failure,) = _failures(run_evaluation(text % 0.7, DATA, str(tmp_path / "b")))
    assert "precision@0.3 (unweighted) = 0.6 is below" in failure.message
    assert "precision@0.5 (unweighted) = 0.666667 is below" in failure.message
    assert run_evaluation(text % 0.5, DATA, str(tmp_path / "c")).validation.validation_ok


def test_change_threshold_checks_every_threshold_with_baseline_in_the_data_or_a_result(tmp_path):
    rng = np.random.default_rng(6)
    n = 2000
    y = rng.integers(0, 2, n)
    base = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    # the candidate loses recall above 0.5 only: positives between 0.5 and 0.7 drop to 0.45
    cand = np.where((y == 1) & (base > 0.5) & (base < 0.7), 0.45, base)
    table = pa.table({"y": y, "p_base": base, "p_cand": cand})
    drop = {t: _recall(y, cand, t) - _recall(y, base, t) for t in (0.3, 0.5)}
    assert drop[0.3] == 0 and drop[0.5] < -0.05
    metric = ('metrics { class_name: "Recall" config: \'"thresholds": [0.3, 0.5]\' threshold { '
              'change_threshold { direction: HIGHER_IS_BETTER absolute { value: -0.01 } } } }')
    gate = ('model_specs { name: "base" label_key: "y" prediction_key: "p_base" is_baseline: true }\n'
            'model_specs { name: "cand" label_key: "y" prediction_key: "p_cand" }\n'
            'metrics_specs { %s }' % metric)
    want = (f"recall@0.5 (model cand, unweighted) = {_recall(y, cand, 0.5):.6g} vs baseline "
            f"{_recall(y, base, 0.5):.6g} (change {drop[0.5]:+.6g}): the change must be >= -0.01.")
    (failure,) = _failures(run_evaluation(gate, table, str(tmp_path / "both")))
    assert failure.message == want

    run_evaluation('model_specs { label_key: "y" prediction_key: "p_base" }\n'
                   'metrics_specs { metrics { class_name: "Recall" config: \'"thresholds": [0.3, 0.5]\' } }',
                   table.drop_columns(["p_cand"]), str(tmp_path / "prod"))
    reused = run_evaluation(gate, table.drop_columns(["p_base"]), str(tmp_path / "reused"),
                            baseline_result=str(tmp_path / "prod"))
    (failure,) = _failures(reused)
    assert failure.message == want
    diff = reused.value("recall", model_name="cand", diff=True)
    assert list(diff) == pytest.approx([drop[0.3], drop[0.5]])
    from evalbeam import find_regressions
    (record,) = find_regressions(str(tmp_path / "reused"))
    assert record["at"] == "0.5" and record["change"] == pytest.approx(drop[0.5])


def test_failures_name_model_output_sub_key_and_weighting(tmp_path):
    # two classes' scores; class 1 is predicted for rows 0, 1 (score > 0.5), labelled in rows 0, 2
    table = pa.table({"y": [1, 0, 1, 0], "s": [[0.2, 0.8], [0.4, 0.6], [0.7, 0.3], [0.9, 0.1]],
                      "w": [1.0, 3.0, 1.0, 1.0]})
    text = ('model_specs { name: "m" label_key: "y" prediction_keys { key: "head" value: "s" } '
            'example_weight_key: "w" }\n'
            'metrics_specs { metrics { class_name: "Precision" '
            'threshold { value_threshold { lower_bound { value: 0.9 } } } } '
            'binarize { class_ids { values: [1] } } example_weights { weighted: true unweighted: true } }')
    messages = sorted(f.message for f in _failures(run_evaluation(text, table, str(tmp_path / "o"))))
    assert messages == [
        "precision (model m, output head, classId:1, unweighted) = 0.5 is below the lower bound 0.9.",
        "precision (model m, output head, classId:1, weighted) = 0.25 is below the lower bound 0.9.",
    ]


def test_require_significance_without_intervals_says_the_point_value_decided(tmp_path):
    gate = ('model_specs { name: "base" label_key: "y" prediction_key: "p_base" is_baseline: true }\n'
            'model_specs { name: "cand" label_key: "y" prediction_key: "p_cand" }\n'
            'metrics_specs { metrics { class_name: "BinaryAccuracy" threshold { change_threshold { '
            'direction: HIGHER_IS_BETTER absolute { value: 0 } require_significance: true } } } }')
    # accuracy: base 4/4, candidate 2/4
    table = pa.table({"y": [1, 0, 1, 0], "p_base": [0.9, 0.1, 0.8, 0.2],
                      "p_cand": [0.9, 0.6, 0.3, 0.2]})
    (failure,) = _failures(run_evaluation(gate, table, str(tmp_path / "o")))
    assert failure.message == (
        "binary_accuracy (model cand, unweighted) = 0.5 vs baseline 1 (change -0.5): the change "
        "must be >= 0 (require_significance: no interval of the change, as confidence intervals "
        "are off (options.compute_confidence_intervals); the point value decided).")


def test_cli_lists_at_most_20_failures_and_says_where_the_rest_are(tmp_path, capsys):
    n = 45
    table = pa.table({"y": [1] * n, "p": [0.2] * n, "user": [f"u{i:02d}" for i in range(n)]})
    pq.write_table(table, tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(
        'model_specs { label_key: "y" prediction_key: "p" }\n'
        'metrics_specs { metrics { class_name: "BinaryAccuracy" '
        'threshold { value_threshold { lower_bound { value: 0.5 } } } } }\n'
        'slicing_specs {} slicing_specs { feature_keys: ["user"] }')
    out_dir = str(tmp_path / "o")
    assert main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data",
                 str(tmp_path / "d.parquet"), "--output", out_dir]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "validation: FAILED (46 failure(s))" in lines
    failures = [line for line in lines if "binary_accuracy (unweighted) = 0 is below" in line]
    assert len(failures) == 20
    (more,) = [line for line in lines if line.startswith("  ... and ")]
    assert more.startswith(f"  ... and 26 more: all are in {out_dir}/validations.tfrecord")
