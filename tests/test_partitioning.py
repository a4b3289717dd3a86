"""The same answer whatever the partitioning: one dataset evaluated in batches of 100, 1000 and
all rows, as one file, three files and row groups of 7 rows, in process and on two worker
processes, gives the same artifacts (metrics, plots, intervals; floats within 1e-12 relative, or
1e-13 absolute for the differences of nearly equal sums: diffs, standard errors),
for a binary model with a baseline, a multi-class model with class views and query metrics,
with the jackknife and the Poisson bootstrap."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam import run_evaluation
from partitioning_cases import (METHODS, N, artifacts, assert_same, check_reference,
                                config_with_intervals, table)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """``(data, batch_size)`` per layout: one file read in batches of 100, 1000 and all rows,
    three files of unequal sizes, one file of row groups of 7 rows."""
    folder = tmp_path_factory.mktemp("partitioning")
    data = table()
    whole = str(folder / "whole.parquet")
    pq.write_table(data, whole)
    (folder / "three").mkdir()
    for i, (start, stop) in enumerate([(0, 300), (300, 1100), (1100, N)]):
        pq.write_table(data.slice(start, stop - start), str(folder / "three" / f"part-{i}.parquet"))
    groups = str(folder / "groups.parquet")
    pq.write_table(data, groups, row_group_size=7)
    assert pq.ParquetFile(groups).metadata.num_row_groups == -(-N // 7)
    three = str(folder / "three")
    return {"batches of 100": (whole, 100), "batches of 1000": (whole, 1000),
            "one batch": (whole, N), "three files": (three, 1000),
            "row groups of 7": (groups, 1000),
            "two worker processes": (three, 300)}


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("config", ["binary with baseline", "multi-class", "queries"])
def test_artifacts_do_not_depend_on_the_partitioning(layouts, tmp_path, config, method):
    body = config_with_intervals(config, method)
    runs = {}
    for name, (data, batch_size) in layouts.items():
        options = (["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
                   if name == "two worker processes" else None)
        out = str(tmp_path / name.replace(" ", "_"))
        run_evaluation(body, data, out, batch_size=batch_size, pipeline_options=options,
                       report=False)
        runs[name] = artifacts(out)
    want = runs.pop("one batch")
    check_reference(want, config)
    for name, got in runs.items():
        assert_same(got, want, name)


HARD = """
model_specs { label_key: "label" prediction_key: "hard" }
metrics_specs { metrics { class_name: "BinaryAccuracy" } metrics { class_name: "Precision" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
options { compute_confidence_intervals { value: true } %s }
"""


def _hard_table(n=3000):
    """Hard 0/1 predictions: every row is one of four (label, prediction) pairs."""
    rng = np.random.default_rng(5)
    label = rng.integers(0, 2, n)
    hard = np.where(rng.random(n) < 0.8, label, 1 - label)
    return pa.table({"label": label, "hard": hard, "country": rng.choice(["us", "de"], n),
                     "id": rng.permutation(n) * 7919})


@pytest.mark.parametrize("method", sorted(METHODS))
def test_an_example_id_makes_identical_rows_distinct_whatever_the_batching(tmp_path, method):
    from evalbeam.io.result import load_result

    body = HARD % ('confidence_intervals { %s example_id_key: "id" }'
                   % METHODS[method].replace("confidence_intervals { ", "").rstrip(" }"))
    table = _hard_table()
    runs = [run_evaluation(body, table, str(tmp_path / f"b{size}"), batch_size=size, report=False)
            for size in (100, 1000, len(table))]
    want = {k: v for k, v in runs[-1].intervals.items()}
    assert want and all(v for v in want.values())
    for got in runs[:-1]:
        assert_same(artifacts(got.output_dir), artifacts(runs[-1].output_dir))
    assert load_result(runs[0].output_dir).summary["intervals"]["intervals"] > 0


def test_identical_rows_are_drawn_independently():
    """Without an id, 3000 rows of four kinds still fill the 20 jackknife partitions evenly
    (drawn together, each kind would sit in one partition), and their Poisson counts are
    Poisson(1) row by row."""
    from evalbeam.config import parse_config, resolve_config
    from evalbeam.extract import extract

    table = _hard_table()
    (batch,) = table.to_batches()
    for method, check in [("", "jackknife"), (METHODS["bootstrap"], "bootstrap")]:
        eval_plan = resolve_config(parse_config(HARD % method))
        arrays = next(iter(extract(batch, eval_plan).streams.values()))
        y, p = table.column("label").to_numpy(), table.column("hard").to_numpy()
        kind = (y == 1) & (p == 1)
        if check == "jackknife":
            parts = eval_plan.resampling.partitions(arrays)[kind]
            share = np.bincount(parts, minlength=20) / kind.sum()
            assert np.abs(share - 0.05).max() < 0.03
        else:
            counts = eval_plan.resampling.counts(arrays)[kind]
            assert abs(counts.mean() - 1) < 0.05 and abs(counts.var() - 1) < 0.1
            assert len({row.tobytes() for row in counts}) > 0.9 * kind.sum()


def test_a_missing_example_id_column_is_named(tmp_path):
    from evalbeam.errors import InputError

    body = HARD % 'confidence_intervals { example_id_key: "row_id" }'
    with pytest.raises(InputError, match=r"no column 'row_id' "
                                         r"\(options.confidence_intervals.example_id_key\)"):
        run_evaluation(body, _hard_table(100), str(tmp_path / "out"), report=False)
