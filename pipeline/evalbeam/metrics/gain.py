"""Cumulative gain and lift curves, read off the shared 10,000-bucket prediction histogram.

Sorting examples by prediction, highest first, the gain at population fraction ``q`` is the
share of all weighted positives among the top ``q`` of the weighted examples, and the lift is
``gain / q`` (how many times better than picking at random). Each of ``num_points`` (default
100) fractions ``q = k / num_points`` is one point.

Ties: the histogram knows predictions to 1e-4 (its bucket), so examples in one bucket are
tied. When ``q`` cuts through a bucket, the part of the bucket's weight taken counts its
positives in proportion (linear interpolation of the cumulative positives against the
cumulative weight): the expected gain when tied examples are taken in random order.
"""
from __future__ import annotations

import numpy as np

from evalbeam.metrics import arguments
from evalbeam.metrics.base import Metric, MetricInfo, divide
from evalbeam.metrics.histogram import NEG, POS, Histogram


class _PopulationCurve(Metric):
    info = MetricInfo(config_keys=("num_points",), binary_labels=True, probabilities=True,
                      plot=True)
    kind = ""  # the PlotData field
    column = ""  # the column of the curve's values

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        self.num_points = arguments.whole_number(config, "num_points", 100, low=1)

    def families(self):
        return [Histogram(self.stream)]

    def fractions_and_gain(self, stats) -> tuple:
        hist = stats(self.families()[0])["hist"]
        weight = np.concatenate([[0.0], np.cumsum((hist[NEG] + hist[POS])[::-1])])
        positives = np.concatenate([[0.0], np.cumsum(hist[POS][::-1])])
        fractions = np.arange(1, self.num_points + 1) / self.num_points
        captured = np.interp(fractions * weight[-1], weight, positives)
        return fractions, divide(captured, np.full_like(captured, positives[-1]))

    def values(self, fractions, gain):
        raise NotImplementedError

    def compute(self, stats):
        fractions, gain = self.fractions_and_gain(stats)
        return {self.key: {self.kind: {"population_fraction": fractions,
                                       self.column: self.values(fractions, gain)}}}


class GainCurve(_PopulationCurve):
    """Cumulative gain: the share of weighted positives in the top fraction of examples by
    prediction, at ``num_points`` fractions (NaN for a slice without positives)."""

    kind, column = "gain_curve", "gain"

    def values(self, fractions, gain):
        return gain


class LiftCurve(_PopulationCurve):
    """Lift: cumulative gain / population fraction, at ``num_points`` fractions (1 everywhere
    for a random ranking; NaN for a slice without positives)."""

    kind, column = "lift_curve", "lift"

    def values(self, fractions, gain):
        return gain / fractions
