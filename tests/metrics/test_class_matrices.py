"""Multi-class and multi-label confusion matrices against worked examples and scikit-learn, per
slice, and through the artifacts."""
import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from test_classes import BASE, K, key, make_table, run


def test_multi_class_confusion_matrix_by_hand():
    # three classes; thresholds 0 and 0.5: the top score must exceed the threshold
    label = [0, 1, 2, 2, 1]
    scores = [[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1], [0.2, 0.6, 0.2]]
    weight = [1.0, 2.0, 1.0, 3.0, 1.0]
    table = pa.table({"label": label, "scores": scores, "weight": weight})
    body = ('metrics_specs { metrics { class_name: "MultiClassConfusionMatrixPlot" '
            'config: \'"thresholds": [0.0, 0.5]\' } '
            'metrics { class_name: "MultiClassConfusionMatrixAtThresholds" } }')
    overall = run(body, table)[()]
    plot = overall[key("multi_class_confusion_matrix_plot")]["multi_class_confusion_matrix_at_thresholds"]
    rows = sorted(zip(plot["threshold"].tolist(), plot["actual_class_id"].tolist(),
                      plot["predicted_class_id"].tolist(), plot["num_weighted_examples"].tolist()))
    assert rows == [
        (0.0, 0, 0, 1.0), (0.0, 1, 1, 3.0), (0.0, 2, 0, 3.0), (0.0, 2, 2, 1.0),
        # at 0.5: the 0.4 and the 0.5 top scores are no prediction (-1)
        (0.5, 0, 0, 1.0), (0.5, 1, -1, 2.0), (0.5, 1, 1, 1.0), (0.5, 2, -1, 3.0), (0.5, 2, 2, 1.0)]
    metric = overall[key("multi_class_confusion_matrix_at_thresholds")][
        "multi_class_confusion_matrix_at_thresholds"]
    assert set(metric["threshold"].tolist()) == {0.5}
    assert metric["num_weighted_examples"].sum() == pytest.approx(8.0)


def test_multi_class_confusion_matrix_matches_scikit_learn_per_slice():
    table, y, p, w = make_table()
    body = 'metrics_specs { metrics { class_name: "MultiClassConfusionMatrixPlot" } }'
    by_slice = run(body, table)
    country = table.column("country").to_numpy(zero_copy_only=False)
    for slice_key, values in by_slice.items():
        rows = np.ones(len(y), bool) if not slice_key else country == slice_key[0][1]
        plot = values[key("multi_class_confusion_matrix_plot")]["multi_class_confusion_matrix_at_thresholds"]
        got = np.zeros((K, K))
        got[plot["actual_class_id"], plot["predicted_class_id"]] = plot["num_weighted_examples"]
        expected = skm.confusion_matrix(y[rows], p[rows].argmax(axis=1), labels=range(K),
                                        sample_weight=w[rows])
        np.testing.assert_allclose(got, expected, atol=1e-9)


def test_multi_label_confusion_matrix_by_hand():
    label = [[1, 0, 1], [0, 1, 0]]
    scores = [[0.9, 0.6, 0.2], [0.7, 0.3, 0.1]]
    table = pa.table({"label": label, "scores": scores, "weight": [2.0, 1.0]})
    body = 'metrics_specs { metrics { class_name: "MultiLabelConfusionMatrixPlot" } }'
    plot = run(body, table)[()][key("multi_label_confusion_matrix_plot")][
        "multi_label_confusion_matrix_at_thresholds"]
    got = {(a, p): (fn, tn, fp, tp) for a, p, fn, tn, fp, tp in zip(
        *(plot[f].tolist() for f in ("actual_class_id", "predicted_class_id", "false_negatives",
                                     "true_negatives", "false_positives", "true_positives")))}
    # example 1 (weight 2) is labelled 0 and 2, predicted positive for 0 and 1 (> 0.5)
    # example 2 (weight 1) is labelled 1, predicted positive for 0
    assert got == {
        (0, 0): (0, 0, 0, 2), (0, 1): (0, 0, 2, 0), (0, 2): (2, 0, 0, 0),
        (2, 0): (0, 0, 0, 2), (2, 1): (0, 0, 2, 0), (2, 2): (2, 0, 0, 0),
        (1, 0): (0, 0, 1, 0), (1, 1): (1, 0, 0, 0), (1, 2): (0, 1, 0, 0)}
    assert set(plot["threshold"].tolist()) == {0.5}


def test_class_matrices_round_trip_through_the_artifacts(tmp_path):
    from evalbeam.api import run_evaluation
    table, y, p, w = make_table(n=300)
    config = BASE + ('metrics_specs { metrics { class_name: "MultiClassConfusionMatrixPlot" } '
                     'metrics { class_name: "MultiClassConfusionMatrixAtThresholds" } '
                     'metrics { class_name: "SparseCategoricalAccuracy" } '
                     'metrics { class_name: "Recall" } binarize { class_ids { values: 1 } } '
                     'aggregate { macro_average: true } }')
    result = run_evaluation(config, table, str(tmp_path / "out"))
    computed = run(config[len(BASE):], table)[()]
    written = {**result.metrics[()], **result.plots[()]}
    for k, value in computed.items():
        if isinstance(value, dict):
            for kind, columns in value.items():
                for f, column in columns.items():
                    np.testing.assert_allclose(written[k][kind][f], column)
        else:
            assert written[k] == pytest.approx(value)

