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


NULLS = pa.table({
    "label": [1, 0, 1, 0, 1, 0], "prediction": [0.5] * 6, "weight": [1.0] * 6,
    "country": ["us", "us", None, "de", None, None],
    "age": [20, None, 30, 30, None, 40],
    "tags": [["a"], [], None, ["b", "a"], ["c"], []],
})
NULL_SPECS = """slicing_specs {} slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["age"] } slicing_specs { feature_keys: ["country", "age"] }
slicing_specs { feature_keys: ["tags"] }
slicing_specs { feature_values { key: "country" value: "us" } }
"""


def test_rows_with_a_null_slicing_feature_are_counted_per_spec(tmp_path):
    from conftest import BASE
    from evalbeam import run_evaluation

    # batches of two rows: the third batch has no country at all (no slice of that spec)
    result = run_evaluation(BASE + COUNT + NULL_SPECS, NULLS, str(tmp_path / "out"), batch_size=2)
    specs = {s["spec"]: s for s in result.summary["specs"]}
    assert list(specs) == ["overall", "country", "age", "country x age", "tags", "country=us"]
    nulls = {name: s["rows_with_null_slicing_feature"] for name, s in specs.items()}
    # by hand: country is null in rows 2, 4, 5; age in 1, 4; either in 1, 2, 4, 5; tags is
    # null or empty in 1, 2, 5; the fixed-value spec reads country (row 3, "de", is no null)
    assert nulls == {"overall": 0, "country": 3, "age": 2, "country x age": 4, "tags": 3,
                     "country=us": 3}
    assert {name: s["slices"] for name, s in specs.items()} == {
        "overall": 1, "country": 2, "age": 3, "country x age": 2, "tags": 3, "country=us": 1}
    got = {k: v for k, v in result.metrics.items() if k and k[0][0] == "country" and len(k) == 1}
    assert {k: next(iter(v.values())) for k, v in got.items()} == {
        (("country", "us"),): 2, (("country", "de"),): 1}


def test_null_counts_when_only_query_metrics_are_configured(tmp_path):
    from conftest import BASE
    from evalbeam import run_evaluation

    queries = pa.table({"qid": ["a", "a", "b", "c", "c", "d"], "label": [1, 0, 1, 0, 1, 0],
                        "prediction": [0.9, 0.1, 0.5, 0.3, 0.7, 0.2], "weight": [1.0] * 6,
                        "market": ["us", None, None, "de", "de", None]})
    config = BASE + """metrics_specs { query_key: "qid" metrics { class_name: "MinLabelPosition" }
                                       metrics { class_name: "ExampleCount" } }
slicing_specs {} slicing_specs { feature_keys: ["market"] }"""
    result = run_evaluation(config, queries, str(tmp_path / "out"), batch_size=4)
    market = result.summary["specs"][1]
    assert market["rows_with_null_slicing_feature"] == 3  # rows 1, 2, 5
    assert market["slices"] == 2  # us (query a), de (query c); b and d have no market
