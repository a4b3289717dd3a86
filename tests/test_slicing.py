"""Slicing rules: overall, feature_keys, crosses of occurring values, feature_values, list-valued
features, nulls, and min_slice_size."""
import pyarrow as pa

from conftest import evaluate_in_process, plan

COUNT = 'metrics_specs { metrics { class_name: "ExampleCount" } example_weights { unweighted: true } }\n'


def counts(table, slicing, extra=""):
    metrics, _, omitted = evaluate_in_process(plan(COUNT + slicing + extra), table.to_batches(max_chunksize=3))
    return {k: v["example_count/unweighted"] for k, v in metrics.items()}, omitted


def base(**columns):
    n = len(next(iter(columns.values())))
    return pa.table({"label": [1] * n, "prediction": [0.5] * n, "weight": [1.0] * n, **columns})


def test_keys_crosses_and_typed_values():
    t = base(country=["us", "us", "de", None, "de"], age=[20, 30, 20, 20, None])
    got, _ = counts(t, 'slicing_specs {} slicing_specs { feature_keys: ["country", "age"] }')
    assert got == {(): 5, (("age", 20), ("country", "us")): 1, (("age", 30), ("country", "us")): 1,
                   (("age", 20), ("country", "de")): 1}
    assert all(isinstance(dict(k).get("age", 0), int) for k in got)


def test_feature_values_filter_and_typing():
    t = base(country=["us", "us", "de", "fr"], age=[20, 30, 20, 5])
    got, _ = counts(t, 'slicing_specs { feature_values { key: "country" value: "us" } }')
    assert got == {(("country", "us"),): 2}
    got, _ = counts(t, 'slicing_specs { feature_keys: ["country"] feature_values { key: "age" value: "20" } }')
    assert got == {(("age", 20), ("country", "us")): 1, (("age", 20), ("country", "de")): 1}


def test_list_valued_feature_fans_out_to_each_distinct_value():
    t = base(tags=[["a", "b", "a"], [], None, ["b"], ["c", "a"]])
    got, _ = counts(t, 'slicing_specs { feature_keys: ["tags"] }')
    assert got == {(("tags", "a"),): 2, (("tags", "b"),): 2, (("tags", "c"),): 1}


def test_cross_of_list_and_scalar_features():
    t = base(tags=[["a", "b"], ["a"], None], d=["x", "y", "x"])
    got, _ = counts(t, 'slicing_specs { feature_keys: ["tags", "d"] }')
    assert got == {(("d", "x"), ("tags", "a")): 1, (("d", "x"), ("tags", "b")): 1,
                   (("d", "y"), ("tags", "a")): 1}


def test_min_slice_size_omits_small_slices_but_never_overall():
    t = base(country=["us"] * 5 + ["de"] * 2 + ["fr"])
    got, omitted = counts(t, 'slicing_specs {} slicing_specs { feature_keys: ["country"] }',
                          "options { min_slice_size { value: 3 } }")
    assert got == {(): 8, (("country", "us"),): 5}
    assert sorted(omitted) == [(("country", "de"),), (("country", "fr"),)]


def test_slice_in_one_batch_only_and_empty_slices():
    t1 = base(country=["us", "us"])
    t2 = base(country=["de"])
    metrics, _, _ = evaluate_in_process(
        plan(COUNT + 'slicing_specs { feature_keys: ["country"] }'),
        [t1.to_batches()[0], t2.to_batches()[0]])
    assert {k: v["example_count/unweighted"] for k, v in metrics.items()} == {
        (("country", "us"),): 2, (("country", "de"),): 1}
