"""Every metric's config arguments are checked when the config is read: one line naming the
metric, the argument, what is allowed and what was given (CLI exit 2, no worker started)."""
import pytest

from conftest import BASE, make_table, plan
from evalbeam.cli import main
from evalbeam.errors import ConfigError
from helpers_io import write


def test_confusion_matrix_plot_with_no_thresholds_stops_at_config_time(tmp_path, capsys):
    config = tmp_path / "config.textproto"
    config.write_text(BASE + 'metrics_specs { metrics { class_name: "ConfusionMatrixPlot" '
                      "config: '\"num_thresholds\": 0' } }")
    data = write(make_table(200), str(tmp_path / "d.parquet"))
    code = main(["evaluate", "--config", str(config), "--data", data,
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("evalbeam: error: metrics_specs[0].metrics[0] (ConfusionMatrixPlot): "
                   "num_thresholds must be a whole number of at least 1, got 0\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("metric, config, message", [
    ("ConfusionMatrixPlot", '"num_thresholds": 0', "num_thresholds must be a whole number of at least 1, got 0"),
    ("ConfusionMatrixPlot", '"num_thresholds": 2.5', "num_thresholds must be a whole number of at least 1, got 2.5"),
    ("ConfusionMatrixPlot", '"num_thresholds": "10"', "num_thresholds must be a whole number of at least 1, got '10'"),
    ("AUC", '"num_thresholds": 1', "num_thresholds must be a whole number of at least 2, got 1"),
    ("AUCPrecisionRecall", '"num_thresholds": true', "num_thresholds must be a whole number of at least 2, got True"),
    ("RecallAtPrecision", '"precision": 0.5, "num_thresholds": 1', "num_thresholds must be a whole number of at least 2, got 1"),
    ("RecallAtPrecision", '"num_thresholds": 100', "precision is required: a number in [0, 1]"),
    ("SensitivityAtSpecificity", '"specificity": 1.5', "specificity must be a number in [0, 1], got 1.5"),
    ("ScoreDistributionPlot", '"num_thresholds": -3', "num_thresholds must be a whole number of at least 1, got -3"),
    ("MultiClassConfusionMatrixPlot", '"num_thresholds": 1', "num_thresholds must be a whole number of at least 2, got 1"),
    ("MultiClassConfusionMatrixPlot", '"thresholds": []', "thresholds must be a number or a non-empty list of them, got []"),
    ("CalibrationPlot", '"num_buckets": 0', "num_buckets must be a whole number from 1 to 10000, got 0"),
    ("CalibrationPlot", '"num_buckets": 20000', "num_buckets must be a whole number from 1 to 10000, got 20000"),
    ("CalibrationPlot", '"min_value": "low"', "min_value must be a number, got 'low'"),
    ("GainCurve", '"num_points": 0', "num_points must be a whole number of at least 1, got 0"),
    ("Precision", '"thresholds": [0.5, "x"]', "thresholds must be a number or a non-empty list of them, got [0.5, 'x']"),
    ("BinaryAccuracy", '"threshold": null', "threshold must be a number or a non-empty list of them, got None"),
    ("Precision", '"class_id": -1', "class_id must be a whole number of at least 0, got -1"),
    ("Recall", '"top_k": 1.5', "top_k must be a whole number of at least 1, got 1.5"),
    ("TopKAccuracy", '"k": 0', "k must be a whole number of at least 1, got 0"),
    ("AUC", '"curve": 1', "curve must be one of ['ROC', 'PR'], got 1"),
    ("AUC", '"summation_method": "trapezoid"', "summation_method must be one of ['interpolation', 'majoring', 'minoring'], got 'trapezoid'"),
    ("BinaryCrossentropy", '"from_logits": "false"', "from_logits must be true or false, got 'false'"),
    ("BinaryCrossentropy", '"label_smoothing": 2', "label_smoothing must be a number in [0, 1], got 2"),
    ("SparseCategoricalCrossentropy", '"label_smoothing": "0.1"', "label_smoothing must be a number in [0, 1], got '0.1'"),
])
def test_each_argument_is_checked_once_with_what_is_allowed(metric, config, message):
    with pytest.raises(ConfigError) as info:
        plan(f"metrics_specs {{ metrics {{ class_name: \"{metric}\" config: '{config}' }} }}")
    assert info.value.message == f"metrics_specs[0].metrics[0] ({metric}): {message}"


@pytest.mark.parametrize("metric, config", [
    ("ConfusionMatrixPlot", '"num_thresholds": 1'),
    ("ConfusionMatrixPlot", '"num_thresholds": 10.0'),  # a whole number written as a float
    ("AUC", '"num_thresholds": 2'),
    ("Precision", '"class_id": 0, "thresholds": [0.1, 0.9]'),
    ("CalibrationPlot", '"num_buckets": 10000'),
    ("AUC", '"curve": "pr", "summation_method": "MINORING"'),  # either case, as TFMA
])
def test_allowed_values_pass(metric, config):
    assert plan(f"metrics_specs {{ metrics {{ class_name: \"{metric}\" config: '{config}' }} }}")
