"""``Evaluate(..., models=...)`` in a pipeline of the user's own: record batches (beam.Create)
or tables (beam.io.ReadFromParquetBatched) in, a model file's predictions computed on them,
the metrics scikit-learn computes on ``model.predict_proba`` of the same rows out."""
import json

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from evalbeam import Evaluate, load_result
from evalbeam.errors import ConfigError
from test_onnx_pipeline import onnx_file
from trained import FEATURES, frame, save, write

CONFIG = """
model_specs { name: "new" label_key: "label" example_weight_key: "weight" }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanPrediction" }
  metrics { class_name: "BinaryCrossEntropy" } metrics { class_name: "AUC" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def _check(result, df, p, rel):
    for key, rows in [((), np.ones(len(df), bool))] + [
            ((("country", c),), (df["country"] == c).to_numpy()) for c in ("fr", "de", "jp")]:
        y, w, q = df["label"].to_numpy()[rows], df["weight"].to_numpy()[rows], p[rows]
        got = {k.name: v for k, v in result.metrics[key].items()}
        assert got["example_count"] == pytest.approx(w.sum(), rel=1e-12)
        assert got["mean_prediction"] == pytest.approx(np.average(q, weights=w), rel=rel)
        assert got["binary_crossentropy"] == pytest.approx(
            skm.log_loss(y, q, sample_weight=w), rel=rel)
        assert got["auc"] == pytest.approx(skm.roc_auc_score(y, q, sample_weight=w), abs=2e-4)


def _batches(df, rows=700):
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.to_batches(max_chunksize=rows)


def test_record_batches_of_the_users_pipeline_and_a_joblib_model(tmp_path):
    df = frame(3000, seed=31)
    model = LogisticRegression().fit(df[FEATURES], df["label"])  # records its feature names
    path = save(model, tmp_path / "m.joblib")
    out = str(tmp_path / "out")
    with beam.Pipeline() as pipeline:
        _ = (pipeline
             | beam.Create(_batches(df[["country", "f2", "label", "f0", "weight", "f3", "f1"]]))
             | Evaluate(CONFIG, out, models={"new": path}))
    result = load_result(out)
    _check(result, df, model.predict_proba(df[FEATURES])[:, 1], rel=1e-9)
    assert result.models == [{
        "model_spec": "new", "path": path, "format": "sklearn", "loader": "joblib",
        "kind": "classifier", "options": {}, "prediction_key": "evalbeam.prediction.new",
        "features": "recorded in the model"}]


def test_parquet_tables_and_an_onnx_model_by_the_columns_the_config_does_not_name(tmp_path):
    """The model records no names (fitted on an array, one matrix input) and the spec has no
    feature_keys: its features are each batch's columns the config does not name."""
    df = frame(3000, seed=32)
    X = df[FEATURES].to_numpy()
    model = LogisticRegression().fit(X, df["label"])
    path = onnx_file(model, tmp_path / "m.onnx", X)
    data = write(df.drop(columns=["target"]), tmp_path / "d.parquet", row_group_size=1000)
    out = str(tmp_path / "out")
    with beam.Pipeline() as pipeline:
        _ = (pipeline
             | beam.io.ReadFromParquetBatched(data)
             | Evaluate(CONFIG, out, models=path, data_location=data, file_format="parquet"))
    result = load_result(out)
    _check(result, df, model.predict_proba(X)[:, 1], rel=1e-5)  # float32 scores
    assert result.models[0]["features"] == "the columns the config does not name"
    assert json.loads((tmp_path / "out" / "eval_config.json").read_text())[
        "modelLocations"] == {"new": path}


def test_a_missing_feature_column_stops_the_run_in_one_line(tmp_path):
    df = frame(500, seed=33)
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    path = save(model, tmp_path / "m.joblib")
    with pytest.raises(Exception) as e:
        with beam.Pipeline() as pipeline:
            _ = (pipeline | beam.Create(_batches(df.drop(columns=["f1"])))
                 | Evaluate(CONFIG, str(tmp_path / "out"), models={"new": path}))
    assert "no column 'f1', a feature of model 'new' (" in str(e.value)
    assert "m.joblib) (recorded in the model); columns present: " in str(e.value)
    assert not (tmp_path / "out").exists()


def test_models_are_checked_when_the_transform_is_built(tmp_path):
    df = frame(500, seed=34)
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    path = save(model, tmp_path / "m.joblib")
    with pytest.raises(ConfigError, match=r"no model spec is named 'old' \(model specs: 'new'\)"):
        Evaluate(CONFIG, str(tmp_path / "out"), models={"old": path})
    with pytest.raises(ConfigError, match=r"models\['new'\]: unknown model option 'input' "
                                          r"\(did you mean input_name\?\)"):
        Evaluate(CONFIG, str(tmp_path / "out"), models={"new": (path, {"input": "x"})})
    from apache_beam.ml.inference.base import ModelHandler

    with pytest.raises(ConfigError, match=r"models\['new'\]: options \['format'\] are for model "
                                          "files; a ModelHandler takes none"):
        Evaluate(CONFIG, str(tmp_path / "out"), models={"new": (ModelHandler(), {"format": "onnx"})})
    from evalbeam.errors import InputError

    with pytest.raises(InputError, match="absent.joblib: cannot load the model with joblib: no "
                                         "such file"):
        Evaluate(CONFIG, str(tmp_path / "out"), models=str(tmp_path / "absent.joblib"))
