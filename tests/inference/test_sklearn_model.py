"""Loading scikit-learn (and LightGBM) models from joblib and pickle files into a Predictor:
the scores equal the model's own predict_proba / predict; load failures say file, loader, why."""
import pickle

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evalbeam.errors import InputError
from evalbeam.inference.loading import load_model
from evalbeam.inference.sklearn_model import load_sklearn
from trained import FEATURES, frame, save


def test_binary_classifier_gives_the_positive_class_score_and_its_feature_names(tmp_path):
    df = frame()
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    p = load_model(save(model, tmp_path / "lr.joblib"))
    assert (p.kind, p.loader, p.n_classes, p.n_features) == ("classifier", "joblib", 2, 4)
    assert p.feature_names == FEATURES and p.source == str(tmp_path / "lr.joblib")
    X = df[FEATURES].to_numpy()
    np.testing.assert_array_equal(p.predict(X), model.predict_proba(df[FEATURES])[:, 1])


def test_multiclass_pipeline_in_a_pickle_gives_every_class_score(tmp_path):
    df = frame(classes=3)
    X = df[FEATURES].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, df["label"])
    with open(tmp_path / "m.pkl", "wb") as f:
        pickle.dump(model, f)
    p = load_model(tmp_path / "m.pkl")
    assert (p.kind, p.loader, p.n_classes, p.feature_names) == ("classifier", "pickle", 3, None)
    assert p.predict(X).shape == (len(X), 3)
    np.testing.assert_array_equal(p.predict(X), model.predict_proba(X))


def test_regressors_and_gradient_boosting(tmp_path):
    df = frame()
    X = df[FEATURES].to_numpy()
    for model in (LinearRegression().fit(X, df["target"]),
                  GradientBoostingRegressor(n_estimators=20).fit(X, df["target"])):
        p = load_sklearn(save(model, tmp_path / "r.joblib"))
        assert p.kind == "regressor" and p.n_classes is None
        np.testing.assert_array_equal(p.predict(X), model.predict(X))
    gb = GradientBoostingClassifier(n_estimators=20).fit(X, df["label"])
    p = load_sklearn(save(gb, tmp_path / "gb.joblib"))
    np.testing.assert_array_equal(p.predict(X), gb.predict_proba(X)[:, 1])


def test_lightgbm_through_its_scikit_learn_api(tmp_path):
    lightgbm = pytest.importorskip("lightgbm")
    df = frame()
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(df[FEATURES], df["label"])
    p = load_sklearn(save(model, tmp_path / "lgbm.joblib"))
    assert p.kind == "classifier" and p.n_classes == 2 and p.feature_names == FEATURES
    X = df[FEATURES].to_numpy()
    np.testing.assert_allclose(p.predict(X), model.predict_proba(df[FEATURES])[:, 1], rtol=1e-12)


@pytest.mark.parametrize("content, loader, why", [
    (b"not a model at all", "joblib", "cannot load the model with joblib: "),
    (pickle.dumps({"weights": [1, 2]}), "joblib", "holds a builtins.dict, not a model"),
])
def test_a_file_that_is_no_model_says_file_loader_and_why(tmp_path, content, loader, why):
    path = tmp_path / f"m.{loader}"
    path.write_bytes(content)
    with pytest.raises(InputError) as e:
        load_model(path)
    assert str(path) in e.value.message and why in e.value.message
    assert "\n" not in e.value.message


def test_missing_file_unknown_suffix_and_classes_that_are_not_ids(tmp_path):
    with pytest.raises(InputError, match=r"nope.joblib: cannot load the model with joblib: no "):
        load_model(tmp_path / "nope.joblib")
    with pytest.raises(InputError, match=r"m.bin: unknown model format \(suffix '.bin'\)"):
        load_model(tmp_path / "m.bin")
    df = frame()
    named = LogisticRegression().fit(df[FEATURES], np.where(df["label"] == 1, "yes", "no"))
    with pytest.raises(InputError, match=r"classes are \[no, yes\]; evalbeam reads labels as "
                                         r"class ids 0..1"):
        load_model(save(named, tmp_path / "named.joblib"))
