"""Metric class names (TFMA's) -> metric classes."""
from __future__ import annotations

from evalbeam.metrics import confusion, histogram, sums

METRICS = {cls.__name__: cls for cls in [
    sums.ExampleCount, sums.WeightedExampleCount, sums.MeanLabel, sums.MeanPrediction,
    sums.Calibration, sums.BinaryCrossentropy, sums.BinaryCrossEntropy, sums.MeanSquaredError,
    sums.RootMeanSquaredError, sums.MeanAbsoluteError, sums.MeanAbsolutePercentageError,
    sums.SquaredPearsonCorrelation,
    confusion.BinaryAccuracy, confusion.Precision, confusion.Recall, confusion.F1Score,
    confusion.Specificity, confusion.FallOut, confusion.MissRate,
    confusion.ConfusionMatrixAtThresholds,
    histogram.AUC, histogram.AUCPrecisionRecall, histogram.ConfusionMatrixPlot,
    histogram.CalibrationPlot,
]}
