"""ScoreDistributionPlot: TFMA's own expected output for its worked example, and exact counts
against numpy per slice through split batches."""
import numpy as np
import pyarrow as pa

from conftest import evaluate_in_process, plan, split_batches

CONFIG = ('metrics_specs { metrics { class_name: "ScoreDistributionPlot" '
          'config: \'"num_thresholds": %d\' } }\n')


def test_tfma_worked_example():
    # TFMA's score_distribution_plot_test: predictions 0, 0.5, 0.3, 0.9, unit weights,
    # num_thresholds 4 -> thresholds -1e-6, 0, 0.25, 0.5, 0.75, 1.
    t = pa.table({"label": [0, 1, 0, 1], "prediction": [0.0, 0.5, 0.3, 0.9], "weight": [1.0] * 4})
    plot = evaluate_in_process(plan(CONFIG % 4), t.to_batches())[1][()]["score_distribution_plot"]
    m = plot["confusion_matrix_at_thresholds"]
    np.testing.assert_allclose(m["threshold"], [-1e-6, 0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(m["true_positives"], [4, 3, 3, 1, 1, 0])
    np.testing.assert_array_equal(m["true_negatives"], [0, 1, 1, 3, 3, 4])
    for zero in ("false_positives", "false_negatives", "precision", "recall"):
        np.testing.assert_array_equal(m[zero], 0.0)
    np.testing.assert_allclose(m["false_positive_rate"], [1, 0.5652174, 0.5652174, 0.0434783,
                                                          0.0434783, 0], atol=1e-7)
    np.testing.assert_allclose(m["f1"], [0.5964912, 0.7234043, 0.7234043, 0.6666667, 0.6666667,
                                         0], atol=1e-7)
    np.testing.assert_allclose(m["accuracy"], [0.425, 0.675, 0.675, 0.775, 0.775, 0.575])
    np.testing.assert_allclose(m["false_omission_rate"], [np.nan, 0, 0, 0.2666667, 0.2666667,
                                                          0.425], atol=1e-7)
    d = plot["score_distribution"]
    # intervals (-inf,-1e-6] (-1e-6,0] (0,.25] (.25,.5] (.5,.75] (.75,1] (1,inf)
    np.testing.assert_array_equal(d["weighted_negatives"], [0, 1, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(d["weighted_positives"], [0, 0, 0, 1, 0, 1, 0])


def test_exact_counts_per_slice_through_split_batches(table):
    n = 40
    got = evaluate_in_process(
        plan(CONFIG % n + 'slicing_specs {} slicing_specs { feature_keys: ["country"] }'),
        split_batches(table, sizes_seed=3))[1]
    thresholds = np.array([-1e-6] + [i / n for i in range(n + 1)])
    edges = np.concatenate([[-np.inf], thresholds, [np.inf]])
    country = table.column("country").to_numpy(zero_copy_only=False)
    for key, rows in [((), np.ones(table.num_rows, bool))] + [
            ((("country", c),), country == c) for c in ("us", "de", "fr", "jp")]:
        y = table.column("label").to_numpy()[rows]
        p = table.column("prediction").to_numpy().astype(float)[rows]
        w = table.column("weight").to_numpy()[rows]
        plot = got[key]["score_distribution_plot"]
        m = plot["confusion_matrix_at_thresholds"]
        above = np.array([w[p > t].sum() for t in thresholds])
        np.testing.assert_allclose(m["true_positives"], above, rtol=1e-12)
        np.testing.assert_allclose(m["true_negatives"], w.sum() - above, rtol=1e-12, atol=1e-9)
        # the fractional matrix: each prediction counts p of its weight as a positive
        tp = np.array([(w * p)[p > t].sum() for t in thresholds])
        fn = (w * p).sum() - tp
        fp, tn = above - tp, (w.sum() - above) - fn
        np.testing.assert_allclose(m["accuracy"], (tp + tn) / w.sum(), rtol=1e-12)
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(m["false_positive_rate"], fp / (fp + tn), rtol=1e-9)
        inside = [(p > lo) & (p <= hi) for lo, hi in zip(edges[:-1], edges[1:])]
        d = plot["score_distribution"]
        np.testing.assert_allclose(d["weighted_positives"],
                                   [w[i & (y == 1)].sum() for i in inside], rtol=1e-12)
        np.testing.assert_allclose(d["weighted_negatives"],
                                   [w[i & (y == 0)].sum() for i in inside], rtol=1e-12, atol=1e-12)
