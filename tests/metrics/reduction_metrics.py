"""Metrics of one's own with min and max states (tests/metrics/test_resampling.py names them in
its configs), and the same formulas in plain numpy over one slice's examples."""
import numpy as np

from evalbeam.metrics import CustomMetric, StateSpec


def _reduce_at(ufunc, identity, codes, values, n_slices):
    out = np.full(n_slices, identity)
    ufunc.at(out, codes, values)
    return out


class MaxPrediction(CustomMetric):
    """The largest prediction in the slice."""

    states = (StateSpec("max_p", reduce="max"),)
    value_range = (0.0, 1.0)

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        return {"max_p": _reduce_at(np.maximum, -np.inf, slice_codes, predictions, n_slices)}

    def result(self, state):
        return np.where(np.isfinite(state["max_p"]), state["max_p"], np.nan)


class MinPrediction(CustomMetric):
    """The smallest prediction in the slice (no declared range)."""

    states = (StateSpec("min_p", reduce="min"),)

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        return {"min_p": _reduce_at(np.minimum, np.inf, slice_codes, predictions, n_slices)}

    def result(self, state):
        return np.where(np.isfinite(state["min_p"]), state["min_p"], np.nan)


class PeakWeightedError(CustomMetric):
    """max(w * |y - p|) / mean weight: a max state beside two sums, read with the weights in
    ways no weighting of examples by their bootstrap count reproduces (only repeating them)."""

    states = (StateSpec("weight"), StateSpec("count"), StateSpec("peak", reduce="max"))

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        return {"weight": np.bincount(slice_codes, weights, n_slices),
                "count": np.bincount(slice_codes, minlength=n_slices).astype(float),
                "peak": _reduce_at(np.maximum, -np.inf, slice_codes,
                                   weights * np.abs(labels - predictions), n_slices)}

    def result(self, state):
        with np.errstate(divide="ignore", invalid="ignore"):
            return state["peak"] * state["count"] / state["weight"]


class MeanWeight(CustomMetric):
    """sum(w) / number of examples: sums only, but the count reads no weight, so a bootstrap
    must repeat drawn examples rather than weight them."""

    states = (StateSpec("weight"), StateSpec("count"))

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        return {"weight": np.bincount(slice_codes, weights, n_slices),
                "count": np.bincount(slice_codes, minlength=n_slices).astype(float)}

    def result(self, state):
        with np.errstate(divide="ignore", invalid="ignore"):
            return state["weight"] / state["count"]


def max_prediction(y, p, w):
    return p.max() if len(p) else np.nan


def min_prediction(y, p, w):
    return p.min() if len(p) else np.nan


def peak_weighted_error(y, p, w):
    if not len(p) or w.sum() <= 0:
        return np.nan
    return (w * np.abs(y - p)).max() * len(p) / w.sum()


def mean_weight(y, p, w):
    return w.mean() if len(w) else np.nan
