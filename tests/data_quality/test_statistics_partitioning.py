"""The same statistics (and baseline statistics) whatever the partitioning: batches of 100,
1000 and all rows, three files, row groups of 50 rows, Beam's two worker processes, the
every-core worker mode, the portable runner and Dask; floats within 1e-12 relative (a mean
also within 1e-12 of its standard deviation: the order of summation moves a mean near 0 by
about the spread times the machine epsilon)."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.protobuf.json_format import MessageToDict

from conftest import runner_options
from evalbeam import run_evaluation
from evalbeam.data_quality import load_statistics
from stats_cases import N, config, table


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats_partitioning")
    data = table()
    whole = str(folder / "whole.parquet")
    pq.write_table(data, whole)
    (folder / "three").mkdir()
    for i, (start, stop) in enumerate([(0, 500), (500, 2100), (2100, N)]):
        pq.write_table(data.slice(start, stop - start), str(folder / "three" / f"p{i}.parquet"))
    groups = str(folder / "groups.parquet")
    pq.write_table(data, groups, row_group_size=50)
    baseline = str(folder / "baseline.parquet")
    shifted = data.set_column(data.schema.get_field_index("age"), "age",
                              pa.array(data.column("age").to_numpy() + 5))
    pq.write_table(shifted, baseline, row_group_size=700)
    return {"batches of 100": (whole, 100), "batches of 1000": (whole, 1000),
            "one batch": (whole, N), "three files": (str(folder / "three"), 1000),
            "row groups of 50": (groups, 1000)}, baseline


def _statistics(out: str) -> dict:
    return {name: [MessageToDict(d) for d in load_statistics(f"{out}/{name}").datasets]
            for name in ("statistics.tfrecord", "baseline_statistics.tfrecord")}


def _same(got, want, where=""):
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            if k == "mean" and "stdDev" in want:  # (near 0, as exact as its spread allows)
                assert got[k] == pytest.approx(want[k], rel=1e-12,
                                               abs=1e-12 * want["stdDev"]), f"{where}/{k}"
            else:
                _same(got[k], want[k], f"{where}/{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300), where
    else:
        assert got == want, where


def _run(body, data, out, batch_size, options=None):
    run_evaluation(body, data, out, batch_size=batch_size, pipeline_options=options,
                   report=False)
    return _statistics(out)


@pytest.fixture(scope="module")
def body(layouts):
    _, baseline = layouts
    return config(weighted=True, extra=f'baseline_data: "{baseline}"')


@pytest.fixture(scope="module")
def want(layouts, body, tmp_path_factory):
    (data, batch_size) = layouts[0]["one batch"]
    return _run(body, data, str(tmp_path_factory.mktemp("want") / "out"), batch_size)


@pytest.mark.parametrize("layout", ["batches of 100", "batches of 1000", "three files",
                                    "row groups of 50"])
def test_statistics_do_not_depend_on_the_partitioning(layouts, body, want, tmp_path, layout):
    data, batch_size = layouts[0][layout]
    _same(_run(body, data, str(tmp_path / "out"), batch_size), want, layout)


@pytest.mark.parametrize("runner", ["beam multi-processing", "worker processes", "portable",
                                    "dask"])
def test_statistics_are_the_same_on_every_runner(layouts, body, want, tmp_path, runner,
                                                 request, monkeypatch):
    data, _ = layouts[0]["three files"]
    if runner == "beam multi-processing":
        options = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    else:
        options = runner_options(runner, request, monkeypatch)
    _same(_run(body, data, str(tmp_path / "out"), 700, options), want, runner)


def test_baseline_statistics_are_the_baseline_data(want, layouts):
    stats, baseline = want["statistics.tfrecord"], want["baseline_statistics.tfrecord"]
    assert [d["name"] for d in stats] == [d["name"] for d in baseline]
    age = {d["name"]: next(f for f in d["features"] if f["path"]["step"] == ["age"])
           for d in baseline}
    ages = pq.read_table(layouts[1]).column("age").to_numpy()
    assert age["All Examples"]["numStats"]["mean"] == pytest.approx(ages.mean(), rel=1e-12)
    assert not any(f["path"]["step"] == ["x"] for d in baseline for f in d["features"])
