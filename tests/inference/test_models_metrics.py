"""Models run in the pipeline give the metrics scikit-learn computes on their predict_proba /
predict of the same rows, and a candidate and a baseline model file give the same comparison
as their predictions stored in the data."""
import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from evalbeam import cli, load_result, run_evaluation
from trained import FEATURES, frame, save, write

BINARY = """
model_specs { label_key: "label" example_weight_key: "weight" }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanPrediction" }
  metrics { class_name: "BinaryCrossEntropy" } metrics { class_name: "AUC" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def _values(result, slice_key=()):
    return {k.name: v for k, v in result.metrics[slice_key].items()}


def test_cli_model_file_gives_scikit_learns_metrics_per_slice(tmp_path, capsys):
    df = frame(4000, seed=1)
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    # the data's columns in another order than the model's: its recorded names decide
    data = write(df[["country", "f3", "label", "f1", "weight", "f0", "f2", "target"]],
                 tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(BINARY)
    code = cli.main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data", data,
                     "--output", str(tmp_path / "out"),
                     "--model", save(model, tmp_path / "lr.joblib")])
    assert code == 0, capsys.readouterr().err
    result = load_result(str(tmp_path / "out"))
    p = model.predict_proba(df[FEATURES])[:, 1]
    for key, rows in [((), np.ones(len(df), bool))] + [
            ((("country", c),), (df["country"] == c).to_numpy()) for c in ("fr", "de", "jp")]:
        y, w, q = df["label"].to_numpy()[rows], df["weight"].to_numpy()[rows], p[rows]
        got = _values(result, key)
        assert got["example_count"] == pytest.approx(w.sum(), rel=1e-12)  # weighted
        assert got["mean_prediction"] == pytest.approx(np.average(q, weights=w), rel=1e-12)
        assert got["binary_crossentropy"] == pytest.approx(  # TFMA's, unclipped
            skm.log_loss(y, q, sample_weight=w), rel=1e-9)
        # AUC from a 10,000-bucket histogram (TFMA's thresholds)
        assert got["auc"] == pytest.approx(skm.roc_auc_score(y, q, sample_weight=w), abs=2e-4)


def test_gradient_boosting_with_feature_keys_and_a_regressor_by_default_features(tmp_path):
    df = frame(3000, seed=2)
    X = df[FEATURES].to_numpy()  # fitted on an array: no names recorded
    gb = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, df["label"])
    data = write(df.assign(other=np.arange(len(df)) % 7), tmp_path / "d.parquet")
    config = BINARY.replace('example_weight_key: "weight"',
                            'example_weight_key: "weight" feature_keys: ["f0", "f1", "f2", "f3"]')
    result = run_evaluation(config, data, str(tmp_path / "gb"),
                            models=save(gb, tmp_path / "gb.joblib"))
    p, y, w = gb.predict_proba(X)[:, 1], df["label"], df["weight"]
    got = _values(result)
    assert got["binary_crossentropy"] == pytest.approx(skm.log_loss(y, p, sample_weight=w),
                                                        rel=1e-9)
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, p, sample_weight=w), abs=2e-4)

    # a regressor: the default features are the columns the config does not name, in the
    # data's order (label, weight, country are named; target is the label here)
    reg = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(X, df["target"])
    config = """model_specs { label_key: "target" }
    metrics_specs { metrics { class_name: "MeanSquaredError" }
                    metrics { class_name: "MeanAbsoluteError" } }
    slicing_specs {} slicing_specs { feature_keys: ["country"] }"""
    data = write(df.drop(columns=["label", "weight"]), tmp_path / "r.parquet")
    result = run_evaluation(config, data, str(tmp_path / "reg"),
                            models={"": save(reg, tmp_path / "reg.joblib")})
    q = reg.predict(X)
    got = _values(result)
    assert got["mean_squared_error"] == pytest.approx(skm.mean_squared_error(df["target"], q),
                                                      rel=1e-9)
    assert got["mean_absolute_error"] == pytest.approx(
        skm.mean_absolute_error(df["target"], q), rel=1e-9)


def test_three_class_model_gives_class_score_vectors(tmp_path):
    df = frame(3000, seed=3, classes=3)
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    config = """model_specs { name: "m" label_key: "label" }
    metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" }
                    metrics { class_name: "SparseCategoricalCrossentropy" }
                    metrics { class_name: "MultiClassConfusionMatrixPlot" } }
    slicing_specs {}"""
    result = run_evaluation(config, write(df, tmp_path / "d.parquet"), str(tmp_path / "out"),
                            models={"m": save(model, tmp_path / "m.joblib")})
    scores = model.predict_proba(df[FEATURES])
    got = _values(result)
    assert got["sparse_categorical_accuracy"] == pytest.approx(
        skm.accuracy_score(df["label"], scores.argmax(axis=1)), rel=1e-12)
    assert got["sparse_categorical_crossentropy"] == pytest.approx(
        skm.log_loss(df["label"], scores), rel=1e-9)


COMPARED = """
model_specs { name: "candidate" label_key: "label" %s }
model_specs { name: "baseline" label_key: "label" %s is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "BinaryAccuracy" }
  metrics { class_name: "AUC"
            threshold { change_threshold { direction: HIGHER_IS_BETTER
                                           absolute { value: 0.0 } } } }
  metrics { class_name: "BinaryCrossentropy" } metrics { class_name: "SymmetricFlipRate" }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def test_candidate_and_baseline_model_files_compare_as_stored_predictions(tmp_path):
    df = frame(4000, seed=4)
    X = df[FEATURES].to_numpy()
    candidate = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, df["label"])
    baseline = LogisticRegression().fit(df[FEATURES], df["label"])
    stored = df.assign(p_candidate=candidate.predict_proba(X)[:, 1],
                       p_baseline=baseline.predict_proba(df[FEATURES])[:, 1])
    data = write(stored, tmp_path / "d.parquet", row_group_size=1500)
    want = run_evaluation(COMPARED % ('prediction_key: "p_candidate"',
                                      'prediction_key: "p_baseline"'),
                          data, str(tmp_path / "stored"))
    (tmp_path / "c.textproto").write_text(COMPARED % ('feature_keys: ["f0", "f1", "f2", "f3"]',
                                                      ""))
    code = cli.main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data", data,
                     "--output", str(tmp_path / "models"),
                     "--model", "candidate=" + save(candidate, tmp_path / "cand.joblib"),
                     "--model", "baseline=" + save(baseline, tmp_path / "base.joblib")])
    got = load_result(str(tmp_path / "models"))
    assert code == (0 if want.validation.validation_ok else 1)
    assert got.metrics.keys() == want.metrics.keys() and len(got.metrics) == 4
    for slice_key, values in want.metrics.items():
        assert got.metrics[slice_key].keys() == values.keys()
        assert any(k.is_diff for k in values) and any(k.name == "symmetric_flip_rate"
                                                        for k in values)
        for key, value in values.items():
            assert got.metrics[slice_key][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    assert got.validation == want.validation


def test_the_model_replaces_a_stored_prediction_column_and_reads_only_what_it_needs(tmp_path):
    """prediction_key names a column of the data: with a model it is not read (it holds
    nonsense here), the model's predictions stand in its place. In memory and from CSV."""
    from evalbeam.config import parse_config, resolve_config
    from evalbeam.inference import runs

    df = frame(2000, seed=9)
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    path = save(model, tmp_path / "m.joblib")
    stored = df.assign(prediction=7.5, notes="free text")  # neither fits a metric or a model
    config = BINARY.replace('example_weight_key: "weight"',
                            'example_weight_key: "weight" prediction_key: "prediction"')
    p, y, w = model.predict_proba(df[FEATURES])[:, 1], df["label"], df["weight"]
    want = skm.log_loss(y, p, sample_weight=w)
    csv = tmp_path / "d.csv"
    stored.to_csv(csv, index=False)
    for data, name in ((stored, "frame"), (str(csv), "csv")):
        result = run_evaluation(config, data, str(tmp_path / name), models=path)
        assert _values(result)["binary_crossentropy"] == pytest.approx(want, rel=1e-9), name

    # the columns read: the config's (not the replaced prediction) and the model's features
    proto, model_runs = runs.attach(parse_config(config), {"": path})
    plan = resolve_config(proto)
    prepared = runs.prepare(model_runs, plan, pa.Schema.from_pandas(stored), "d")
    assert runs.read_columns(plan, [r for r, _ in prepared]) == [
        "label", "weight", "country", *FEATURES]
