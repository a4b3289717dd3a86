"""Metrics of your own, as a config names them:

    metrics { module: "custom_metrics" class_name: "MeanAbsoluteLogError" }
    metrics { module: "custom_metrics" class_name: "FalsePositivesPerTruePositive" }
    metrics { module: "custom_metrics" class_name: "MaxAbsoluteError" }

(the module must be importable where the pipeline runs: on PYTHONPATH, or installed).
"""
import numpy as np

from evalbeam.metrics import CustomMetric, DerivedMetric, StateSpec


class MeanAbsoluteLogError(CustomMetric):
    """sum(w * |log(1 + p) - log(1 + y)|) / sum(w); NaN for a slice without weight."""

    states = (StateSpec("weight"), StateSpec("error"))
    higher_is_better = False

    def __init__(self, offset: float = 1.0):
        self.offset = offset

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        error = np.abs(np.log(self.offset + predictions) - np.log(self.offset + labels))
        return {"weight": np.bincount(slice_codes, weights, n_slices),
                "error": np.bincount(slice_codes, weights * error, n_slices)}

    def result(self, state):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(state["weight"] > 0, state["error"] / state["weight"], np.nan)


class MaxAbsoluteError(CustomMetric):
    """The largest |y - p| among the slice's examples with a positive weight; NaN without any."""

    states = (StateSpec("max_error", reduce="max"),)  # a slice without examples holds -inf
    higher_is_better = False
    value_range = (0.0, float("inf"))  # interval bounds are clipped to it

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        error = np.where(weights > 0, np.abs(labels - predictions), -np.inf)
        out = np.full(n_slices, -np.inf)
        np.maximum.at(out, slice_codes, error)
        return {"max_error": out}

    def result(self, state):
        return np.where(np.isfinite(state["max_error"]), state["max_error"], np.nan)


class FalsePositivesPerTruePositive(DerivedMetric):
    """false_positives / true_positives, from those two metrics (configure them too)."""

    inputs = ("false_positives", "true_positives")
    higher_is_better = False

    def result(self, values):
        with np.errstate(divide="ignore", invalid="ignore"):
            return values["false_positives"] / values["true_positives"]
