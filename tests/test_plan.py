"""The plan: which families are accumulated (fused, and replicated for intervals), which columns
are read, which keys the thresholds check, and a plan with the baseline's metrics given."""
import pytest

from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError
from evalbeam.keys import MetricKey
from evalbeam.metrics.resampling import Replicated

TWO_MODELS = ('model_specs { name: "a" label_key: "y" prediction_key: "pa" '
              'example_weight_key: "w" }\n'
              'model_specs { name: "b" label_key: "y" prediction_key: "pb" '
              'example_weight_key: "w" is_baseline: true }\n')


def resolved(text):
    return resolve_config(parse_config(text))


def _families(eval_plan):
    return [(type(f).__name__, type(f.inner).__name__ if isinstance(f, Replicated) else None)
            for f in eval_plan.fused.families]


def test_metrics_reading_the_same_statistics_share_one_family():
    text = ('model_specs { label_key: "y" prediction_key: "p" }\n'
            'metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            'metrics { class_name: "ExampleCount" } metrics { class_name: "CalibrationPlot" } }')
    eval_plan = resolved(text)
    assert _families(eval_plan) == [("Confusion", None), ("ExampleSums", None), ("Histogram", None)]
    # every metric finds its families among the fused ones
    for metric in eval_plan.metrics:
        for family in metric.families():
            index = eval_plan.fused.family_index(family)
            assert eval_plan.fused.families[index].group_key() == family.group_key()
    assert sorted(eval_plan.fused.state_specs()) == sorted(
        f"{i}.{name}" for i, f in enumerate(eval_plan.fused.families) for name in f.states())


def test_intervals_replicate_the_families_of_metrics_with_intervals_only():
    text = ('model_specs { label_key: "y" prediction_key: "p" }\n'
            'metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            'metrics { class_name: "ExampleCount" } metrics { class_name: "CalibrationPlot" } }\n'
            'options { compute_confidence_intervals { value: true } }')
    # Precision and Recall: one replicated confusion family; ExampleCount has no interval, a plot
    # none either
    assert _families(resolved(text)) == [("Confusion", None), ("Replicated", "Confusion"),
                                         ("ExampleSums", None), ("Histogram", None)]


def test_input_columns_are_each_read_once_in_order():
    eval_plan = resolved(TWO_MODELS + 'slicing_specs { feature_keys: ["c", "y"] }\n'
                         'slicing_specs { feature_values { key: "d" value: "1" } }\n'
                         'metrics_specs { metrics { class_name: "AUC" } }')
    assert eval_plan.input_columns() == ["y", "pa", "w", "pb", "c", "d"]
    assert [(h.model, h.prediction_key) for h in eval_plan.heads()] == [("a", "pa"), ("b", "pb")]
    assert eval_plan.baseline == "b"


def test_a_change_threshold_checks_the_diff_and_reads_both_values():
    eval_plan = resolved(TWO_MODELS + 'metrics_specs { model_names: ["a", "b"] metrics { '
                         'class_name: "AUC" threshold { change_threshold { direction: '
                         'HIGHER_IS_BETTER absolute { value: -0.01 } } } } }')
    diff = MetricKey("auc", "a", example_weighted=True, is_diff=True)
    assert [t.key for t in eval_plan.thresholds] == [diff]
    assert eval_plan.checked_keys() == {diff, MetricKey("auc", "a", example_weighted=True),
                                        MetricKey("auc", "b", example_weighted=True)}


def test_baseline_metrics_from_a_result_leave_the_baseline_out_of_the_data():
    eval_plan = resolved(TWO_MODELS + 'metrics_specs { model_names: ["a", "b"] '
                         'metrics { class_name: "AUC" } }')
    given = eval_plan.with_baseline_metrics({(): {}})
    assert [m.stream.model for m in eval_plan.metrics] == ["a", "b"]
    assert [m.stream.model for m in given.metrics] == ["a"]
    assert [m.name for m in given.evaluated_models()] == ["a"]
    assert given.input_columns() == ["y", "pa", "w"]
    one_model = resolved('model_specs { label_key: "y" prediction_key: "p" }\n'
                         'metrics_specs { metrics { class_name: "AUC" } }')
    with pytest.raises(ConfigError, match="a baseline result was given, but no model spec has "
                                          "is_baseline: true"):
        one_model.with_baseline_metrics({})
    flips = resolved(TWO_MODELS + 'metrics_specs { metrics { class_name: "PosToNegFlipRate" } }')
    with pytest.raises(ConfigError, match="^evalbeam error: PosToNegFlipRate: flip rates compare "
                                          "each example's predictions with the baseline's"):
        flips.with_baseline_metrics({})
