"""ONNX model files in the pipeline (scikit-learn models converted with skl2onnx, as converted
by default: float32 inputs, ZipMap outputs): evalbeam's metrics equal scikit-learn's on the
original model's predict_proba to float32 precision, and an ONNX candidate against a joblib
baseline compares as their predictions stored in the data."""
import numpy as np
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from evalbeam import cli, load_result, run_evaluation
from trained import FEATURES, frame, save, write

BINARY = """
model_specs { label_key: "label" example_weight_key: "weight" %s }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanPrediction" }
  metrics { class_name: "BinaryCrossentropy" } metrics { class_name: "AUC" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
KEYS = 'feature_keys: ["f0", "f1", "f2", "f3"]'


def onnx_file(model, path, X=None, **kw):
    onx = to_onnx(model, None if X is None else X[:1].astype(np.float32), **kw)
    path.write_bytes(onx.SerializeToString())
    return str(path)


def _values(result, slice_key=()):
    return {k.name: v for k, v in result.metrics[slice_key].items()}


def _check_binary(result, df, p):
    for key, rows in [((), np.ones(len(df), bool))] + [
            ((("country", c),), (df["country"] == c).to_numpy()) for c in ("fr", "de", "jp")]:
        y, w, q = df["label"].to_numpy()[rows], df["weight"].to_numpy()[rows], p[rows]
        got = _values(result, key)
        assert got["example_count"] == pytest.approx(w.sum(), rel=1e-12)
        assert got["mean_prediction"] == pytest.approx(np.average(q, weights=w), rel=1e-6)
        assert got["binary_crossentropy"] == pytest.approx(
            skm.log_loss(y, q, sample_weight=w), rel=1e-5)
        assert got["auc"] == pytest.approx(skm.roc_auc_score(y, q, sample_weight=w), abs=2e-4)


def test_cli_onnx_model_gives_scikit_learns_metrics_per_slice(tmp_path, capsys):
    df = frame(4000, seed=11)
    X = df[FEATURES].to_numpy()
    model = LogisticRegression().fit(X, df["label"])
    (tmp_path / "c.textproto").write_text(BINARY % KEYS)
    code = cli.main(["evaluate", "--config", str(tmp_path / "c.textproto"),
                     "--data", write(df, tmp_path / "d.parquet", row_group_size=1500),
                     "--output", str(tmp_path / "out"),
                     "--model", onnx_file(model, tmp_path / "lr.onnx", X)])
    assert code == 0, capsys.readouterr().err
    _check_binary(load_result(str(tmp_path / "out")), df, model.predict_proba(X)[:, 1])


def test_one_input_per_feature_orders_the_columns_by_the_models_names(tmp_path):
    df = frame(3000, seed=12)
    names = ["f2", "f0", "f3", "f1"]  # the model's order, not the data's
    pipe = make_pipeline(ColumnTransformer([("all", "passthrough", [0, 1, 2, 3])]),
                         GradientBoostingClassifier(n_estimators=20, random_state=0))
    pipe.fit(df[names].to_numpy(), df["label"])
    path = onnx_file(pipe, tmp_path / "gb.onnx",
                     initial_types=[(n, FloatTensorType([None, 1])) for n in names])
    result = run_evaluation(BINARY % "", write(df, tmp_path / "d.parquet"), str(tmp_path / "o"),
                            models=path)
    _check_binary(result, df, pipe.predict_proba(df[names].to_numpy())[:, 1])


def test_three_class_onnx_model_gives_class_score_vectors(tmp_path):
    df = frame(3000, seed=13, classes=3)
    X = df[FEATURES].to_numpy()
    model = LogisticRegression().fit(X, df["label"])
    config = """model_specs { name: "m" label_key: "label" feature_keys: ["f0", "f1", "f2", "f3"] }
    metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" }
                    metrics { class_name: "SparseCategoricalCrossentropy" } }
    slicing_specs {}"""
    result = run_evaluation(config, write(df, tmp_path / "d.parquet"), str(tmp_path / "out"),
                            models={"m": onnx_file(model, tmp_path / "m.onnx", X)})
    scores = model.predict_proba(X)
    got = _values(result)
    assert got["sparse_categorical_accuracy"] == pytest.approx(
        skm.accuracy_score(df["label"], scores.argmax(axis=1)), rel=1e-12)
    assert got["sparse_categorical_crossentropy"] == pytest.approx(
        skm.log_loss(df["label"], scores), rel=1e-5)


COMPARED = """
model_specs { name: "candidate" label_key: "label" %s }
model_specs { name: "baseline" label_key: "label" %s is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "BinaryAccuracy" }
  metrics { class_name: "AUC" } metrics { class_name: "BinaryCrossentropy" }
  metrics { class_name: "SymmetricFlipRate" }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def test_onnx_candidate_against_a_joblib_baseline_compares_as_stored_predictions(tmp_path):
    df = frame(4000, seed=14)
    X = df[FEATURES].to_numpy()
    candidate = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, df["label"])
    baseline = LogisticRegression().fit(X, df["label"])
    stored = df.assign(p_candidate=candidate.predict_proba(X)[:, 1],
                       p_baseline=baseline.predict_proba(X)[:, 1])
    data = write(stored, tmp_path / "d.parquet", row_group_size=1500)
    want = run_evaluation(COMPARED % ('prediction_key: "p_candidate"',
                                      'prediction_key: "p_baseline"'),
                          data, str(tmp_path / "stored"))
    got = run_evaluation(COMPARED % (KEYS, KEYS), data, str(tmp_path / "models"),
                         models={"candidate": onnx_file(candidate, tmp_path / "c.onnx", X),
                                 "baseline": save(baseline, tmp_path / "b.joblib")})
    assert got.metrics.keys() == want.metrics.keys() and len(got.metrics) == 4
    for slice_key, values in want.metrics.items():
        assert got.metrics[slice_key].keys() == values.keys()
        assert any(k.is_diff for k in values)
        for key, value in values.items():
            # the candidate's scores are float32's: values within 1e-5, diffs within 1e-6
            assert got.metrics[slice_key][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_loader_options_pick_the_output_and_its_kind(tmp_path):
    from test_onnx_model import sigmoid_scores

    df = frame(3000, seed=15)
    path, Wb = sigmoid_scores(tmp_path)
    result = run_evaluation(BINARY % KEYS, write(df, tmp_path / "d.parquet"), str(tmp_path / "o"),
                            models=(path, {"output_name": "b", "kind": "classifier"}))
    _check_binary(result, df, 1 / (1 + np.exp(-(df[FEATURES].to_numpy() @ Wb))))
