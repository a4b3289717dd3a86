"""Beam ``RunInference`` over whole record batches: :class:`RecordBatchModelHandler`.

Its element is a ``pyarrow.RecordBatch``: the feature columns become one 2-D float64 array,
the model predicts once for the batch, and the batch comes out with the predictions as a column
(a float per row: a regressor's value or a binary classifier's positive-class score; a
fixed-size list of class scores for more classes, the shape stored multi-class predictions
have). RunInference's batching is skipped (``should_skip_batching``): an element already is a
batch, and Beam's ``BatchElements`` would hold the last one of a bundle back until the bundle
ends, which the Dask runner drops.

A user's own Beam ``ModelHandler`` runs inside one (:class:`UserHandler`): it is given the
batch's 2-D feature array where it expects its sequence of examples (iterating the array gives
one row per example) and returns one result per row (a ``PredictionResult``, whose
``inference`` is read, or the score or score vector itself) or one array with a row per example.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from apache_beam.ml.inference import base
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from evalbeam.errors import EvalbeamError, InputError, first_line
from evalbeam.extract import source_of, to_float
from evalbeam.inference.loading import load_model

if base.resource is None:  # Beam imports it with a module that needs torch, and else logs a
    import resource        # warning at every model load instead of measuring its memory

    base.resource = resource


def feature_matrix(batch: pa.RecordBatch, features) -> np.ndarray:
    """The ``features`` columns of ``batch`` as one (rows x features) float64 array (nulls are
    NaN; the model decides what they mean)."""
    source = source_of(batch)
    X = np.empty((len(features), batch.num_rows), dtype=np.float64).T  # a column at a time
    for j, name in enumerate(features):
        X[:, j] = to_float(batch.column(name), name, source)
    return X


def scores(output, rows: int, where: str, pairs: bool = False) -> np.ndarray:
    """A model's output for ``rows`` examples -> ``(rows,)`` scores or ``(rows, k)`` class
    scores: one column is taken as the scores; with ``pairs`` (a user's handler, whose kind is
    not known), two as the scores of classes 0 and 1 (the second is the positive class's)."""
    try:
        values = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: its output is not numbers ({str(e).splitlines()[0]})") from None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim == 2 and values.shape[1] == 2 and pairs:
        values = values[:, 1]
    if values.ndim not in (1, 2) or len(values) != rows:
        raise InputError(f"{where}: gave an output of shape {values.shape} for {rows} rows; "
                         "expected a score per row or a row of class scores per row")
    return values


def prediction_array(values: np.ndarray) -> pa.Array:
    """Scores as an Arrow column: floats, or fixed-size lists of class scores."""
    if values.ndim == 1:
        return pa.array(values, type=pa.float64())
    flat = pa.array(np.ascontiguousarray(values).ravel(), type=pa.float64())
    return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


def joined(batch: pa.RecordBatch, column: str, values: pa.Array) -> pa.RecordBatch:
    """``batch`` with ``values`` as its column ``column`` (replacing one of that name)."""
    if column in batch.schema.names:
        batch = batch.drop_columns([column])
    return batch.append_column(pa.field(column, values.type), values)


class RecordBatchModelHandler(ModelHandler):
    """RecordBatch -> the same RecordBatch with ``column`` holding the model's predictions.

    ``model``: a model file's path (loaded by :func:`evalbeam.inference.loading.load_model`
    with ``options``) or a Beam ``ModelHandler`` (run as :class:`UserHandler` says).
    ``features``: the columns the model reads, in its order; when empty, ``rule`` (an
    :class:`evalbeam.inference.runs.FeatureRule`) finds and checks them in each batch's
    schema. ``describe``: the model, for messages.
    """

    def __init__(self, model, features, column: str, describe: str, options=None, rule=None):
        super().__init__()
        self.model, self.features, self.column = model, list(features), column
        self.describe, self.options, self.rule = describe, dict(options or {}), rule
        self.user = UserHandler(model) if isinstance(model, ModelHandler) else None
        self._found = {}  # a batch's schema -> its features (by the rule)

    def features_of(self, batch: pa.RecordBatch) -> list:
        if self.features or self.rule is None:
            return self.features
        found = self._found.get(batch.schema)
        if found is None:
            found = self._found[batch.schema] = list(
                self.rule.features(batch.schema, source_of(batch)))
        return found

    def load_model(self):
        if self.user is not None:
            return self.user.load_model(self.describe)
        return load_model(self.model, **self.options)

    def predict(self, batch: pa.RecordBatch, model, inference_args=None) -> np.ndarray:
        X = feature_matrix(batch, self.features_of(batch))
        where = f"{source_of(batch)}: {self.describe}"
        if self.user is not None:
            output = self.user.predict(X, model, inference_args, where)
        else:
            try:
                output = model.predict(X)
            except EvalbeamError:
                raise
            except Exception as e:  # noqa: BLE001 - the model's own failure, in one line
                raise InputError(f"{where} failed to predict: {first_line(e)}") from None
        return scores(output, batch.num_rows, where, pairs=self.user is not None)

    def run_inference(self, batch, model, inference_args=None):
        values = self.predict(batch, model, inference_args)
        return [joined(batch, self.column, prediction_array(values))]

    def get_num_bytes(self, batch) -> int:
        return batch.nbytes

    def get_metrics_namespace(self) -> str:
        return "evalbeam_inference"

    def should_skip_batching(self) -> bool:
        return True  # an element is a record batch already

    def set_environment_vars(self):
        if self.user is not None:
            self.user.handler.set_environment_vars()

    def share_model_across_processes(self) -> bool:
        return self.user is not None and self.user.handler.share_model_across_processes()

    def model_copies(self) -> int:
        return self.user.handler.model_copies() if self.user is not None else 1



class UserHandler:
    """A user's Beam ``ModelHandler`` run on feature arrays: it loads its model as it would in
    RunInference, and is given a batch's (rows x features) float64 array as its batch of
    examples. Its pre- and post-processing functions (``with_preprocess_fn``, ...) are not
    applied."""

    def __init__(self, handler: ModelHandler):
        self.handler = handler

    def load_model(self, describe: str):
        try:
            return self.handler.load_model()
        except EvalbeamError:
            raise
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{describe}: its ModelHandler failed to load the model: "
                             f"{first_line(e)}") from None

    def predict(self, X: np.ndarray, model, inference_args, where: str):
        try:
            results = self.handler.run_inference(X, model, inference_args)
            results = results if isinstance(results, np.ndarray) else list(results)
        except EvalbeamError:
            raise
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{where}: its ModelHandler failed to predict: "
                             f"{first_line(e)}") from None
        if isinstance(results, np.ndarray):
            return results
        if len(results) == 1 and len(X) != 1:  # one array for the whole batch
            only = results[0]
            return only.inference if isinstance(only, PredictionResult) else only
        if results and isinstance(results[0], PredictionResult):
            return [r.inference for r in results]
        return results
