"""Thresholds: value and change thresholds checked against the metric and the models."""
import pytest

from config_text import assert_one_line_error


@pytest.mark.parametrize("text, match", [
    ('metrics_specs { metrics { class_name: "AUC" threshold { change_threshold { absolute { value: 0 } } } } }',
     "change_threshold compares with a baseline, but no model spec has is_baseline"),
    ('metrics_specs { metrics { class_name: "AUC" threshold { value_threshold { lower_bound { value: 0.9 } '
     'upper_bound { value: 0.1 } } } } }', "lower_bound 0.9 is above upper_bound 0.1"),
    ('metrics_specs { metrics { class_name: "CalibrationPlot" threshold { value_threshold { lower_bound { value: 0 } } } } }',
     "a threshold on a plot"),
    ('metrics_specs { metrics { class_name: "AUC" } thresholds { key: "aucc" value {} } }',
     "no metric named 'aucc'"),
])
def test_threshold_mistakes_are_one_line_config_errors(text, match):
    assert_one_line_error(text, match)
