"""The fused combine: partial tables cross the shuffle intact, and merged in any order (by
worker processes) they select the same slices."""
import numpy as np
import pyarrow as pa

from conftest import BASE, USER_METRICS, expected_plot_users, plan, users_table
from evalbeam import run_evaluation
from evalbeam.combine import SliceTableCoder
from evalbeam.preagg import batch_partials
from helpers_io import write


def test_partial_tables_cross_the_shuffle_intact():
    t = users_table()
    eval_plan = plan(USER_METRICS + "options { compute_confidence_intervals { value: true } }")
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
    eval_plan = plan(USER_METRICS)
    table = batch_partials(t.combine_chunks().to_batches()[0], eval_plan)[1][1][1]
    impl = SliceTableCoder().get_impl()  # what Beam calls
    assert impl.estimate_size(table) == table.nbytes() > 0
    monkeypatch.setattr(type(table), "nbytes", lambda self: 3 << 40)
    assert impl.estimate_size(table) == 2 ** 31 - 1


def test_the_same_slices_get_plots_on_two_worker_processes(tmp_path):
    # batches in two processes, merged in whatever order they finish: the same choice
    t = users_table(seed=2).to_batches(max_chunksize=60)
    files = [write(pa.Table.from_batches(t[i::3]), str(tmp_path / f"d{i}.parquet"))
             for i in range(3)]
    config = BASE + USER_METRICS + "options { max_plot_slices { value: 7 } }"
    local = run_evaluation(config, files, str(tmp_path / "local"), batch_size=50)
    two = run_evaluation(config, files, str(tmp_path / "two"), batch_size=50, pipeline_options=[
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    want, _ = expected_plot_users(pa.Table.from_batches(t), 7)
    assert set(local.plots) == set(two.plots) == {()} | {(("user", u),) for u in want}
