"""GainCurve and LiftCurve: worked examples (with ties inside a histogram bucket) and a
reference from sorted examples, per slice, through split batches."""
import numpy as np
import pyarrow as pa
import pytest

from conftest import evaluate_in_process, plan, split_batches

BOTH = ('metrics_specs { metrics { class_name: "GainCurve" config: \'"num_points": %d\' }'
        ' metrics { class_name: "LiftCurve" config: \'"num_points": %d\' } }\n')


def _curves(t, points, batches=None, slicing=""):
    plots = evaluate_in_process(plan(BOTH % (points, points) + slicing),
                                batches or t.to_batches())[1]
    return {key: (p["gain_curve"]["gain_curve"], p["lift_curve"]["lift_curve"])
            for key, p in plots.items()}


def test_worked_example():
    # Sorted by prediction: 0.9 (+), 0.8 (-), 0.7 (+), 0.6 (-), 0.2 (+); unit weights.
    t = pa.table({"label": [1, 1, 1, 0, 0], "prediction": [0.7, 0.2, 0.9, 0.8, 0.6],
                  "weight": [1.0] * 5})
    gain, lift = _curves(t, 5)[()]
    np.testing.assert_allclose(gain["population_fraction"], [0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(gain["gain"], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1], rtol=1e-12)
    np.testing.assert_allclose(lift["lift"], [5 / 3, 5 / 6, 10 / 9, 5 / 6, 1], rtol=1e-12)


def test_ties_in_a_bucket_count_their_positives_in_proportion():
    # 0.5 and 0.50004 share a bucket holding weight 3 of which 1 positive; then two negatives.
    t = pa.table({"label": [1, 0, 0, 0], "prediction": [0.5, 0.50004, 0.1, 0.2],
                  "weight": [1.0, 2.0, 1.0, 1.0]})
    gain, lift = _curves(t, 5)[()]
    # fraction 0.2 = weight 1 of the 3 in the top bucket: 1/3 of its positive weight
    np.testing.assert_allclose(gain["gain"], [1 / 3, 2 / 3, 1, 1, 1], rtol=1e-12)
    np.testing.assert_allclose(lift["lift"], [5 / 3, 5 / 3, 5 / 3, 1.25, 1], rtol=1e-12)


def test_no_positives_is_nan():
    t = pa.table({"label": [0, 0], "prediction": [0.3, 0.6], "weight": [1.0, 1.0]})
    gain, lift = _curves(t, 4)[()]
    assert np.isnan(gain["gain"]).all() and np.isnan(lift["lift"]).all()


def reference_gain(y, p, fractions):
    """Unit weights, distinct predictions: positives among the top q*n examples (the example
    the cut goes through counts in proportion)."""
    order = np.argsort(-p)
    found = np.concatenate([[0.0], np.cumsum(y[order])])
    cut = fractions * len(y)
    whole = np.floor(cut).astype(int)
    partial = np.where(whole < len(y), found[np.minimum(whole + 1, len(y))] - found[whole], 0.0)
    return (found[whole] + (cut - whole) * partial) / y.sum()


def test_matches_sorted_examples_per_slice_through_split_batches():
    rng = np.random.default_rng(9)
    n = 3000
    # distinct predictions on the histogram's grid: no two examples tie
    p = (rng.choice(10000, n, replace=False) + 0.5) / 10000
    y = (rng.random(n) < p).astype(np.int64)
    country = rng.choice(["us", "de", "fr"], n)
    t = pa.table({"label": y, "prediction": p, "weight": np.ones(n), "country": country})
    got = _curves(t, 50, split_batches(t, sizes_seed=2),
                  'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    fractions = np.arange(1, 51) / 50
    for key, rows in [((), np.ones(n, bool))] + [((("country", c),), country == c)
                                                 for c in ("us", "de", "fr")]:
        gain, lift = got[key]
        want = reference_gain(y[rows], p[rows], fractions)
        np.testing.assert_allclose(gain["gain"], want, rtol=1e-9, err_msg=str(key))
        np.testing.assert_allclose(lift["lift"], want / fractions, rtol=1e-9, err_msg=str(key))


def test_num_points_must_be_positive():
    from evalbeam.errors import ConfigError

    with pytest.raises(ConfigError, match="num_points"):
        plan('metrics_specs { metrics { class_name: "GainCurve" config: \'"num_points": 0\' } }')
