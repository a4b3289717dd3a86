"""Reading by tasks pre-aggregated where they are read: the same artifacts (metrics, plots,
confidence intervals, row accounting) from one process and from several worker processes, on
data of several files and row groups read in several batches each, and the numbers right."""
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import BASE, make_table
from evalbeam import cli, load_result, local_workers
from helpers_io import write

CONFIG = BASE + """
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" }
  metrics { class_name: "AUC" } metrics { class_name: "CalibrationPlot" }
  metrics { class_name: "ConfusionMatrixPlot" }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["country", "device"] }
options { compute_confidence_intervals { value: true } }
"""


def _same(a, b, where=""):
    """Equal within 1e-12 relative: numbers, arrays, and dicts, lists and protos of them."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=where)
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=0), where
    elif hasattr(a, "ListFields"):  # a proto message
        from google.protobuf.json_format import MessageToDict

        _same(MessageToDict(a), MessageToDict(b), where)
    else:
        assert a == b, where


def _run(tmp_path, name, data, workers, monkeypatch):
    monkeypatch.setattr(local_workers, "MIN_ROWS", 1 if workers > 1 else 10 ** 12)
    monkeypatch.setattr(local_workers, "cores", lambda: workers)
    config = tmp_path / "config.textproto"
    config.write_text(CONFIG)
    out = str(tmp_path / name)
    assert cli.main(["evaluate", "--config", str(config), "--data", data, "--output", out,
                     "--batch_size", "700", "--no_report"]) == 0
    return load_result(out)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_one_process_and_several_give_the_same_artifacts(tmp_path, monkeypatch, suffix,
                                                         chosen):
    table = make_table(9000, seed=3)
    folder = tmp_path / "data"
    folder.mkdir()
    for i, start in enumerate((0, 2500, 6000)):  # three files of unequal size
        part = table.slice(start, (2500, 3500, 3000)[i])
        if suffix == ".parquet":  # row groups of 1000 rows, batches of 700: batches straddle
            pq.write_table(part, folder / f"part-{i}.parquet", row_group_size=1000)
        else:
            write(part, str(folder / f"part-{i}.csv"))
    one = _run(tmp_path, "one", str(folder), 1, monkeypatch)
    several = _run(tmp_path, "several", str(folder), 2, monkeypatch)
    assert chosen == [1, 2] and chosen.used == [2]

    for what in ("rows_read", "rows_used", "rows_dropped", "slices"):
        assert one.summary[what] == several.summary[what]
    _same(one.metrics, several.metrics)
    _same(one.plots, several.plots)
    assert one.intervals, "intervals were computed"
    _same(one.intervals, several.intervals)

    # and the numbers are the rows' own
    w = table.column("weight").to_numpy()
    y = table.column("label").to_numpy().astype(float)
    country = np.array(table.column("country").to_pylist())
    device = np.array(table.column("device").to_pylist())
    assert several.summary["rows_read"] == 9000
    for c in set(country):
        m = country == c
        key = (("country", c),)
        assert several.value("example_count", key) == pytest.approx(w[m].sum(), rel=1e-12)
        assert several.value("mean_label", key) == pytest.approx(
            np.average(y[m], weights=w[m]), rel=1e-12)
        for d in set(device):
            m2 = m & (device == d)
            assert several.value("example_count", (("country", c), ("device", d))) == \
                pytest.approx(w[m2].sum(), rel=1e-12)


def test_the_last_row_groups_are_read_in_halves_that_hold_their_rows(tmp_path):
    """Shared by two processes, the last two row groups (of two batches or more) are two
    tasks each, cut at a batch's end; the halves read exactly the row group's rows."""
    from evalbeam import task_partials
    from evalbeam.io import readers

    table = make_table(5000, seed=4)
    path = str(tmp_path / "d.parquet")
    pq.write_table(table, path, row_group_size=1200)  # 1200 x 4 and 200
    listed = readers.read_tasks([path], "parquet")
    assert task_partials.in_reading_order(listed) == \
        task_partials.in_reading_order(listed, 1, 500)  # one process: as listed, largest first
    tasks = task_partials.in_reading_order(listed, 2, 500)
    assert [(t.part, t.rows, t.span) for t in tasks] == [
        (0, 1200, None), (1, 1200, None), (2, 1200, None),
        (3, 1000, (0, 1000)), (3, 200, (1000, 1200)), (4, 200, None)]
    read = pa.concat_tables(pa.Table.from_batches([b]) for t in tasks
                            for b in readers.read_task(t, None, 500))
    assert sum(t.rows for t in tasks) == read.num_rows == 5000
    assert task_partials.pieces(listed, 500) == 9  # (the last row group is one batch)
    columns = ["label", "prediction", "weight", "country"]
    assert sorted(tuple(r.values()) for r in read.select(columns).to_pylist()) == \
        sorted(tuple(r.values()) for r in table.select(columns).to_pylist())


def test_a_single_row_group_of_several_batches_is_read_by_two_processes(tmp_path, monkeypatch,
                                                                        chosen):
    table = make_table(3000, seed=6)
    path = tmp_path / "one.parquet"
    pq.write_table(table, path)  # one row group
    one = _run(tmp_path, "one", str(path), 1, monkeypatch)
    several = _run(tmp_path, "several", str(path), 2, monkeypatch)
    assert chosen[-1] == 2 and chosen.used == [2]  # (the rule is asked ahead and again)
    assert several.summary["rows_read"] == 3000
    _same(one.metrics, several.metrics)
    _same(one.plots, several.plots)
