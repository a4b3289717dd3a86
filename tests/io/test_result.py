"""Reading a result in Python: value() / interval() that say which argument picks a value,
metrics at thresholds, curves per weighting, calibration means, the DataFrame, and output
directories holding values of every kind TFMA writes."""
import json
import math
import os

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam import load_result, run_evaluation

TABLE = make_table(2000, seed=5)
D = {c: TABLE.column(c).to_numpy() for c in TABLE.column_names}
D["prediction"] = D["prediction"].astype(np.float64)
CONFIG = BASE + """
metrics_specs {
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" }
  metrics { class_name: "Precision" config: '"thresholds": [0.25, 0.6]' }
  metrics { class_name: "ConfusionMatrixPlot" }
  example_weights { weighted: true unweighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] } slicing_specs { feature_keys: ["age"] }
slicing_specs { feature_keys: ["country", "device"] }
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_evaluation(CONFIG, TABLE, str(tmp_path_factory.mktemp("r") / "out"))


def _mean_label(mask, weighted=True):
    w = D["weight"][mask] if weighted else np.ones(mask.sum())
    return float(np.sum(w * D["label"][mask]) / np.sum(w))


def test_value_names_the_argument_that_picks_a_weighting(result):
    with pytest.raises(KeyError, match=r"2 values of 'mean_label' in slice Overall: pick one "
                                       r"with weighted=False or True"):
        result.value("mean_label")
    everything = np.ones(len(D["label"]), bool)
    assert result.value("mean_label", weighted=False) == pytest.approx(
        _mean_label(everything, False), rel=1e-12)
    assert result.value("mean_label", {"country": "de"}, weighted=True) == pytest.approx(
        _mean_label(D["country"] == "de"), rel=1e-12)
    with pytest.raises(KeyError, match="no metric 'mean_lable' in slice Overall; did you mean "
                                       "mean_label"):
        result.value("mean_lable", weighted=True)
    with pytest.raises(KeyError, match="no slice country=xx"):
        result.value("mean_label", {"country": "xx"}, weighted=True)


def test_curves_per_weighting(result):
    with pytest.raises(KeyError, match="pick one with weighted=False or True"):
        result.roc_curve()
    y, p, w = D["label"], D["prediction"], D["weight"]
    for weighted, weights in ((True, w), (False, np.ones_like(w))):
        roc = result.roc_curve(weighted=weighted)
        pr = result.pr_curve({"country": "us"}, weighted=weighted)
        i = int(np.argmin(np.abs(roc["thresholds"] - 0.5)))
        t = roc["thresholds"][i]
        pos = p > t
        assert roc["tpr"][i] == pytest.approx(np.sum(weights * y * pos) / np.sum(weights * y),
                                              abs=2e-3)  # 10,000-bucket histogram
        assert roc["fpr"][i] == pytest.approx(
            np.sum(weights * (1 - y) * pos) / np.sum(weights * (1 - y)), abs=2e-3)
        us = D["country"] == "us"
        j = int(np.argmin(np.abs(pr["thresholds"] - 0.5)))
        pos_us = pos & us
        assert pr["precision"][j] == pytest.approx(
            np.sum((weights * y)[pos_us]) / np.sum(weights[pos_us]), abs=2e-3)


def test_dataframe_answers_which_slices_are_worst(result):
    df = result.to_dataframe()
    assert df["age"].dtype == "Int64" and df["country"].dtype == "string"
    overall = df[df["slice"] == "Overall"]
    assert overall["age"].isna().all() and overall["country"].isna().all()
    means = df[(df["metric"] == "mean_label") & df["weighted"] & df["age"].isna()
               & df["country"].notna() & df["device"].isna()]
    worst = means.sort_values("value").iloc[0]
    by_hand = {c: _mean_label(D["country"] == c) for c in np.unique(D["country"])}
    assert worst["country"] == min(by_hand, key=by_hand.get)
    assert worst["value"] == pytest.approx(min(by_hand.values()), rel=1e-12)
    assert worst["slice"] == f"country={worst['country']}"
    # precision at each threshold, one row each; pivoted to one column per threshold
    precision = df[(df["metric"] == "precision") & df["weighted"]]
    wide = precision.pivot(index="slice", columns="threshold", values="value")
    assert list(wide.columns) == [0.25, 0.6]
    for t in (0.25, 0.6):
        pos = (D["prediction"] > t) & (D["age"] == 20)
        want = np.sum((D["weight"] * D["label"])[pos]) / np.sum(D["weight"][pos])
        assert wide.loc["age=20", t] == pytest.approx(want, rel=1e-12)
    assert math.isnan(df[df["metric"] == "weighted_example_count"]["threshold"].iloc[0])
    # every number of the result is a row: 4 + 12 + 8 + 1 slices x (2 counts + 2 means +
    # 2 x 2 precisions), and no more
    assert len(df) == 25 * 8
    cross = df[(df["country"] == "us") & (df["device"] == "mobile") & (df["metric"] ==
               "weighted_example_count") & df["weighted"]]
    mask = (D["country"] == "us") & (D["device"] == "mobile")
    assert cross["value"].tolist() == pytest.approx([D["weight"][mask].sum()])


def test_calibration_means_per_bucket(tmp_path):
    rng = np.random.default_rng(0)
    n = 900
    bucket = rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 9], n)  # bucket 4 stays empty
    p = 0.1 * bucket + 0.05 + rng.uniform(-0.03, 0.03, n)
    y = rng.integers(0, 2, n)
    w = rng.choice([0.5, 1.0, 2.0], n)
    data = pa.table({"label": y, "prediction": p, "weight": w})
    config = BASE + ('metrics_specs { metrics { class_name: "CalibrationPlot" config: '
                     '\'"num_buckets": 10\' } }')
    cal = run_evaluation(config, data, str(tmp_path / "o")).calibration()
    for k in range(10):
        i = int(np.flatnonzero(np.isclose(cal["lower_threshold_inclusive"], 0.1 * k))[0])
        rows = bucket == k
        if k == 4:
            assert cal["num_weighted_examples"][i] == 0
            assert math.isnan(cal["mean_label"][i]) and math.isnan(cal["mean_prediction"][i])
            continue
        assert cal["mean_label"][i] == pytest.approx(np.sum((w * y)[rows]) / w[rows].sum(),
                                                     rel=1e-12)
        assert cal["mean_prediction"][i] == pytest.approx(np.sum((w * p)[rows]) / w[rows].sum(),
                                                          rel=1e-9)
        assert cal["total_weighted_label"][i] == pytest.approx(np.sum((w * y)[rows]), rel=1e-12)


def test_summary_lists_diffs_apart_from_values(tmp_path):
    # binary accuracy at 0.5: the baseline is right on 4 of 6 examples, the candidate on 5
    data = pa.table({"y": [1, 1, 0, 0, 1, 0], "p_base": [0.9, 0.2, 0.7, 0.1, 0.8, 0.3],
                     "p_cand": [0.9, 0.6, 0.4, 0.1, 0.3, 0.3]})
    config = ('model_specs { name: "base" label_key: "y" prediction_key: "p_base" '
              'is_baseline: true }\nmodel_specs { name: "cand" label_key: "y" '
              'prediction_key: "p_cand" }\n'
              'metrics_specs { metrics { class_name: "BinaryAccuracy" } }')
    run_evaluation(config, data, str(tmp_path / "o"))
    overall = json.load(open(tmp_path / "o" / "summary.json"))["overall"]
    assert overall["base/binary_accuracy (unweighted)"] == pytest.approx(4 / 6)
    assert overall["cand/binary_accuracy (unweighted)"] == pytest.approx(5 / 6)
    assert overall["cand/binary_accuracy_diff (unweighted)"] == pytest.approx(1 / 6)


def _handmade(tmp_path, config=""):
    """An output directory as TFMA could write it: values of every kind, written by hand."""
    from google.protobuf import json_format
    from evalbeam.io.tfrecord import write_records
    from evalbeam.proto import config_pb2, metrics_for_slice_pb2 as mfs, validation_result_pb2

    out = tmp_path / "tfma"
    out.mkdir()
    record = mfs.MetricsForSlice()
    record.slice_key.single_slice_keys.add(column="country", bytes_value=b"us")

    def add(name):
        kv = record.metric_keys_and_values.add()
        kv.key.name = name
        kv.key.example_weighted.value = True
        return kv

    kv = add("recall")  # an array with an array interval
    kv.value.array_value.shape.append(2)
    kv.value.array_value.float64_values.extend([0.8, 0.6])
    kv.confidence_interval.lower_bound.array_value.float64_values.extend([0.7, 0.5])
    kv.confidence_interval.upper_bound.array_value.float64_values.extend([0.9, 0.7])
    kv = add("precision_at_k")
    for cutoff, value in ((1, 0.5), (5, 0.25)):
        kv.value.value_at_cutoffs.values.add(cutoff=cutoff, value=value)
    add("auc").value.bounded_value.value.value = 0.75
    add("broken").value.debug_message = "could not compute"
    with open(out / "metrics-00000-of-00001.tfrecord", "wb") as f:
        write_records(f, [record.SerializeToString()])
    with open(out / "plots-00000-of-00001.tfrecord", "wb") as f:
        write_records(f, [])
    with open(out / "validations.tfrecord", "wb") as f:
        write_records(f, [validation_result_pb2.ValidationResult().SerializeToString()])
    run = config_pb2.EvalRun()
    if config:
        from evalbeam.config import parse_config
        run.eval_config.CopyFrom(parse_config(config))
    (out / "eval_config.json").write_text(json_format.MessageToJson(run))
    (out / "summary.json").write_text(json.dumps({"rows_read": 0, "rows_used": 0,
                                                  "rows_dropped": {}}))
    return str(out)


def test_every_kind_of_value_is_read_or_named(tmp_path, capsys, monkeypatch):
    out = _handmade(tmp_path)
    result = load_result(out)
    us = {"country": "us"}
    np.testing.assert_allclose(result.value("recall", us), [0.8, 0.6])
    assert result.value("auc", us) == 0.75
    cells = {c.field: (c.value, c.lower, c.upper)
             for _, key, c in result.rows() if key.name == "recall"}
    # the config does not say the thresholds: positions instead
    assert cells == {"[0]": (0.8, 0.7, 0.9), "[1]": (0.6, 0.5, 0.7)}
    at = {c.field: c.value for _, key, c in result.rows() if key.name == "precision_at_k"}
    assert at == {"cutoff:1": 0.5, "cutoff:5": 0.25}
    assert [(k.name, why) for _, k, why in result.not_flattened()] == [
        ("broken", "no value, only the message 'could not compute'")]

    from evalbeam.cli import main
    monkeypatch.setenv("COLUMNS", "1000")
    assert main(["show", out]) == 0
    text = capsys.readouterr().out
    header, row = text.splitlines()[:2]
    assert header.split() == ["slice", "auc", "precision_at_k.cutoff:1", "precision_at_k.cutoff:5",
                              "recall[0]", "recall[1]"]
    assert row.split("  ")[0] == "country=us" and "0.8 [0.7, 0.9]" in row
    assert "not in the table: broken in 1 slice(s): no value, only the message " \
           "'could not compute'" in text
    assert main(["show", out, "--json"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert {(r["metric"], r.get("field"), r["value"]) for r in rows} == {
        ("auc", None, 0.75), ("precision_at_k", "cutoff:1", 0.5),
        ("precision_at_k", "cutoff:5", 0.25), ("recall", "[0]", 0.8), ("recall", "[1]", 0.6)}
    assert captured.err.strip() == ("evalbeam: note: not listed: broken in 1 slice(s): no "
                                    "value, only the message 'could not compute'")
    assert os.path.exists(out)


def test_an_array_interval_is_read_per_threshold(tmp_path, capsys, monkeypatch):
    out = _handmade(tmp_path, 'model_specs { label_key: "y" prediction_key: "p" }\n'
                              'metrics_specs { metrics { class_name: "Recall" config: '
                              '\'"thresholds": [0.3, 0.5]\' } example_weights { weighted: true } }')
    result = load_result(out)
    assert result.value("recall", {"country": "us"}, threshold=0.5) == 0.6
    assert result.interval("recall", {"country": "us"}, threshold=0.3) == (0.7, 0.9)
    assert result.interval("recall", {"country": "us"}, threshold=0.5) == (0.5, 0.7)
    from evalbeam.cli import main
    monkeypatch.setenv("COLUMNS", "1000")
    assert main(["show", out, "--metric", "recall"]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["slice", "recall@0.3", "recall@0.5"]
    assert row.split("  ")[0] == "country=us" and "0.8 [0.7, 0.9]" in row
    assert main(["show", out, "--json", "--metric", "recall"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["threshold"], r["value"], r["lower"], r["upper"]) for r in rows] == [
        (0.3, 0.8, 0.7, 0.9), (0.5, 0.6, 0.5, 0.7)]
