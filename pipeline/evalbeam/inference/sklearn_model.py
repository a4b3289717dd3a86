"""scikit-learn estimators and pipelines (and XGBoost / LightGBM through their scikit-learn API)
saved with joblib or pickle -> :class:`~evalbeam.inference.predictor.Predictor`.

Loading a joblib or pickle file runs code from it: load only files the user named.
"""
from __future__ import annotations

import os
import pickle
import warnings

import numpy as np

from evalbeam.errors import InputError, first_line
from evalbeam.inference.predictor import Predictor

EXTRA = "pip install 'evalbeam[sklearn]'"
LIBRARIES = ("sklearn", "xgboost", "lightgbm", "joblib", "scipy")


def _loader(path: str) -> str:
    return "joblib" if os.fspath(path).lower().endswith(".joblib") else "pickle"


def _read(path: str, loader: str):
    from apache_beam.io.filesystems import FileSystems

    if "://" not in path and not os.path.isfile(path):
        raise InputError(f"{path}: cannot load the model with {loader}: no such file")
    with FileSystems.open(path) as f:
        if loader == "pickle":
            try:  # joblib reads plain pickles and joblib.dump's files, whatever their suffix
                import joblib
            except ImportError:
                return pickle.load(f)
        else:
            try:
                import joblib
            except ImportError:
                raise InputError(f"{path}: loading a joblib model needs joblib: {EXTRA}") from None
        return joblib.load(f)



def load_sklearn(path) -> Predictor:
    """The model in a joblib or pickle file, as a Predictor: a classifier's ``predict_proba``
    (the positive class's column for two classes), a regressor's ``predict``."""
    path = os.fspath(path)
    loader = _loader(path)
    try:
        model = _read(path, loader)
    except InputError:
        raise
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        hint = f"; {EXTRA}" if missing in LIBRARIES else ""
        raise InputError(f"{path}: cannot load the model with {loader}: it needs the module "
                         f"{e.name!r}, which is not installed{hint}") from None
    except Exception as e:  # noqa: BLE001 - whatever unpickling raised, said in one line
        raise InputError(f"{path}: cannot load the model with {loader}: {first_line(e)}") from None
    return predictor_of(model, path, loader)


def _is_classifier(model) -> bool:
    try:
        from sklearn.base import is_classifier

        if is_classifier(model):
            return True
    except ImportError:
        pass
    return getattr(model, "_estimator_type", None) == "classifier"


def _quiet(fn):
    """``fn`` without scikit-learn's warning that the array has no column names (the model was
    fitted on a DataFrame; the columns are given in its order)."""
    def call(X):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return fn(X)
    return call


def predictor_of(model, source: str, loader: str) -> Predictor:
    """A Predictor over a fitted scikit-learn-style estimator (``source``: where it came from)."""
    if not callable(getattr(model, "predict", None)):
        raise InputError(f"{source}: holds a {type(model).__module__}.{type(model).__qualname__}"
                         ", not a model with predict / predict_proba")
    names = getattr(model, "feature_names_in_", None)
    names = None if names is None else [str(n) for n in names]
    n_features = getattr(model, "n_features_in_", None)
    n_features = int(n_features) if n_features is not None else (len(names) if names else None)
    if not _is_classifier(model):
        regress = _quiet(model.predict)

        def predict(X):
            values = np.asarray(regress(X), dtype=np.float64)
            if values.ndim == 2 and values.shape[1] == 1:
                return values[:, 0]
            if values.ndim != 1:
                raise InputError(f"{source}: the regressor gives {values.shape[1:]} values per "
                                 "row; evalbeam evaluates one")
            return values
        return Predictor(source, loader, "regressor", predict, names, n_features)
    kind = type(model).__qualname__
    if not callable(getattr(model, "predict_proba", None)):
        raise InputError(f"{source}: the classifier ({kind}) has no predict_proba; evalbeam "
                         "reads class scores (probabilities) of classifiers")
    classes = np.asarray(getattr(model, "classes_", []))
    ids = np.arange(len(classes))
    if len(classes) == 1:
        raise InputError(f"{source}: the classifier was fitted on one class ({classes[0]}); "
                         "it gives no scores to compare classes by")
    if not len(classes) or classes.dtype.kind not in "biuf" or not np.array_equal(classes, ids):
        shown = ", ".join(map(str, classes[:5])) + (", ..." if len(classes) > 5 else "")
        raise InputError(f"{source}: the classifier's classes are [{shown}]; evalbeam reads "
                         f"labels as class ids 0..{max(len(classes), 2) - 1} (fit it on "
                         "those)")
    proba = _quiet(model.predict_proba)
    if len(classes) == 2:
        def predict(X):
            return np.asarray(proba(X), dtype=np.float64)[:, 1]
    else:
        def predict(X):
            return np.asarray(proba(X), dtype=np.float64)
    return Predictor(source, loader, "classifier", predict, names, n_features, len(classes))
