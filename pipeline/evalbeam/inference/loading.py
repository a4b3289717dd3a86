"""A model file -> :class:`~evalbeam.inference.predictor.Predictor`, by its suffix: ``.joblib``,
``.pkl``, ``.pickle`` (scikit-learn and its kin: :mod:`~evalbeam.inference.sklearn_model`) or
``.onnx`` (onnxruntime: :mod:`~evalbeam.inference.onnx_model`). Each loader imports its library
only when it is called."""
from __future__ import annotations

import os

from evalbeam.errors import InputError
from evalbeam.inference.predictor import Predictor

SKLEARN_SUFFIXES = (".joblib", ".pkl", ".pickle")
ONNX_SUFFIXES = (".onnx",)


def load_model(path, **options) -> Predictor:
    """The model at ``path``; ``options`` go to the loader (ONNX: ``input_name``,
    ``output_name``)."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in SKLEARN_SUFFIXES:
        if options:
            raise InputError(f"{path}: options {sorted(options)} are for ONNX models; a "
                             f"{suffix} model takes none")
        from evalbeam.inference.sklearn_model import load_sklearn

        return load_sklearn(path)
    if suffix in ONNX_SUFFIXES:
        from evalbeam.inference.onnx_model import load_onnx

        return load_onnx(path, **options)
    raise InputError(f"{path}: unknown model format (suffix {suffix or 'none'!r}); expected "
                     f"{', '.join(SKLEARN_SUFFIXES)} (scikit-learn, joblib or pickle) or .onnx")
