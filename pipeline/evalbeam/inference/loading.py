"""A model file -> :class:`~evalbeam.inference.predictor.Predictor`, by its format: the
``format`` option (``sklearn`` or ``onnx``), else the file's suffix: ``.joblib``, ``.pkl``,
``.pickle`` (scikit-learn and its kin: :mod:`~evalbeam.inference.sklearn_model`) or ``.onnx``
(onnxruntime: :mod:`~evalbeam.inference.onnx_model`). Each loader imports its library only
when it is called.

The options a model file takes (:data:`OPTIONS`), the same in Python (``(path, options)``) and
on the command line (``--model_option NAME:KEY=VALUE``): ``format`` for any file, and for
ONNX files ``input_name``, ``output_name`` and ``kind``.
"""
from __future__ import annotations

import difflib
import os

from evalbeam.errors import ConfigError, InputError
from evalbeam.inference.predictor import Predictor

SKLEARN_SUFFIXES = (".joblib", ".pkl", ".pickle")
ONNX_SUFFIXES = (".onnx",)
FORMATS = ("sklearn", "onnx")
KINDS = ("classifier", "regressor")
OPTIONS = {
    "format": "the file's format when its suffix does not say it: sklearn (joblib or pickle) "
              "or onnx",
    "input_name": "ONNX: the input fed the feature matrix",
    "output_name": "ONNX: the output read as the scores",
    "kind": "ONNX: classifier or regressor, when the output's name and shape do not say it",
}
ONNX_OPTIONS = ("input_name", "output_name", "kind")


def check_options(options: dict, where: str) -> dict:
    """``options`` checked (names and the values that have a fixed set), as a new dict; a
    one-line ConfigError starting with ``where`` otherwise (a misspelt name gets the nearest
    valid one)."""
    out = {}
    for name, value in dict(options or {}).items():
        if name not in OPTIONS:
            close = difflib.get_close_matches(str(name), list(OPTIONS), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{where}: unknown model option {name!r}{hint}; the options are "
                              f"{', '.join(OPTIONS)}")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: model option {name} must be a non-empty text, got "
                              f"{value!r}")
        if name == "format" and value not in FORMATS:
            raise ConfigError(f"{where}: format {value!r}: expected {' or '.join(FORMATS)}")
        if name == "kind" and value not in KINDS:
            said = (f" (a file's format is said by format={value})"
                    if value in FORMATS else "")
            raise ConfigError(f"{where}: kind {value!r}: expected {' or '.join(KINDS)}{said}")
        out[name] = value
    return out


def format_of(path, options=None) -> str | None:
    """"sklearn" or "onnx": the ``format`` option, else the file's suffix; None when neither
    says."""
    given = (options or {}).get("format")
    if given:
        return given
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in SKLEARN_SUFFIXES:
        return "sklearn"
    if suffix in ONNX_SUFFIXES:
        return "onnx"
    return None


def check_model(path, options: dict, where: str) -> str:
    """The format of the model file ``path`` given ``options`` (already checked), or a one-line
    error: a format no suffix or option says, ONNX options for a scikit-learn file."""
    path = os.fspath(path)
    fmt = format_of(path, options)
    if fmt is None:
        suffix = os.path.splitext(path)[1].lower()
        raise InputError(f"{path}: unknown model format (suffix {suffix or 'none'!r}); expected "
                         f"{', '.join(SKLEARN_SUFFIXES)} (scikit-learn, joblib or pickle) or "
                         ".onnx, or say it with the model option format=sklearn|onnx")
    extra = sorted(set(options) & set(ONNX_OPTIONS))
    if fmt == "sklearn" and extra:
        raise ConfigError(f"{where}: model options {', '.join(extra)} are for ONNX models; "
                          f"{path} is a scikit-learn model (joblib or pickle), which takes none")
    return fmt


def load_model(path, **options) -> Predictor:
    """The model at ``path``; ``options`` as :data:`OPTIONS` says (ONNX: ``input_name``,
    ``output_name``, ``kind``; any: ``format``)."""
    path = os.fspath(path)
    options = check_options(options, path)
    fmt = check_model(path, options, path)
    options.pop("format", None)
    if fmt == "sklearn":
        from evalbeam.inference.sklearn_model import load_sklearn

        return load_sklearn(path)
    from evalbeam.inference.onnx_model import load_onnx

    return load_onnx(path, **options)
