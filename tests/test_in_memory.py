"""In-memory input: pyarrow Tables, pandas DataFrames, and Evaluate in a pipeline of the user's
own (record batches, tables, or rows as dicts), checked against numpy and scikit-learn."""
import os
import subprocess
import sys
import tempfile
import types

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

import evalbeam
from conftest import BASE, make_table
from evalbeam import run_evaluation
from evalbeam.errors import InputError

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" }
                metrics { class_name: "AUC" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def _check_against_numpy(result, table):
    """Weighted count, mean label and AUC of every slice, from the rows themselves."""
    y = table.column("label").to_numpy().astype(float)
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy().astype(float)
    country = np.array(table.column("country").to_pylist())
    assert set(result.metrics) == {()} | {(("country", c),) for c in set(country)}
    for key in result.metrics:
        m = np.ones(len(y), bool) if not key else country == key[0][1]
        assert result.value("example_count", key) == pytest.approx(w[m].sum(), rel=1e-12)
        assert result.value("mean_label", key) == pytest.approx(
            np.average(y[m], weights=w[m]), rel=1e-12)
        # 10,000-bucket histogram AUC against the exact one
        assert result.value("auc", key) == pytest.approx(
            roc_auc_score(y[m], p[m], sample_weight=w[m]), abs=2e-3)


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path, monkeypatch):
    """Temporary files of a run go to a folder of the test's own, to see them removed."""
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    return spill


def test_pyarrow_table_in_several_batches(tmp_path, own_tempdir):
    table = make_table(3000, seed=3)
    result = run_evaluation(CONFIG, table, str(tmp_path / "out"), batch_size=700)
    _check_against_numpy(result, table)
    assert result.summary["rows_read"] == 3000
    assert list(own_tempdir.iterdir()) == []  # the spilled table is gone


def test_list_of_record_batches_and_one_record_batch(tmp_path):
    table = make_table(1000, seed=4)
    _check_against_numpy(run_evaluation(CONFIG, table.to_batches(max_chunksize=300),
                                        str(tmp_path / "a")), table)
    _check_against_numpy(run_evaluation(CONFIG, table.combine_chunks().to_batches()[0],
                                        str(tmp_path / "b")), table)


def test_pandas_dataframe(tmp_path):
    table = make_table(2000, seed=6)
    frame = table.to_pandas()
    frame["text"] = "unused"  # columns the config does not read are not converted
    result = run_evaluation(CONFIG, frame, str(tmp_path / "out"))
    _check_against_numpy(result, table)


def test_pandas_dataframe_with_object_strings_and_missing_values(tmp_path):
    frame = pd.DataFrame({"label": [1.0, 0.0, np.nan, 1.0], "prediction": [0.9, 0.2, 0.5, 0.4],
                          "weight": [1.0, 2.0, 1.0, 1.0],
                          "country": pd.Series(["us", "de", "us", None], dtype=object)})
    result = run_evaluation(CONFIG, frame, str(tmp_path / "out"))
    assert result.summary["rows_dropped"] == {"null label ('label')": 1}
    assert result.value("example_count") == 4.0  # 1 + 2 + 1, the NaN label's row dropped
    assert result.value("example_count", (("country", "us"),)) == 1.0
    assert (("country", None),) not in result.metrics


def test_pandas_dataframe_errors_name_the_problem(tmp_path):
    frame = make_table(50).to_pandas().drop(columns=["weight"])
    with pytest.raises(InputError, match="in-memory table: no column 'weight' .*columns present: "
                                         "label, prediction, country, device, age"):
        run_evaluation(CONFIG, frame, str(tmp_path / "out"))
    frame = make_table(4).to_pandas()
    frame["label"] = pd.Series([1, "yes", 0, 1], dtype=object)
    with pytest.raises(InputError, match="pandas DataFrame: cannot convert it to Arrow: .*label"):
        run_evaluation(CONFIG, frame, str(tmp_path / "out"))


def test_a_bad_value_names_the_rows_of_the_table(tmp_path):
    table = make_table(1000, seed=1)
    labels = table.column("label").to_numpy().copy()
    labels[730] = 3
    table = table.set_column(0, "label", pa.array(labels))
    with pytest.raises(InputError, match=r"in-memory table \(rows 500-999\): column 'label' "
                                         r"\(label_key\) has 1 label\(s\) that are not 0 or 1"):
        run_evaluation(CONFIG, table, str(tmp_path / "out"), batch_size=500)
    assert not (tmp_path / "out").exists()


def test_a_table_needs_no_pandas(tmp_path):
    """Without pandas importable, a pyarrow.Table still evaluates (pandas is never imported by
    evalbeam unless a DataFrame is given)."""
    code = ("import sys\n"
            "class NoPandas:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'pandas':\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NoPandas())\n"
            "import pyarrow.parquet as pq, evalbeam\n"
            f"r = evalbeam.run_evaluation({CONFIG!r}, pq.read_table(sys.argv[1]), sys.argv[2])\n"
            "print(r.summary['rows_read'], 'pandas' in sys.modules)\n")
    data = str(tmp_path / "d.parquet")
    pq.write_table(make_table(300), data)
    done = subprocess.run([sys.executable, "-c", code, data, str(tmp_path / "out")],
                          capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "300 False"


@pytest.mark.parametrize("read", ["rows", "tables"])
def test_evaluate_in_a_pipeline_of_ones_own(tmp_path, read):
    table = make_table(5000, seed=8)
    labels = table.column("label").to_pylist()
    labels[17] = None
    table = table.set_column(0, "label", pa.array(labels, pa.int64()))
    path = str(tmp_path / "preds.parquet")
    pq.write_table(table, path, row_group_size=1500)
    out = str(tmp_path / "out")
    source = beam.io.ReadFromParquet(path) if read == "rows" else \
        beam.io.ReadFromParquetBatched(path)
    with beam.Pipeline() as pipeline:
        _ = pipeline | source | evalbeam.Evaluate(CONFIG, out)
    result = evalbeam.load_result(out)
    assert result.summary["rows_read"] == 5000
    assert result.summary["rows_dropped"] == {"null label ('label')": 1}
    kept = table.filter(pa.array([v is not None for v in labels]))
    _check_against_numpy(result, kept)


def test_rows_are_gathered_into_batches_not_evaluated_one_by_one(monkeypatch):
    """The dict rows of a bundle become record batches of ROWS_PER_BATCH (and the rest)."""
    from evalbeam import api
    from conftest import plan

    monkeypatch.setattr(api, "ROWS_PER_BATCH", 40)
    seen = []

    def partials(batch, _):
        seen.append(batch.num_rows)
        return types.SimpleNamespace(rows_read=batch.num_rows, dropped={}), []

    monkeypatch.setattr(api, "batch_partials", partials)
    fn = api._ComputePartials(plan('metrics_specs { metrics { class_name: "ExampleCount" } }'))
    fn.start_bundle()
    for row in make_table(100).to_pylist():
        list(fn.process(row, window=beam.transforms.window.GlobalWindow()))
    list(fn.finish_bundle() or [])
    assert seen == [40, 40, 20]


def test_evaluate_refuses_other_elements(tmp_path):
    with pytest.raises(Exception, match="Evaluate takes pyarrow.RecordBatch or pyarrow.Table "
                                        "elements, or rows as dicts; got a builtins.int"):
        with beam.Pipeline() as pipeline:
            _ = pipeline | beam.Create([1, 2]) | evalbeam.Evaluate(CONFIG, str(tmp_path / "out"))


def test_paths_tables_and_what_is_neither(tmp_path):
    import pathlib

    table = make_table(400, seed=12)
    path = pathlib.Path(tmp_path / "d.parquet")
    pq.write_table(table, path)
    _check_against_numpy(run_evaluation(CONFIG, path, str(tmp_path / "a")), table)
    _check_against_numpy(run_evaluation(CONFIG, [table.slice(0, 100), table.slice(100)],
                                        str(tmp_path / "b")), table)
    with pytest.raises(InputError, match="data: expected a path or glob .*; got a numpy.ndarray"):
        run_evaluation(CONFIG, np.zeros(3), str(tmp_path / "c"))
    with pytest.raises(InputError, match="got a list of builtins.dict"):
        run_evaluation(CONFIG, table.to_pylist(), str(tmp_path / "c"))
