"""L-infinity and Jensen-Shannon against hand computations (and scipy), TFDV's histogram
alignment (re-bucketing, point masses, infinite and NaN mass), thresholds and their
precedence, a feature the baseline lacks."""
import math

import numpy as np
import pytest
from google.protobuf import text_format
from scipy.spatial.distance import jensenshannon
from stats_builder import FNS, dataset, histogram, numeric_feature, string_feature
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from evalbeam.data_quality.drift import (JSD, L_INFTY, align_histograms, check_threshold, drift,
                                         jensen_shannon_divergence,
                                         jensen_shannon_divergence_counts, linf_distance)
from evalbeam.data_quality.stats_view import DatasetView

A = anomalies_pb2.AnomalyInfo
M = anomalies_pb2.DriftSkewInfo.Measurement


def js_by_hand(p, q):
    p, q = np.asarray(p, float) / np.sum(p), np.asarray(q, float) / np.sum(q)
    m = (p + q) / 2
    kl = lambda a: sum(ai * math.log2(ai / mi) for ai, mi in zip(a, m) if ai > 0)  # noqa: E731
    return (kl(p) + kl(q)) / 2


# -- L-infinity -------------------------------------------------------------------------------
def test_linf_by_hand():
    # shares (a, b, c): (3/4, 1/4, 0) against (1/4, 1/4, 1/2): |diff| = (1/2, 0, 1/2); TFDV
    # reports the last value in sorted order among ties.
    assert linf_distance({"a": 3, "b": 1}, {"a": 1, "b": 1, "c": 2}) == ("c", 0.5)
    assert linf_distance({"x": 5}, {"x": 2}) == ("x", 0.0)
    value, distance = linf_distance({"us": 60, "de": 30, "fr": 10}, {"us": 50, "de": 50})
    assert value == "de" and distance == pytest.approx(0.2)


# -- Jensen-Shannon ---------------------------------------------------------------------------
def test_js_same_boundaries_by_hand_and_scipy():
    h1 = histogram([(0, 1, 10), (1, 2, 30), (2, 3, 60)])
    h2 = histogram([(0, 1, 25), (1, 2, 25), (2, 3, 50)])
    expected = js_by_hand([10, 30, 60], [25, 25, 50])
    assert jensen_shannon_divergence(h1, h2) == pytest.approx(expected, rel=1e-12)
    # TFDV's value is the divergence in bits: the square of scipy's base-2 distance.
    p, q = np.array([10, 30, 60]) / 100, np.array([25, 25, 50]) / 100
    assert jensen_shannon_divergence(h1, h2) == pytest.approx(jensenshannon(p, q, base=2) ** 2,
                                                              rel=1e-12)
    assert jensen_shannon_divergence(h1, h1) == 0.0


def test_js_rebuckets_onto_the_union_of_boundaries():
    # [0, 2): 4 spread uniformly over [0, 1) and [1, 2): 2 and 2, against 1 and 3.
    h1 = histogram([(0, 2, 4)])
    h2 = histogram([(0, 1, 1), (1, 2, 3)])
    p, q = align_histograms(h1, h2)
    np.testing.assert_allclose(p, [2, 2])
    np.testing.assert_allclose(q, [1, 3])
    assert jensen_shannon_divergence(h1, h2) == pytest.approx(js_by_hand([2, 2], [1, 3]))
    # partly overlapping ranges: [0, 4) against [2, 6) -> buckets [0,2) [2,4) [4,6)
    p, q = align_histograms(histogram([(0, 4, 8)]), histogram([(2, 6, 4)]))
    np.testing.assert_allclose(p, [4, 4, 0])
    np.testing.assert_allclose(q, [0, 2, 2])


def test_js_point_masses_are_shared_buckets():
    p, q = align_histograms(histogram([(0, 1, 2), (5, 5, 3)]), histogram([(0, 1, 2), (7, 7, 1)]))
    np.testing.assert_allclose(p, [2, 3, 0])  # [0,1), point 5, point 7
    np.testing.assert_allclose(q, [2, 0, 1])


def test_js_infinite_and_nan_mass_are_buckets_both_sides_share():
    # (TFDV gives each side buckets of its own for them, so identical histograms would differ)
    h = histogram([(0, 1, 2)], num_nan=2)
    p, q = align_histograms(h, h)
    np.testing.assert_allclose(p, [2, 2])
    np.testing.assert_allclose(q, [2, 2])
    assert jensen_shannon_divergence(h, h) == 0.0
    assert jensen_shannon_divergence(h, histogram([(0, 1, 2)])) == pytest.approx(
        js_by_hand([2, 2], [2, 0]))
    inf = histogram([(-math.inf, 0, 1), (0, 1, 3)])
    p, q = align_histograms(inf, inf)
    np.testing.assert_allclose(p, [3, 1])
    np.testing.assert_allclose(q, [3, 1])
    assert jensen_shannon_divergence(inf, inf) == 0.0
    other = histogram([(0, 1, 3), (1, math.inf, 3)])
    np.testing.assert_allclose(align_histograms(inf, other)[1], [3, 3])
    assert jensen_shannon_divergence(inf, other) == pytest.approx(js_by_hand([3, 1], [3, 3]))


def test_js_disjoint_is_one_and_empty_is_no_value():
    assert jensen_shannon_divergence(histogram([(0, 1, 5)]), histogram([(1, 2, 5)])) == 1.0
    with pytest.raises(ValueError, match="empty histogram"):
        jensen_shannon_divergence(histogram([(0, 1, 0)]), histogram([(0, 1, 5)]))


def test_js_of_value_counts():
    a, b = {"x": 1, "y": 3}, {"y": 2, "z": 2}
    assert jensen_shannon_divergence_counts(a, b) == pytest.approx(js_by_hand([1, 3, 0],
                                                                              [0, 2, 2]))


@pytest.mark.parametrize("h1, h2, expected", [
    # TFDV's own worked examples (anomalies/metrics_test.cc)
    ([(1, 2, 2), (2, 3, 2)], [(2, 4, 2), (4, 6, 2)], 0.65563906222),  # different boundaries
    ([(0, 1, 2), (1, 2, 2)], [(3, 4, 2), (4, 6, 2)], 1.0),  # no overlap
    ([(1, 1, 4)], [(2, 4, 2), (4, 6, 2)], 1.0),  # a point mass against buckets
    ([(1, 1, 4)], [(2, 2, 4)], 1.0),  # two point masses
    ([(10, 10, 21)], [(0, 4, 150), (4, 12, 200), (12, 20, 20)], 1.0),
])
def test_js_tfdv_examples(h1, h2, expected):
    assert jensen_shannon_divergence(histogram(h1), histogram(h2)) == pytest.approx(expected,
                                                                                      abs=1e-9)


def test_js_tfdv_example_with_nans():
    # metrics_test.cc WithNaNs: 1 NaN and 3 in [1, 2) against 4 in [1, 2)
    got = jensen_shannon_divergence(histogram([(1, 2, 3)], num_nan=1), histogram([(1, 2, 4)]))
    assert got == pytest.approx(0.13792538096, abs=1e-9)


def test_linf_tfdv_examples():
    # metrics_test.cc LInftyDistanceTest
    assert linf_distance({}, {})[1] == 0.0
    assert linf_distance({"hello": 0.1, "world": 0.9},
                         {"hello": 0.3, "world": 0.7})[1] == pytest.approx(0.2)
    assert linf_distance({"b": 0.9, "c": 0.1}, {"a": 0.3, "b": 0.7})[1] == pytest.approx(0.3)
    assert linf_distance({"a": 0.3, "b": 0.7}, {"b": 0.9, "c": 0.1})[1] == pytest.approx(0.3)


# -- per feature: thresholds, findings, a missing baseline feature ----------------------------
def slice_stats(shift=0.0, n=1000, seed=0, countries=("us", "de", "fr"), p=(0.5, 0.3, 0.2)):
    rng = np.random.default_rng(seed)
    return dataset("All Examples", n,
                   string_feature("country", list(rng.choice(countries, n, p=p))),
                   numeric_feature("age", list(rng.normal(40 + shift, 10, n)),
                                   np.linspace(0, 100, 11)))


def measurements(infos):
    return {(".".join(i.path.step), M.Type.Name(m.type)): (m.value, m.threshold)
            for i in infos for m in i.drift_measurements}


def test_every_measured_feature_is_reported_passing_or_not():
    current, base = slice_stats(seed=1), slice_stats(seed=2)
    infos, findings, notes = drift(current, base)
    got = measurements(infos)
    assert set(got) == {("country", L_INFTY), ("age", JSD)}
    assert all(t == math.inf for _, t in got.values())  # no threshold: reported, never failing
    assert not findings and not notes
    # the values are the measures of the two slices' statistics
    counts = lambda d: {b.label: b.sample_count  # noqa: E731
                        for b in d.features[0].string_stats.rank_histogram.buckets}
    assert got[("country", L_INFTY)][0] == linf_distance(counts(current), counts(base))[1]
    h = lambda d: d.features[1].num_stats.histograms[0]  # noqa: E731
    assert got[("age", JSD)][0] == jensen_shannon_divergence(h(current), h(base))


def test_drift_beyond_its_threshold_is_tfdv_anomaly():
    current = slice_stats(shift=15, p=(0.2, 0.3, 0.5))
    infos, findings, _ = drift(DatasetView(current), slice_stats(seed=3), None,
                               {"country": 0.1, "age": 0.05})
    by_type = {A.Type.Name(f.type): f for f in findings}
    linf = by_type["COMPARATOR_L_INFTY_HIGH"]
    assert linf.short_description == "High Linfty distance between current and previous"
    assert linf.description.startswith("The Linfty distance between current and previous is ")
    counts = lambda d: {b.label: b.sample_count  # noqa: E731
                        for b in d.features[0].string_stats.rank_histogram.buckets}
    where, value = linf_distance(counts(current), counts(slice_stats(seed=3)))
    assert linf.description == (f"The Linfty distance between current and previous is "
                                f"{value:.6g} (up to six significant digits), above the "
                                f"threshold 0.1. The feature value with maximum difference is: "
                                f"{where}")
    assert linf.message == (f"country: L-infinity distance {value:.6g} from the baseline (largest "
                            f"change in the share of {where!r}), above the threshold 0.1")
    assert linf.measure == L_INFTY and linf.threshold == 0.1 and linf.value > 0.1
    js = by_type["COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"]
    assert js.short_description == ("High approximate Jensen-Shannon divergence between current "
                                    "and previous")
    assert js.description.endswith("above the threshold 0.05.")
    assert js.message.startswith("age: Jensen-Shannon divergence ")
    assert measurements(infos)[("age", JSD)][1] == 0.05


SCHEMA = """
feature { name: "country" type: BYTES drift_comparator { infinity_norm { threshold: 0.3 } } }
feature { name: "age" type: FLOAT drift_comparator { jensen_shannon_divergence { threshold: 0.2 }
                                                     infinity_norm { threshold: 0.4 } } }
"""


def test_threshold_precedence_config_schema_default():
    schema = text_format.Parse(SCHEMA, schema_pb2.Schema())
    view, base = DatasetView(slice_stats(seed=1)), slice_stats(seed=2)
    got = measurements(drift(view, base, schema)[0])
    # the schema's comparators, each measured (TFDV computes both for age; L-infinity of a
    # numeric feature has no value counts: not measured)
    assert got[("country", L_INFTY)][1] == pytest.approx(0.3)
    assert got[("age", JSD)][1] == pytest.approx(0.2)
    assert ("age", L_INFTY) not in got
    # the config wins over the schema; the default applies where neither names a threshold
    got = measurements(drift(view, base, schema, {"age": 0.01}, 0.7)[0])
    assert got[("age", JSD)][1] == 0.01 and got[("country", L_INFTY)][1] == pytest.approx(0.3)
    got = measurements(drift(view, base, None, {"age": 0.01}, 0.7)[0])
    assert got[("country", L_INFTY)][1] == 0.7


def test_feature_missing_from_the_baseline():
    view = DatasetView(slice_stats())
    base = dataset("All Examples", 10, numeric_feature("age", [40.0] * 10, np.linspace(0, 100, 11)))
    infos, findings, notes = drift(view, base)  # no threshold: said, not invented
    assert [(n.feature, n.reason) for n in notes] == [("country",
                                                       "not in the baseline's statistics")]
    assert set(measurements(infos)) == {("age", JSD)}
    _, findings, _ = drift(view, base, None, {}, 0.1)  # with a threshold: TFDV's anomaly
    [f] = [f for f in findings if f.feature == "country"]
    assert (A.Type.Name(f.type), f.short_description, f.description) == (
        "COMPARATOR_CONTROL_DATA_MISSING", "previous data missing", "previous data is missing.")


def test_categorical_int_without_value_counts_is_not_measured():
    schema = text_format.Parse('feature { name: "code" type: INT int_domain { is_categorical: '
                               'true } }', schema_pb2.Schema())
    d = dataset("All Examples", 4, numeric_feature("code", [1, 2, 2, 3], [0, 4], type=FNS.INT))
    infos, findings, notes = drift(DatasetView(d), d, schema)
    assert not infos and [n.feature for n in notes] == ["code"]
    assert "value counts" in notes[0].reason
    # with string statistics (TFDV's for a categorical int) it is L-infinity
    coded = string_feature("code", ["1", "2", "2", "3"])
    coded.type = FNS.INT
    d = dataset("All Examples", 4, coded)
    assert set(measurements(drift(DatasetView(d), d, schema)[0])) == {("code", L_INFTY)}


def test_weighted_value_counts():
    weights = [1.0, 1.0, 10.0]
    current = dataset("s", 3, string_feature("c", ["a", "a", "b"], weights=weights),
                      weighted_num_examples=12.0)
    base = dataset("s", 3, string_feature("c", ["a", "b", "b"], weights=[1.0, 1.0, 1.0]),
                   weighted_num_examples=3.0)
    got = measurements(drift(DatasetView(current), base)[0])
    # by weight: a 2/12, b 10/12 against a 1/3, b 2/3 -> 1/6
    assert got[("c", L_INFTY)][0] == pytest.approx(1 / 6)


def test_weighted_slice_against_an_unweighted_baseline_reads_both_unweighted():
    current = dataset("s", 3, string_feature("c", ["a", "a", "b"], weights=[1.0, 1.0, 10.0]),
                      weighted_num_examples=12.0)
    base = dataset("s", 3, string_feature("c", ["a", "b", "b"]))
    got = measurements(drift(current, base)[0])
    assert got[("c", L_INFTY)][0] == pytest.approx(1 / 3)  # 2/3 - 1/3


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "x"])
def test_threshold_must_be_a_finite_number(bad):
    with pytest.raises(ValueError, match="drift threshold age"):
        check_threshold("age", bad)


def test_drift_of_numpy_data_against_pandas_and_scipy():
    import pandas as pd

    rng = np.random.default_rng(7)
    a_country, b_country = rng.choice(list("abcd"), 500), rng.choice(list("abce"), 800)
    a_age, b_age = rng.normal(40, 10, 500), rng.normal(43, 12, 800)
    edges = np.linspace(-20, 100, 13)

    def stats(country, age):
        return dataset("All Examples", len(age), string_feature("country", list(country)),
                       numeric_feature("age", list(age), edges))

    got = measurements(drift(stats(a_country, a_age), stats(b_country, b_age))[0])
    shares = pd.concat([pd.Series(a_country).value_counts(normalize=True),
                        pd.Series(b_country).value_counts(normalize=True)], axis=1,
                       keys=["a", "b"]).fillna(0)
    assert got[("country", L_INFTY)][0] == pytest.approx((shares.a - shares.b).abs().max(),
                                                         rel=1e-12)
    p, q = np.histogram(a_age, edges)[0], np.histogram(b_age, edges)[0]
    expected = jensenshannon(p / p.sum(), q / q.sum(), base=2) ** 2
    assert got[("age", JSD)][0] == pytest.approx(expected, rel=1e-9)
