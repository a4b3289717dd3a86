"""Roll-up: a coarse slicing spec's partials made from a finer spec's give every slice, count,
weight, null-row tally, omission, metric, plot and interval that counting the rows directly
gives (floats within 1e-12 relative): with nulls and list values in the columns, fixed values,
several overlapping finer specs and confidence intervals; and through the CLI, the same
artifacts as evaluating each spec on its own."""
import json
import pathlib
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import BASE, accumulate, plan
from evalbeam import rollup
from evalbeam.cli import main
from evalbeam.compute import slice_results
from evalbeam.io.result import load_result
from evalbeam.slicing import SliceSpec

sys.path.insert(0, str(pathlib.Path(__file__).parent / "metrics"))  # min / max states

RTOL = 1e-12
METRICS = """metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "MeanPrediction" }
  metrics { class_name: "BinaryAccuracy" } metrics { class_name: "Precision" }
  metrics { class_name: "BinaryCrossentropy" }
  metrics { class_name: "AUC" } metrics { class_name: "AUCPrecisionRecall" }
  metrics { class_name: "ConfusionMatrixPlot" } metrics { class_name: "CalibrationPlot" }
  metrics { module: "reduction_metrics" class_name: "MaxPrediction" }
  metrics { module: "reduction_metrics" class_name: "MinPrediction" }
  metrics { module: "reduction_metrics" class_name: "PeakWeightedError" }
}
"""


def specs(*texts) -> str:
    return "".join(f"slicing_specs {{ {t} }}\n" for t in texts)


def data(n=4000, seed=0) -> pa.Table:
    """Weighted binary predictions; country and device with nulls, tags of 0..2 values (a
    null list too), an int age and a float score bucket."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    country = rng.choice(["us", "de", "fr", "jp"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    country[rng.random(n) < 0.04] = None
    device = rng.choice(["mobile", "desktop", "tablet"], n).astype(object)
    device[rng.random(n) < 0.08] = None
    device[: n // 4] = rng.choice(["mobile", "desktop"], n // 4)  # the first batch: no nulls
    vocabulary = ["a", "b", "c"]
    tags = [list(rng.choice(vocabulary, rng.integers(0, 3))) for _ in range(n)]
    for i in range(n // 4, n // 2):  # the second batch: at most one tag per row
        tags[i] = tags[i][:1]
    tags[n // 4 + 3] = None
    return pa.table({
        "label": label,
        "prediction": np.clip(rng.beta(2, 3, n) + 0.25 * label, 0, 1),
        "weight": rng.choice([0.0, 0.5, 1.0, 2.0], n, p=[0.05, 0.25, 0.5, 0.2]),
        "country": pa.array(list(country), pa.string()),
        "device": pa.array(list(device), pa.string()),
        "tags": pa.array(tags, pa.list_(pa.string())),
        "age": rng.integers(18, 24, n),
        "score": np.round(rng.random(n) * 4) / 4,
    })


def batches(t: pa.Table) -> list:
    n = t.num_rows
    return [t.slice(a, b - a).combine_chunks().to_batches()[0]
            for a, b in zip([0, n // 4, n // 2, 3 * n // 4], [n // 4, n // 2, 3 * n // 4, n])]


def counted(monkeypatch, eval_plan, bs):
    """Every spec's merged table, rolled up as configured and counted directly; and how each
    batch's rolled-up specs were made: ``(spec, "rolled" | "with rest" | "direct")``."""
    ways = []
    original = rollup.roll_up

    def recording(*args):
        way = original(*args)
        ways.append((args[0].describe(),
                     "direct" if way is None else "with rest" if way[2] is not None else "rolled"))
        return way

    monkeypatch.setattr(rollup, "roll_up", recording)
    rolled = accumulate(eval_plan, bs)
    monkeypatch.setattr(rollup, "sources", lambda slice_specs: {})
    direct = accumulate(eval_plan, bs)
    return rolled, direct, ways


def same(a, b, where=""):
    """Equal within RTOL (NaN equals NaN), through dicts, tuples and arrays."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (tuple, list)) and not (a and isinstance(a[0], (int, float))):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
        assert x.shape == y.shape, where
        np.testing.assert_allclose(x, y, rtol=RTOL, atol=0, equal_nan=True, err_msg=where)


def assert_identical(eval_plan, rolled, direct):
    assert rolled.keys() == direct.keys()
    for index in direct:
        r, d = rolled[index], direct[index]
        where = eval_plan.slice_specs[index].describe()
        assert r.keys == d.keys, where  # the same slices, in the same order
        np.testing.assert_array_equal(r.counts, d.counts, err_msg=where)
        np.testing.assert_array_equal(r.weights, d.weights, err_msg=where)  # exact units
        assert (r.null_rows, r.tally) == (d.null_rows, d.tally), where
        r_results, r_omitted = slice_results(r, eval_plan)
        d_results, d_omitted = slice_results(d, eval_plan)
        assert r_omitted == d_omitted, where
        assert [x.slice_key for x in r_results] == [x.slice_key for x in d_results], where
        for x, y in zip(r_results, d_results):
            at = f"{where} {x.slice_key}"
            assert (x.example_count, x.dof, x.dofs, x.plots_cut) == \
                (y.example_count, y.dof, y.dofs, y.plots_cut), at
            same(x.metrics, y.metrics, at)
            same(x.plots, y.plots, at)
            same(x.intervals, y.intervals, at)


def test_b1_slices_with_null_slicing_values(monkeypatch):
    t = data()
    eval_plan = plan(METRICS + specs("", 'feature_keys: ["country"]', 'feature_keys: ["age"]',
                                     'feature_keys: ["country", "device"]'))
    # overall from age (one column), country from country x device
    assert rollup.sources(tuple(eval_plan.slice_specs)) == {0: 2, 1: 3}
    rolled, direct, ways = counted(monkeypatch, eval_plan, batches(t))
    # country's rows without a device count directly, in every batch but the first
    assert ways == [("country", "rolled"), ("overall", "rolled")] + [
        ("country", "with rest"), ("overall", "rolled")] * 3
    assert_identical(eval_plan, rolled, direct)

    # and the numbers themselves, by hand: rows without a device are in their country's slice
    country = np.array(t.column("country").to_pylist(), object)
    w = t.column("weight").to_numpy()
    table = rolled[1]
    for value in ["us", "de", "fr", "jp"]:
        i = table.index[(("country", value),)]
        assert table.counts[i] == np.count_nonzero(country == value)
        assert table.weights[i] == round(w[country == value].sum() * 1e6)
    assert table.null_rows == sum(c is None for c in country)
    assert rolled[0].counts.tolist() == [t.num_rows] and rolled[0].null_rows == 0
    device = t.column("device").to_pylist()
    assert rolled[3].null_rows == sum(c is None or d is None for c, d in zip(country, device))


def test_list_values_in_an_extra_column_count_the_batch_directly(monkeypatch):
    t = data(seed=1)
    eval_plan = plan(METRICS + specs("", 'feature_keys: ["country"]', 'feature_keys: ["tags"]',
                                     'feature_keys: ["country", "tags"]'))
    assert rollup.sources(tuple(eval_plan.slice_specs)) == {0: 3, 1: 3, 2: 3}
    rolled, direct, ways = counted(monkeypatch, eval_plan, batches(t))
    # country and overall from country x tags: only the second batch has no row with two
    # tags (its rows without one count directly); tags (a list column itself) rolls up in
    # every batch, its rows without a country counted directly
    for spec in ("country", "overall"):
        assert [way for s, way in ways if s == spec] == ["direct", "with rest", "direct", "direct"]
    assert [way for s, way in ways if s == "tags"] == ["with rest"] * 4
    assert_identical(eval_plan, rolled, direct)


def test_fixed_values_roll_up_from_the_slices_they_select(monkeypatch):
    t = data(seed=2)
    eval_plan = plan(METRICS + specs(
        'feature_keys: ["country", "device"]', 'feature_values { key: "country" value: "us" }',
        'feature_values { key: "device" value: "mobile" }',
        'feature_keys: ["device"] feature_values { key: "country" value: "fr" }',
        'feature_keys: ["age", "score"]', 'feature_values { key: "age" value: "20" }',
        'feature_values { key: "score" value: "0.5" }',
        'feature_keys: ["tags"] feature_values { key: "country" value: "de" }',
        'feature_values { key: "tags" value: "b" } feature_values { key: "country" value: "de" }'))
    assert rollup.sources(tuple(eval_plan.slice_specs)) == {1: 0, 2: 0, 3: 0, 5: 4, 6: 4, 8: 7}
    rolled, direct, ways = counted(monkeypatch, eval_plan, batches(t))
    assert {way for _, way in ways} == {"rolled", "with rest"}
    assert_identical(eval_plan, rolled, direct)
    table = rolled[5]
    assert table.keys == [(("age", 20),)]
    assert table.counts.tolist() == [np.count_nonzero(t.column("age").to_numpy() == 20)]


def test_several_overlapping_finer_specs(monkeypatch):
    t = data(seed=3)
    eval_plan = plan(METRICS + specs(
        "", 'feature_keys: ["country"]', 'feature_keys: ["device"]', 'feature_keys: ["age"]',
        'feature_keys: ["country", "device"]', 'feature_keys: ["country", "age"]',
        'feature_keys: ["device", "age"]', 'feature_keys: ["country", "device", "age"]'))
    # everything from the three-column spec but itself
    assert rollup.sources(tuple(eval_plan.slice_specs)) == {i: 7 for i in range(7)}
    rolled, direct, _ = counted(monkeypatch, eval_plan, batches(t))
    assert_identical(eval_plan, rolled, direct)


@pytest.mark.parametrize("method", ["JACKKNIFE", "POISSON_BOOTSTRAP"])
def test_confidence_intervals_min_slice_size_and_plot_slices(monkeypatch, method):
    t = data(seed=4)
    eval_plan = plan(METRICS + specs("", 'feature_keys: ["country"]', 'feature_keys: ["device"]',
                                     'feature_keys: ["country", "device"]') +
                     "options { compute_confidence_intervals { value: true } "
                     f"confidence_intervals {{ method: {method} num_samples: 20 }} "
                     "min_slice_size { value: 400 } max_plot_slices { value: 3 } }")
    rolled, direct, ways = counted(monkeypatch, eval_plan, batches(t))
    assert ("country", "with rest") in ways
    assert_identical(eval_plan, rolled, direct)
    # slices below min_slice_size, by hand: a rolled-up spec omits them too
    country = np.array(t.column("country").to_pylist(), object)
    small = sorted(c for c in {"us", "de", "fr", "jp"} if np.count_nonzero(country == c) < 400)
    results, omitted = slice_results(rolled[1], eval_plan)
    assert small and omitted == [(("country", c),) for c in small]
    assert all(r.intervals for r in results)


def test_rolls_up_only_from_specs_that_hold_its_slices():
    def spec(keys=(), **values):
        return SliceSpec(tuple(keys), tuple(sorted(values.items())))

    cxd = spec(["country", "device"])
    assert rollup.rolls_up(spec(), cxd) and rollup.rolls_up(spec(["country"]), cxd)
    assert rollup.rolls_up(spec(country="us"), cxd)
    assert rollup.rolls_up(spec(["device"], country="us"), cxd)
    assert not rollup.rolls_up(spec(["age"]), cxd)  # a column it does not have
    assert not rollup.rolls_up(spec(["country"]), spec(["device"], country="us"))  # only us
    assert rollup.rolls_up(spec(country="us"), spec(["device"], country="us"))
    assert not rollup.rolls_up(spec(age=20), spec(["age"], country="us"))
    assert not rollup.rolls_up(spec(age=20), spec(age=20.0))  # not the same value
    # every rolled-up spec from one counted directly
    assert rollup.sources((spec(["country"]), cxd, spec())) == {0: 1, 2: 1}


def test_query_metrics_count_every_spec_directly(monkeypatch):
    """A query whose documents fall in two finer slices is one query of the coarse slice: with
    query metrics no spec rolls up (the row path's neither)."""
    calls = []
    monkeypatch.setattr(rollup, "roll_up", lambda *a: calls.append(a))
    n = 400
    rng = np.random.default_rng(5)
    t = pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                  "weight": np.ones(n), "qid": np.repeat(np.arange(n // 4), 4),
                  "country": rng.choice(["us", "de"], n), "device": rng.choice(["a", "b"], n)})
    eval_plan = plan('metrics_specs { query_key: "qid" metrics { class_name: "NDCG" '
                     'config: \'"gain_key": "label", "top_k_list": [2]\' } } '
                     'metrics_specs { metrics { class_name: "AUC" } }\n' +
                     specs("", 'feature_keys: ["country", "device"]'))
    tables = accumulate(eval_plan, t.to_batches(max_chunksize=100))
    assert calls == [] and tables[0].counts.tolist() == [n]


def test_cli_artifacts_equal_each_spec_evaluated_on_its_own(tmp_path):
    """The user's run: a config of overall, country and country x device with intervals over
    a file with null devices writes what three runs of one spec each write."""
    t = data(n=3000, seed=6)
    pq.write_table(t, tmp_path / "data.parquet", row_group_size=1000)
    options = ("options { compute_confidence_intervals { value: true } "
               "confidence_intervals { method: JACKKNIFE } min_slice_size { value: 120 } }\n")
    texts = ["", 'feature_keys: ["country"]', 'feature_keys: ["country", "device"]']

    def evaluate(name, spec_texts):
        config = tmp_path / f"{name}.textproto"
        config.write_text(BASE + METRICS + specs(*spec_texts) + options)
        out = tmp_path / name
        assert main(["evaluate", "--config", str(config), "--data",
                     str(tmp_path / "data.parquet"), "--output", str(out), "--no_report",
                     "--batch_size", "700"]) == 0
        return load_result(str(out)), json.loads((out / "summary.json").read_text())

    together, summary = evaluate("together", texts)
    assert [s["rows_with_null_slicing_feature"] for s in summary["specs"]] == [
        0, t.column("country").null_count,
        sum(c is None or d is None for c, d in zip(t.column("country").to_pylist(),
                                                   t.column("device").to_pylist()))]
    for k, text in enumerate(texts):
        alone, alone_summary = evaluate(f"alone{k}", [text])
        assert alone.metrics and set(alone.metrics) <= set(together.metrics)
        for key in alone.metrics:
            same(together.metrics[key], alone.metrics[key], str(key))
            same(together.plots.get(key, {}), alone.plots.get(key, {}), str(key))
            same(together.intervals.get(key, {}), alone.intervals.get(key, {}), str(key))
        assert alone_summary["specs"][0] == summary["specs"][k]
        assert set(alone.omitted) <= set(together.omitted)
    assert summary["intervals"]["intervals"] > 0 and together.omitted
