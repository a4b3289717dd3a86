"""Metric class names (TFMA's) -> metric classes."""
from __future__ import annotations

from evalbeam.metrics import (class_matrices, classes, confusion, flips, gain, histogram,
                              ranking, score_distribution, sums, value_histogram)

METRICS = {cls.__name__: cls for cls in [
    sums.ExampleCount, sums.WeightedExampleCount, sums.MeanLabel, sums.MeanPrediction,
    sums.Calibration, sums.BinaryCrossentropy, sums.BinaryCrossEntropy, sums.MeanSquaredError,
    sums.RootMeanSquaredError, sums.MeanAbsoluteError, sums.MeanAbsolutePercentageError,
    sums.SquaredPearsonCorrelation,
    confusion.BinaryAccuracy, confusion.Precision, confusion.Recall, confusion.F1Score,
    confusion.Specificity, confusion.FallOut, confusion.MissRate,
    confusion.TruePositives, confusion.TrueNegatives, confusion.FalsePositives,
    confusion.FalseNegatives, confusion.TP, confusion.TN, confusion.FP, confusion.FN,
    confusion.PPV, confusion.TPR, confusion.TNR, confusion.FPR, confusion.FNR, confusion.NPV,
    confusion.NegativePredictiveValue, confusion.FalseDiscoveryRate, confusion.FalseOmissionRate,
    confusion.Prevalence, confusion.PredictedPositiveRate, confusion.ThreatScore,
    confusion.MatthewsCorrelationCoefficient, confusion.BalancedAccuracy, confusion.Informedness,
    confusion.Markedness, confusion.FowlkesMallowsIndex, confusion.PrevalenceThreshold,
    confusion.PositiveLikelihoodRatio, confusion.NegativeLikelihoodRatio,
    confusion.DiagnosticOddsRatio, confusion.MaxRecall, confusion.ConfusionMatrixAtThresholds,
    histogram.AUC, histogram.AUCPrecisionRecall, histogram.SensitivityAtSpecificity,
    histogram.SpecificityAtSensitivity, histogram.PrecisionAtRecall, histogram.RecallAtPrecision,
    histogram.RecallAtFalsePositiveRate, histogram.ThresholdAtRecall,
    histogram.ConfusionMatrixPlot, value_histogram.CalibrationPlot,
    value_histogram.PredictedVsTrue, value_histogram.ResidualHistogram,
    gain.GainCurve, gain.LiftCurve, score_distribution.ScoreDistributionPlot,
    classes.SparseCategoricalAccuracy, classes.CategoricalAccuracy, classes.TopKAccuracy,
    classes.TopKCategoricalAccuracy, classes.SparseTopKCategoricalAccuracy,
    classes.SparseCategoricalCrossentropy, classes.CategoricalCrossentropy,
    class_matrices.MultiClassConfusionMatrixPlot, class_matrices.MultiClassConfusionMatrixAtThresholds,
    class_matrices.MultiLabelConfusionMatrixPlot,
    flips.SymmetricFlipRate, flips.NegToNegFlipRate, flips.NegToPosFlipRate,
    flips.PosToNegFlipRate, flips.PosToPosFlipRate, flips.BooleanFlipRates,
    ranking.NDCG, ranking.MinLabelPosition, ranking.QueryStatistics, ranking.PrecisionAtK,
    ranking.RecallAtK,
]}
