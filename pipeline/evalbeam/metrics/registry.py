"""Metric class names (TFMA's) -> metric classes."""
from __future__ import annotations

from evalbeam.metrics import confusion, histogram, ranking, sums

METRICS = {cls.__name__: cls for cls in [
    sums.ExampleCount, sums.WeightedExampleCount, sums.MeanLabel, sums.MeanPrediction,
    sums.Calibration, sums.BinaryCrossentropy, sums.BinaryCrossEntropy, sums.MeanSquaredError,
    sums.RootMeanSquaredError, sums.MeanAbsoluteError, sums.MeanAbsolutePercentageError,
    sums.SquaredPearsonCorrelation,
    confusion.BinaryAccuracy, confusion.Precision, confusion.Recall, confusion.F1Score,
    confusion.Specificity, confusion.FallOut, confusion.MissRate,
    confusion.TruePositives, confusion.TrueNegatives, confusion.FalsePositives,
    confusion.FalseNegatives, confusion.TP, confusion.TN, confusion.FP, confusion.FN,
    confusion.NegativePredictiveValue, confusion.FalseDiscoveryRate, confusion.FalseOmissionRate,
    confusion.Prevalence, confusion.PredictedPositiveRate, confusion.ThreatScore,
    confusion.MatthewsCorrelationCoefficient, confusion.BalancedAccuracy, confusion.Informedness,
    confusion.Markedness, confusion.FowlkesMallowsIndex, confusion.PrevalenceThreshold,
    confusion.PositiveLikelihoodRatio, confusion.NegativeLikelihoodRatio,
    confusion.DiagnosticOddsRatio, confusion.MaxRecall, confusion.ConfusionMatrixAtThresholds,
    histogram.AUC, histogram.AUCPrecisionRecall, histogram.SensitivityAtSpecificity,
    histogram.SpecificityAtSensitivity, histogram.PrecisionAtRecall, histogram.RecallAtPrecision,
    histogram.RecallAtFalsePositiveRate, histogram.ConfusionMatrixPlot, histogram.CalibrationPlot,
    ranking.NDCG, ranking.MinLabelPosition, ranking.QueryStatistics, ranking.PrecisionAtK,
    ranking.RecallAtK,
]}
