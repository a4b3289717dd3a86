"""The metrics_specs: default names and weighting, metric configs checked, a repeated metric
computed once."""
import pytest

from config_text import BASE, assert_one_line_error, plan
from evalbeam.errors import ConfigError


def test_default_names_and_weighting_follow_tfma():
    p = plan('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "WeightedExampleCount" } '
             'metrics { class_name: "BinaryCrossentropy" } }')
    assert [m.key.name for m in p.metrics] == ["auc", "weighted_example_count", "binary_crossentropy"]
    assert not any(m.key.example_weighted for m in p.metrics)  # no weight column: unweighted
    p = plan('metrics_specs { metrics { class_name: "AUC" } }', 'example_weight_key: "w"')
    assert [m.key.example_weighted for m in p.metrics] == [True]
    p = plan('metrics_specs { metrics { class_name: "AUC" } example_weights { weighted: true unweighted: true } }',
             'example_weight_key: "w"')
    assert sorted(m.key.example_weighted for m in p.metrics) == [False, True]


@pytest.mark.parametrize("text, match", [
    ('metrics_specs { metrics { class_name: "AUC" config: \'"num_threshold": 10\' } }',
     r"unknown config key\(s\) \['num_threshold'\]; AUC takes"),
    ('metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": \' } }',
     "config is not valid JSON"),
    ('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "AUC" } }',
     "configured twice"),
    ('metrics_specs { model_names: "candidate" metrics { class_name: "AUC" } }',
     r"model_names \['candidate'\] match no model spec"),
    ('', "no metrics configured"),
])
def test_metric_config_mistakes_are_one_line_config_errors(text, match):
    assert_one_line_error(text, match)


def test_the_same_metric_under_two_aggregates_is_accepted(tmp_path):
    import numpy as np
    import pyarrow as pa
    from evalbeam import run_evaluation

    # 3 classes; class c is predicted where its score is the highest (> 0.5 here)
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    scores = np.array([[.8, .1, .1], [.2, .7, .1], [.1, .8, .1], [.6, .3, .1],
                       [.1, .1, .8], [.1, .2, .7], [.7, .2, .1], [.2, .2, .6]])
    classes = "binarize { class_ids { values: [0, 1, 2] } }"
    text = (BASE % "" + 'metrics_specs { metrics { class_name: "Precision" } '
            'metrics { class_name: "ExampleCount" } %s aggregate { macro_average: true } }\n'
            'metrics_specs { metrics { class_name: "Precision" } '
            'metrics { class_name: "ExampleCount" } %s aggregate { micro_average: true } }'
            % (classes, classes))
    result = run_evaluation(text, pa.table({"y": y, "p": list(scores)}), str(tmp_path / "o"))
    got = {(k.name, k.sub_key.class_id if k.sub_key else None, k.aggregation_type): v
           for k, v in result.metrics[()].items()}
    predicted = scores > 0.5
    tp = np.array([(predicted[:, c] & (y == c)).sum() for c in range(3)])
    pp = predicted.sum(axis=0)
    for c in range(3):
        assert got[("precision", c, None)] == pytest.approx(tp[c] / pp[c])
    assert got[("precision", None, "macro_average")] == pytest.approx(np.mean(tp / pp))
    assert got[("precision", None, "micro_average")] == pytest.approx(tp.sum() / pp.sum())
    assert got[("example_count", None, None)] == 8
    with pytest.raises(ConfigError, match="configured twice"):  # a different AUC, same key
        plan('metrics_specs { metrics { class_name: "AUC" } }\n'
             'metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": 10\' } }')
