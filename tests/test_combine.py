"""Many slices: which slices get plots (max_plot_slices), slices below min_slice_size are never
computed, metrics computed a part of the slices at a time equal one pass, and partial tables
cross the shuffle intact."""
import json

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, accumulate, plan
from evalbeam import combine, run_evaluation
from evalbeam.cli import main
from evalbeam.combine import SliceTableCoder, batch_partials, iter_slice_results, select_slices
from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError
from evalbeam.io.tfrecord import read_records
from evalbeam.metrics.histogram import ConfusionMatrixPlot
from helpers_io import write

METRICS = """metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "ConfusionMatrixPlot" }
  metrics { class_name: "CalibrationPlot" }
}
slicing_specs {} slicing_specs { feature_keys: ["user"] }
"""


def users_table(seed=0):
    """40 users with 1..30 rows each; weights make the weighted ranking differ from the row
    count ranking. Users 7 and 3 get the same weighted count (a tie broken by key)."""
    rng = np.random.default_rng(seed)
    rows_per_user = rng.integers(1, 31, 40)
    user = np.repeat(np.arange(40), rows_per_user)
    weight = rng.choice([0.1, 0.2, 0.3, 1.0, 4.0], len(user))
    for u in (3, 7):  # 20 rows of weight 0.7 each: 14.0 (above most users' total)
        weight = np.concatenate([weight[user != u], np.full(20, 0.7)])
        user = np.concatenate([user[user != u], np.full(20, u)])
    order = rng.permutation(len(user))
    user, weight = user[order], weight[order]
    n = len(user)
    label = rng.integers(0, 2, n)
    return pa.table({"label": label, "prediction": rng.random(n) * 0.5 + 0.4 * label,
                     "weight": weight, "user": user})


def expected_plot_users(t, limit):
    """The ``limit`` users of largest weighted count, ties to the smaller user id."""
    user, w = t.column("user").to_numpy(), t.column("weight").to_numpy()
    totals = np.bincount(user, weights=w)
    present = np.flatnonzero(np.bincount(user))
    ranked = sorted(present.tolist(), key=lambda u: (-round(totals[u], 9), u))
    return ranked[:limit], totals


def test_plots_for_the_largest_slices_by_weighted_count(tmp_path, capsys):
    t = users_table()
    want, totals = expected_plot_users(t, 6)
    # the 6th and 7th largest tie (31.5: sums of different weights), and the key decides
    assert round(totals[14], 9) == round(totals[28], 9) == 31.5
    assert 14 in want and 28 not in want
    counts = np.bincount(t.column("user").to_numpy())
    by_rows = sorted(range(40), key=lambda u: (-counts[u], u))[:6]
    assert set(by_rows) != set(want)  # weights matter: the row count would pick others
    cfg = tmp_path / "c.textproto"
    cfg.write_text(BASE + METRICS + "options { max_plot_slices { value: 6 } }")
    data = write(t, str(tmp_path / "d.parquet"))
    out = str(tmp_path / "out")
    assert main(["evaluate", "--config", str(cfg), "--data", data, "--output", out,
                 "--batch_size", "97"]) == 0
    stdout = capsys.readouterr().out
    assert "plots written for 6 of 40 slices of user (max_plot_slices)\n" in stdout

    from evalbeam.io.result import load_result
    result = load_result(out)
    assert set(result.plots) == {()} | {(("user", u),) for u in want}
    assert len(result.metrics) == 41  # every slice keeps its metrics
    for u in want:
        cal = result.calibration(slice_key=(("user", u),))
        assert cal["num_weighted_examples"].sum() == pytest.approx(totals[u])
    cut = next(u for u in range(40) if u not in want)
    with pytest.raises(KeyError, match="written only for the largest slices.*max_plot_slices"):
        result.roc_curve(slice_key=(("user", cut),))
    specs = result.summary["specs"]
    assert specs == [
        {"spec": "overall", "slices": 1, "omitted_below_min_slice_size": 0,
         "rows_with_null_slicing_feature": 0, "plot_slices": 1, "plot_slices_cut": 0},
        {"spec": "user", "slices": 40, "omitted_below_min_slice_size": 0,
         "rows_with_null_slicing_feature": 0, "plot_slices": 6, "plot_slices_cut": 34}]


def test_tie_at_the_cut_goes_to_the_smaller_key():
    # users 2, 3 and 7 tie at 14.0; with room for two of them, 2 and 3 get plots
    t = users_table()
    want, totals = expected_plot_users(t, 40)
    assert [u for u in want if round(totals[u], 9) == 14.0] == [2, 3, 7]
    limit = int((np.round(totals, 9) > 14.0).sum()) + 2
    eval_plan = plan(METRICS + f"options {{ max_plot_slices {{ value: {limit} }} }}")
    table = accumulate(eval_plan, t.to_batches(max_chunksize=50))[1]
    selection = select_slices(table, eval_plan)
    chosen = {table.keys[i] for i in selection.kept[selection.plots].tolist()}
    assert chosen == {(("user", u),) for u in want[:limit]}
    assert (("user", 3),) in chosen and (("user", 7),) not in chosen


def test_selection_does_not_depend_on_the_merge_order():
    # 0.1 + 0.2 + 0.3 in floating point depends on the order; the ranking weights do not
    eval_plan = plan(METRICS + "options { max_plot_slices { value: 1 } }")
    t = pa.table({"label": [1, 0, 1, 1], "prediction": [0.5] * 4,
                  "weight": [0.1, 0.2, 0.3, 0.6], "user": [1, 1, 1, 2]})
    parts = [batch_partials(b, eval_plan)[1][1][1] for b in t.to_batches(max_chunksize=1)]
    merged = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        acc = combine.FusedCombineFn(eval_plan).create_accumulator()
        for i in order:
            acc.merge(parts[i])
        weights = dict(zip(acc.keys, acc.weights.tolist()))
        merged.append(weights)
        chosen = select_slices(acc, eval_plan)
        assert [acc.keys[i] for i in chosen.kept[chosen.plots]] == [(("user", 1),)]  # key: 1 < 2
    assert merged[0] == merged[1] == merged[2]
    assert merged[0][(("user", 1),)] == merged[0][(("user", 2),)]  # 0.1 + 0.2 + 0.3 == 0.6


def test_no_limit_and_no_plots():
    t = users_table()
    eval_plan = plan(METRICS + "options { max_plot_slices { value: 0 } }")
    table = accumulate(eval_plan, t.to_batches())[1]
    selection = select_slices(table, eval_plan)
    assert selection.plot_slices == 40 and selection.plot_slices_cut == 0
    no_plots = plan(METRICS.replace('metrics { class_name: "ConfusionMatrixPlot" }', "")
                    .replace('metrics { class_name: "CalibrationPlot" }', "")
                    + "options { max_plot_slices { value: 2 } }")
    selection = select_slices(accumulate(no_plots, t.to_batches())[1], no_plots)
    assert selection.plot_slices == selection.plot_slices_cut == 0
    with pytest.raises(ConfigError, match="max_plot_slices must be at least 0"):
        resolve_config(parse_config(BASE + METRICS + "options { max_plot_slices { value: -1 } }"))


def test_slices_below_min_slice_size_are_never_computed(tmp_path, monkeypatch):
    t = users_table()
    counts = np.bincount(t.column("user").to_numpy())
    big = {(("user", u),) for u in np.flatnonzero(counts >= 15).tolist()}
    assert 0 < len(big) < 40
    computed, plotted = [], []
    part_results = combine._part_results

    def spy_parts(table, *args):
        computed.extend(table.keys)
        return part_results(table, *args)

    original = ConfusionMatrixPlot.compute
    monkeypatch.setattr(combine, "_part_results", spy_parts)
    monkeypatch.setattr(ConfusionMatrixPlot, "compute",
                        lambda self, stats: plotted.append(1) or original(self, stats))
    config = BASE + METRICS + "options { min_slice_size { value: 15 } }"
    result = run_evaluation(config, t, str(tmp_path / "out"))
    assert set(computed) == big | {()} and len(computed) == len(big) + 1
    assert len(plotted) == len(big) + 1
    assert set(result.metrics) == big | {()}
    assert set(result.omitted) == {(("user", u),) for u in range(40)} - big
    with open(tmp_path / "out" / "plots-00001-of-00002.tfrecord", "rb") as f:
        assert len(list(read_records(f, "plots"))) == len(big)  # none for omitted slices
    user_spec = result.summary["specs"][1]
    assert user_spec["slices"] == len(big) and user_spec["plot_slices"] == len(big)
    assert user_spec["omitted_below_min_slice_size"] == 40 - len(big)
    # the slices kept have the values they have without min_slice_size
    everything = plan(METRICS)
    table = accumulate(everything, t.to_batches())[1]
    for r in iter_slice_results(table, everything):
        if r.slice_key in big:
            for k, v in r.metrics.items():
                assert result.metrics[r.slice_key][k] == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("intervals", [False, True])
def test_computing_part_by_part_equals_one_pass(monkeypatch, intervals):
    t = users_table(seed=1)
    options = "options { compute_confidence_intervals { value: true } }" if intervals else ""
    eval_plan = plan(METRICS + options)
    table = accumulate(eval_plan, t.to_batches(max_chunksize=100))[1]
    whole = {r.slice_key: r for r in iter_slice_results(table, eval_plan)}
    monkeypatch.setattr(combine, "CELLS_PER_PART", 1)  # one slice per part
    parts = {r.slice_key: r for r in iter_slice_results(table, eval_plan)}
    monkeypatch.setattr(combine, "CELLS_PER_PART", 1 << 30)
    monkeypatch.setattr(combine, "SLICES_PER_PART", 7)  # parts of 7 slices
    sevens = {r.slice_key: r for r in iter_slice_results(table, eval_plan)}
    assert whole.keys() == parts.keys() == sevens.keys() and len(whole) == 40
    for other in (parts, sevens):
        for key, r in whole.items():
            assert other[key].metrics.keys() == r.metrics.keys()
            for k, v in r.metrics.items():
                assert other[key].metrics[k] == pytest.approx(v, rel=1e-12, nan_ok=True)
            assert other[key].intervals.keys() == r.intervals.keys()
            for k, v in r.intervals.items():
                assert other[key].intervals[k] == pytest.approx(v, rel=1e-9, abs=1e-9, nan_ok=True)
            for k, plot in r.plots.items():
                for kind, columns in plot.items():
                    for name, values in columns.items():
                        np.testing.assert_array_equal(other[key].plots[k][kind][name], values)


def test_partial_tables_cross_the_shuffle_intact():
    t = users_table()
    eval_plan = plan(METRICS + "options { compute_confidence_intervals { value: true } }")
    coder = SliceTableCoder()
    for _, table in batch_partials(t.combine_chunks().to_batches()[0], eval_plan)[1]:
        data = coder.encode(table)
        back = coder.decode(data)
        assert back.keys == table.keys and back.null_rows == table.null_rows
        np.testing.assert_array_equal(back.counts, table.counts)
        np.testing.assert_array_equal(back.weights, table.weights)
        for key in table.keys:
            mine, theirs = table.row(key), back.row(key)
            for name in mine:
                np.testing.assert_array_equal(mine[name], theirs[name])
        back.merge(coder.decode(data))  # decoded arrays are writable: merging adds in place
        np.testing.assert_array_equal(back.counts, 2 * table.counts)
    # the replicated states of small slices are mostly zeros: packed well below their size
    user_table = batch_partials(t.combine_chunks().to_batches()[0], eval_plan)[1][1][1]
    assert len(coder.encode(user_table)) < user_table.nbytes() / 3


def test_the_size_estimate_of_a_huge_partial_fits_beams_int(monkeypatch):
    """Runners sample element sizes into a C int: a partial estimated above 2 GB is reported as
    the largest such int instead of failing the bundle."""
    t = users_table()
    eval_plan = plan(METRICS)
    table = batch_partials(t.combine_chunks().to_batches()[0], eval_plan)[1][1][1]
    impl = SliceTableCoder().get_impl()  # what Beam calls
    assert impl.estimate_size(table) == table.nbytes() > 0
    monkeypatch.setattr(type(table), "nbytes", lambda self: 3 << 40)
    assert impl.estimate_size(table) == 2 ** 31 - 1


def test_summary_specs_through_json(tmp_path):
    t = users_table()
    result = run_evaluation(BASE + METRICS + "options { max_plot_slices { value: 3 } }", t,
                            str(tmp_path / "out"))
    with open(tmp_path / "out" / "summary.json") as f:
        specs = json.load(f)["specs"]
    assert [s["spec"] for s in specs] == ["overall", "user"]
    assert specs[1]["plot_slices"] == 3 and specs[1]["plot_slices_cut"] == 37
    assert len(result.plots) == 4


def test_the_same_slices_get_plots_on_two_worker_processes(tmp_path):
    # batches in two processes, merged in whatever order they finish: the same choice
    t = users_table(seed=2).to_batches(max_chunksize=60)
    files = [write(pa.Table.from_batches(t[i::3]), str(tmp_path / f"d{i}.parquet"))
             for i in range(3)]
    config = BASE + METRICS + "options { max_plot_slices { value: 7 } }"
    local = run_evaluation(config, files, str(tmp_path / "local"), batch_size=50)
    two = run_evaluation(config, files, str(tmp_path / "two"), batch_size=50, pipeline_options=[
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    want, _ = expected_plot_users(pa.Table.from_batches(t), 7)
    assert set(local.plots) == set(two.plots) == {()} | {(("user", u),) for u in want}
