"""Resolving a whole config: slicing specs, and the slices cross-slice comparisons read."""
import pytest

from config_text import assert_one_line_error, plan
from evalbeam.slicing import SliceSpec


@pytest.mark.parametrize("text, match", [
    ('metrics_specs { metrics { class_name: "AUC" } } slicing_specs { slice_keys_sql: "x" }',
     "slice_keys_sql is not supported"),
])
def test_slicing_mistakes_are_one_line_config_errors(text, match):
    assert_one_line_error(text, match)


def test_a_slicing_spec_listed_twice_is_an_error():
    assert_one_line_error('metrics_specs { metrics { class_name: "AUC" } } '
                          'slicing_specs { feature_keys: "c" } slicing_specs { feature_keys: "c" }',
                          "slicing_specs: the same slicing spec is listed twice")


def test_the_slices_cross_slice_comparisons_read_are_computed_once_each():
    p = plan('slicing_specs { feature_keys: "c" }\n'
             'cross_slicing_specs { baseline_spec { feature_keys: "d" } '
             'slicing_specs { feature_values { key: "c" value: "x" } } '
             'slicing_specs { feature_keys: "d" } slicing_specs { feature_keys: "c" } }\n'
             'metrics_specs { metrics { class_name: "AUC" cross_slice_thresholds { '
             'threshold { value_threshold { upper_bound { value: 0.1 } } } '
             'cross_slicing_specs { baseline_spec { } slicing_specs { feature_keys: "e" } } } } }')
    # the configured spec, then each spec the comparisons read that is not computed already
    assert p.slice_specs == [SliceSpec(("c",)), SliceSpec(("d",)), SliceSpec((), (("c", "x"),)),
                             SliceSpec(), SliceSpec(("e",))]
    assert [(c.baseline, c.comparisons) for c in p.cross_specs] == [
        (SliceSpec(("d",)), (SliceSpec((), (("c", "x"),)), SliceSpec(("d",)), SliceSpec(("c",))))]
    [threshold] = p.thresholds
    assert threshold.cross_specs[0].comparisons == (SliceSpec(("e",)),)
