"""Computing a spec's slices: which slices get plots (max_plot_slices), slices below
min_slice_size are never computed, metrics computed a part of the slices at a time equal one
pass."""
import json

import numpy as np
import pytest

from conftest import BASE, USER_METRICS, accumulate, expected_plot_users, plan, users_table
from evalbeam import compute, run_evaluation
from evalbeam.cli import main
from evalbeam.compute import iter_slice_results, select_slices
from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError
from evalbeam.io.tfrecord import read_records
from evalbeam.metrics.histogram import ConfusionMatrixPlot
from helpers_io import write



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
    cfg.write_text(BASE + USER_METRICS + "options { max_plot_slices { value: 6 } }")
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
    eval_plan = plan(USER_METRICS + f"options {{ max_plot_slices {{ value: {limit} }} }}")
    table = accumulate(eval_plan, t.to_batches(max_chunksize=50))[1]
    selection = select_slices(table, eval_plan)
    chosen = {table.keys[i] for i in selection.kept[selection.plots].tolist()}
    assert chosen == {(("user", u),) for u in want[:limit]}
    assert (("user", 3),) in chosen and (("user", 7),) not in chosen


def test_no_limit_and_no_plots():
    t = users_table()
    eval_plan = plan(USER_METRICS + "options { max_plot_slices { value: 0 } }")
    table = accumulate(eval_plan, t.to_batches())[1]
    selection = select_slices(table, eval_plan)
    assert selection.plot_slices == 40 and selection.plot_slices_cut == 0
    no_plots = plan(USER_METRICS.replace('metrics { class_name: "ConfusionMatrixPlot" }', "")
                    .replace('metrics { class_name: "CalibrationPlot" }', "")
                    + "options { max_plot_slices { value: 2 } }")
    selection = select_slices(accumulate(no_plots, t.to_batches())[1], no_plots)
    assert selection.plot_slices == selection.plot_slices_cut == 0
    with pytest.raises(ConfigError, match="max_plot_slices must be at least 0"):
        resolve_config(parse_config(BASE + USER_METRICS + "options { max_plot_slices { value: -1 } }"))


def test_slices_below_min_slice_size_are_never_computed(tmp_path, monkeypatch):
    t = users_table()
    counts = np.bincount(t.column("user").to_numpy())
    big = {(("user", u),) for u in np.flatnonzero(counts >= 15).tolist()}
    assert 0 < len(big) < 40
    computed, plotted = [], []
    part_results = compute._part_results

    def spy_parts(table, *args):
        computed.extend(table.keys)
        return part_results(table, *args)

    original = ConfusionMatrixPlot.compute
    monkeypatch.setattr(compute, "_part_results", spy_parts)
    monkeypatch.setattr(ConfusionMatrixPlot, "compute",
                        lambda self, stats: plotted.append(1) or original(self, stats))
    config = BASE + USER_METRICS + "options { min_slice_size { value: 15 } }"
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
    everything = plan(USER_METRICS)
    table = accumulate(everything, t.to_batches())[1]
    for r in iter_slice_results(table, everything):
        if r.slice_key in big:
            for k, v in r.metrics.items():
                assert result.metrics[r.slice_key][k] == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("intervals", [False, True])
def test_computing_part_by_part_equals_one_pass(monkeypatch, intervals):
    t = users_table(seed=1)
    options = "options { compute_confidence_intervals { value: true } }" if intervals else ""
    eval_plan = plan(USER_METRICS + options)
    table = accumulate(eval_plan, t.to_batches(max_chunksize=100))[1]
    whole = {r.slice_key: r for r in iter_slice_results(table, eval_plan)}
    monkeypatch.setattr(compute, "CELLS_PER_PART", 1)  # one slice per part
    parts = {r.slice_key: r for r in iter_slice_results(table, eval_plan)}
    monkeypatch.setattr(compute, "CELLS_PER_PART", 1 << 30)
    monkeypatch.setattr(compute, "SLICES_PER_PART", 7)  # parts of 7 slices
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


def test_summary_specs_through_json(tmp_path):
    t = users_table()
    result = run_evaluation(BASE + USER_METRICS + "options { max_plot_slices { value: 3 } }", t,
                            str(tmp_path / "out"))
    with open(tmp_path / "out" / "summary.json") as f:
        specs = json.load(f)["specs"]
    assert [s["spec"] for s in specs] == ["overall", "user"]
    assert specs[1]["plot_slices"] == 3 and specs[1]["plot_slices_cut"] == 37
    assert len(result.plots) == 4
