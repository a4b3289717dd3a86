"""Class views: binarize and aggregate, and a metric's own class_id / top_k."""
import pytest

from config_text import assert_one_line_error


@pytest.mark.parametrize("text, match", [
    ('metrics_specs { metrics { class_name: "AUC" } binarize { } }',
     "binarize: give class_ids, k_list or top_k_list"),
    ('metrics_specs { metrics { class_name: "AUC" } binarize { k_list { values: 0 } } }',
     r"binarize.k_list: expected values >= 1, got \[0\]"),
    ('metrics_specs { metrics { class_name: "AUC" } aggregate { macro_average: true } }',
     "macro_average needs the classes to average: give class_weights"),
    ('metrics_specs { metrics { class_name: "AUC" } aggregate { class_weights { key: 0 value: 1 } } }',
     "aggregate: set micro_average, macro_average or weighted_macro_average"),
    ('metrics_specs { metrics { class_name: "Precision" config: \'"class_id": 2\' } '
     'binarize { class_ids { values: 1 } } }', "cannot be combined with the metrics_spec's binarize"),
    ('metrics_specs { metrics { class_name: "Precision" config: \'"top_k": 0\' } }',
     r"Precision\): top_k must be a whole number of at least 1, got 0"),
])
def test_class_view_mistakes_are_one_line_config_errors(text, match):
    assert_one_line_error(text, match)
