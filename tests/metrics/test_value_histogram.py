"""The range plots (PredictedVsTrue, ResidualHistogram, CalibrationPlot over [0, 1] or another
range) against worked examples and against numpy buckets on random data split into batches."""
import math

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, evaluate_in_process, plan, split_batches
from evalbeam import run_evaluation
from evalbeam.errors import ConfigError, InputError

# Predictions below, inside and above [0, 10); labels far outside [0, 1].
SMALL = pa.table({"label": [0.0, 1.0, 3.0, 2.0, 8.0, 9.0, 11.0],
                  "prediction": [-1.0, 0.5, 1.9, 2.5, 7.3, 10.0, 12.0],
                  "weight": [1.0, 2.0, 1.0, 1.0, 3.0, 1.0, 2.0]})


def _plots(metrics, batches, slicing=""):
    return evaluate_in_process(plan("metrics_specs { %s }\n%s" % (metrics, slicing)), batches)[1]


def test_predicted_vs_true_worked_example():
    got = _plots('metrics { class_name: "PredictedVsTrue" config: \'"num_buckets": 5, '
                 '"min_value": 0, "max_value": 10\' }', SMALL.to_batches())
    b = got[()]["predicted_vs_true"]["predicted_vs_true"]
    # (-inf,0) [0,2) [2,4) [4,6) [6,8) [8,10) [10,inf)
    np.testing.assert_array_equal(b["lower_threshold_inclusive"], [-np.inf, 0, 2, 4, 6, 8, 10])
    np.testing.assert_array_equal(b["upper_threshold_exclusive"], [0, 2, 4, 6, 8, 10, np.inf])
    np.testing.assert_allclose(b["num_weighted_examples"], [1, 3, 1, 0, 3, 0, 3])
    want_p = [-1, (2 * 0.5 + 1.9) / 3, 2.5, math.nan, 7.3, math.nan, (10 + 2 * 12) / 3]
    want_y = [0, (2 * 1 + 3) / 3, 2, math.nan, 8, math.nan, (9 + 2 * 11) / 3]
    np.testing.assert_allclose(b["mean_prediction"], want_p, rtol=1e-12)
    np.testing.assert_allclose(b["mean_label"], want_y, rtol=1e-12)


def test_residual_histogram_worked_example():
    # residuals label - prediction: 1, 0.5, 1.1, -0.5, 0.7, -1, -1
    got = _plots('metrics { class_name: "ResidualHistogram" config: \'"num_buckets": 4\' }',
                 SMALL.to_batches())
    b = got[()]["residual_histogram"]["residual_histogram"]
    np.testing.assert_array_equal(b["lower_threshold_inclusive"], [-np.inf, -1, -0.5, 0, 0.5, 1])
    # [-1,-0.5): -1 (w1), -1 (w2); [-0.5,0): -0.5 (w1); [0.5,1): 0.5 (w2), 0.7 (w3); [1,inf): 1, 1.1
    np.testing.assert_allclose(b["num_weighted_examples"], [0, 3, 1, 0, 5, 2])


def test_calibration_plot_over_a_regression_range_takes_tfma_keys_and_any_labels():
    got = _plots('metrics { class_name: "CalibrationPlot" config: \'"num_buckets": 5, '
                 '"left": 0, "right": 10\' }', SMALL.to_batches())
    b = got[()]["calibration_plot"]["calibration_histogram_buckets"]
    np.testing.assert_allclose(b["num_weighted_examples"], [1, 3, 1, 0, 3, 0, 3])
    np.testing.assert_allclose(b["total_weighted_label"], [0, 5, 2, 0, 24, 0, 31])
    np.testing.assert_allclose(b["total_weighted_refined_prediction"], [-1, 2.9, 2.5, 0, 21.9, 0, 34])
    same = _plots('metrics { class_name: "CalibrationPlot" config: \'"num_buckets": 5, '
                  '"min_value": 0, "max_value": 10\' }', SMALL.to_batches())
    for field, values in same[()]["calibration_plot"]["calibration_histogram_buckets"].items():
        np.testing.assert_array_equal(values, b[field])
    with pytest.raises(InputError, match="not 0 or 1"):  # over [0, 1] it is TFMA's binary plot
        _plots('metrics { class_name: "CalibrationPlot" }', SMALL.to_batches())


@pytest.mark.parametrize("config, match", [
    ('"left": 0, "min_value": 0', "only one of 'min_value' and 'left'"),
    ('"min_value": 2, "max_value": 1', "min_value < max_value"),
    ('"num_buckets": 0', "num_buckets"),
])
def test_bad_ranges_are_config_errors(config, match):
    with pytest.raises(ConfigError, match=match):
        plan('metrics_specs { metrics { class_name: "CalibrationPlot" config: \'%s\' } }' % config)


def regression_table(n=4000, seed=3):
    rng = np.random.default_rng(seed)
    y = rng.normal(5, 2, n)
    return pa.table({"label": y, "prediction": y + rng.normal(0.3, 1.0, n),
                     "weight": rng.choice([0.0, 0.5, 1.0, 2.0], n),
                     "country": rng.choice(["us", "de", "fr"], n)})


def numpy_buckets(v, low, high, n):
    """Bucket 0 below the range, 1..n inside (equal width), n + 1 at or above its end."""
    return np.searchsorted(low + np.arange(n + 1) * (high - low) / n, v, side="right")


def test_regression_plots_match_numpy_per_slice_through_split_batches():
    t = regression_table()
    body = ('metrics { class_name: "PredictedVsTrue" config: \'"min_value": 1, "max_value": 9\' }'
            ' metrics { class_name: "ResidualHistogram" config: \'"min_value": -3, "max_value": 2\' }'
            ' metrics { class_name: "CalibrationPlot" config: \'"left": 1, "right": 9, '
            '"num_buckets": 100\' }')
    got = _plots(body, split_batches(t, sizes_seed=11),
                 'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    country = t.column("country").to_numpy(zero_copy_only=False)
    for key, rows in [((), slice(None))] + [((("country", c),), country == c)
                                             for c in ("us", "de", "fr")]:
        y, p, w = (t.column(c).to_numpy()[rows] for c in ("label", "prediction", "weight"))
        b = numpy_buckets(p, 1.0, 9.0, 100)
        count = np.bincount(b, weights=w, minlength=102)
        with np.errstate(invalid="ignore"):
            mean_p = np.bincount(b, weights=w * p, minlength=102) / count
            mean_y = np.bincount(b, weights=w * y, minlength=102) / count
        pvt = got[key]["predicted_vs_true"]["predicted_vs_true"]
        np.testing.assert_allclose(pvt["num_weighted_examples"], count, rtol=1e-12)
        np.testing.assert_allclose(pvt["mean_prediction"], mean_p, rtol=1e-12)
        np.testing.assert_allclose(pvt["mean_label"], mean_y, rtol=1e-12)
        cal = got[key]["calibration_plot"]["calibration_histogram_buckets"]
        np.testing.assert_allclose(cal["num_weighted_examples"], count, rtol=1e-12)
        np.testing.assert_allclose(cal["total_weighted_label"],
                                   np.bincount(b, weights=w * y, minlength=102), rtol=1e-12)
        residual = got[key]["residual_histogram"]["residual_histogram"]
        np.testing.assert_allclose(
            residual["num_weighted_examples"],
            np.bincount(numpy_buckets(y - p, -3.0, 2.0, 100), weights=w, minlength=102),
            rtol=1e-12)


def test_regression_plots_written_and_read_back(tmp_path):
    t = SMALL.append_column("country", pa.array(["us"] * SMALL.num_rows))
    body = BASE + ('metrics_specs { metrics { class_name: "PredictedVsTrue" config: '
                   '\'"num_buckets": 5, "min_value": 0, "max_value": 10\' }'
                   ' metrics { class_name: "ResidualHistogram" config: \'"num_buckets": 4\' }'
                   ' metrics { class_name: "CalibrationPlot" config: \'"num_buckets": 5, '
                   '"left": 0, "right": 10\' } }')
    result = run_evaluation(body, t, str(tmp_path / "out"))
    np.testing.assert_allclose(result.predicted_vs_true()["num_weighted_examples"],
                               [1, 3, 1, 0, 3, 0, 3])
    assert np.isnan(result.predicted_vs_true()["mean_label"][3])
    np.testing.assert_allclose(result.residual_histogram()["num_weighted_examples"],
                               [0, 3, 1, 0, 5, 2])
    np.testing.assert_allclose(result.calibration()["total_weighted_label"],
                               [0, 5, 2, 0, 24, 0, 31])


def test_calibration_plot_buckets_worked_example():
    # [0, 0.001) holds 0.0005; [0.5, 0.501) holds 0.5 and 0.5004; [1, inf) holds 1.0.
    t = pa.table({"label": [0, 1, 0, 1], "prediction": [0.0005, 0.5, 0.5004, 1.0],
                  "weight": [1.0, 2.0, 3.0, 4.0]})
    _, plots, _ = evaluate_in_process(
        plan('metrics_specs { metrics { class_name: "CalibrationPlot" } }'), t.to_batches())
    b = plots[()]["calibration_plot"]["calibration_histogram_buckets"]
    assert len(b["num_weighted_examples"]) == 1002
    assert (b["lower_threshold_inclusive"][1], b["upper_threshold_exclusive"][1]) == (0.0, 0.001)
    assert b["num_weighted_examples"][1] == 1.0 and b["total_weighted_label"][1] == 0.0
    assert b["num_weighted_examples"][501] == 5.0 and b["total_weighted_label"][501] == 2.0
    assert b["total_weighted_refined_prediction"][501] == pytest.approx(2 * 0.5 + 3 * 0.5004)
    assert b["lower_threshold_inclusive"][1001] == 1.0 and b["num_weighted_examples"][1001] == 4.0
    assert b["num_weighted_examples"].sum() == 10.0

