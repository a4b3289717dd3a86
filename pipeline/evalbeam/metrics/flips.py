"""Flip rates: how often the candidate's decision differs from the baseline's (TFMA's
``flip_metrics.py``).

Both models' predictions of the same example are turned into decisions (positive iff
``prediction > threshold``, default 0.5). One :class:`FlipCounts` family per candidate stream
and threshold counts the weighted examples in each cell of (baseline decision, candidate
decision), one ``np.bincount`` per batch and slicing spec; the weights are the baseline
model's, as in TFMA. Each rate is cells / all examples of the slice (NaN for a slice without
weight).

The values are keyed as TFMA keys them: the candidate's model and output with ``is_diff``
set, since they describe the candidate relative to the baseline.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import UNIT, Family, Metric, MetricInfo, Stream, divide
from evalbeam.metrics.state import DenseColumn, StateSpec

NEG, POS = 0, 1  # cell index of a decision


class FlipCounts(Family):
    """Weighted examples per slice by ``[baseline decision, candidate decision]`` (2 x 2)."""

    def __init__(self, stream: Stream, baseline: Stream, threshold: float):
        super().__init__(stream)
        self.baseline = baseline
        self.threshold = threshold

    def group_key(self):
        return (type(self).__name__, self.stream, self.baseline, self.threshold)

    def states(self):
        return {"cells": StateSpec("cells", (2, 2))}

    def add_batch(self, arrays, codes, n_slices):
        t = self.threshold
        # 2 * baseline decision + candidate decision: made once per batch, shared by the specs
        cell = arrays.derived(f"flip_cell/{t!r}", lambda a: 2 * (a.base_p > t) + (a.p > t))
        counts = np.bincount(codes * 4 + cell, weights=arrays.w, minlength=n_slices * 4)
        return {"cells": DenseColumn(self.states()["cells"], counts.reshape(n_slices, 2, 2))}


def flip_rates(cells: np.ndarray) -> dict:
    """Every flip rate from the cell counts ``(..., 2, 2)``, by TFMA's default name."""
    total = cells.sum(axis=(-2, -1))
    rate = {f"{b}_to_{c}_flip_rate": divide(cells[..., i, j], total)
            for i, b in ((NEG, "neg"), (POS, "pos")) for j, c in ((NEG, "neg"), (POS, "pos"))}
    rate["symmetric_flip_rate"] = divide(cells[..., NEG, POS] + cells[..., POS, NEG], total)
    return rate


def _threshold(config: dict) -> float:
    return arguments.number(config, "threshold", 0.5)


class _Flips(Metric):
    """Reads the candidate's and the baseline's decisions of the same examples."""

    def __init__(self, name, stream, config, baseline: Stream):
        super().__init__(name, stream, config)
        self.key = dataclasses.replace(self.key, is_diff=True)
        self.threshold = _threshold(config)
        self.baseline = baseline

    def families(self):
        return [FlipCounts(self.stream, self.baseline, self.threshold)]

    def cells(self, stats) -> np.ndarray:
        return stats(self.families()[0])["cells"]


class _OneRate(_Flips):
    """One flip rate: the weighted share of the slice's examples in the metric's cell(s)."""

    info = MetricInfo(config_keys=("threshold",), compares_baseline=True, per_class=False,
                      value_range=UNIT)
    rate = ""  # key of flip_rates()

    def compute_table(self, stats):
        return {self.key: flip_rates(self.cells(stats))[self.rate]}


class SymmetricFlipRate(_OneRate):
    """Share of examples whose decision differs between baseline and candidate (either way)."""

    rate = "symmetric_flip_rate"


class NegToNegFlipRate(_OneRate):
    """Share of examples both models decide negative."""

    rate = "neg_to_neg_flip_rate"


class NegToPosFlipRate(_OneRate):
    """Share of examples the baseline decides negative and the candidate positive."""

    rate = "neg_to_pos_flip_rate"


class PosToNegFlipRate(_OneRate):
    """Share of examples the baseline decides positive and the candidate negative."""

    rate = "pos_to_neg_flip_rate"


class PosToPosFlipRate(_OneRate):
    """Share of examples both models decide positive."""

    rate = "pos_to_pos_flip_rate"


# BooleanFlipRates' config key naming each rate, and the rate's default name there
_BOOLEAN_NAMES = {
    "symmetric_flip_rate": ("flip_rate_name", "flip_rate"),
    "neg_to_neg_flip_rate": ("neg_to_neg_flip_rate_name", "neg_to_neg_flip_rate"),
    "neg_to_pos_flip_rate": ("neg_to_pos_flip_rate_name", "neg_to_pos_flip_rate"),
    "pos_to_neg_flip_rate": ("pos_to_neg_flip_rate_name", "pos_to_neg_flip_rate"),
    "pos_to_pos_flip_rate": ("pos_to_pos_flip_rate_name", "pos_to_pos_flip_rate"),
}


class BooleanFlipRates(_Flips):
    """All five flip rates at one threshold, named by ``flip_rate_name`` (symmetric, default
    ``flip_rate``) and ``neg_to_neg_flip_rate_name`` ... ``pos_to_pos_flip_rate_name``."""

    info = MetricInfo(config_keys=("threshold",) + tuple(k for k, _ in _BOOLEAN_NAMES.values()),
                      compares_baseline=True, per_class=False, value_range=UNIT)

    def __init__(self, name, stream, config, baseline: Stream):
        super().__init__(name, stream, config, baseline)
        self.rate_keys = {}
        for rate, (config_key, default) in _BOOLEAN_NAMES.items():
            rate_name = arguments.text(config, config_key, default)
            self.rate_keys[rate] = dataclasses.replace(self.key, name=rate_name)
        if len(set(self.rate_keys.values())) < len(self.rate_keys):
            raise ValueError(f"Expected five distinct rate names, got "
                             f"{sorted(k.name for k in self.rate_keys.values())}")

    def keys(self):
        return list(self.rate_keys.values())

    def compute_table(self, stats):
        rates = flip_rates(self.cells(stats))
        return {key: rates[rate] for rate, key in self.rate_keys.items()}
