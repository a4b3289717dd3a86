"""Slicing columns read dictionary-encoded from Parquet (as Parquet stores strings), or given
dictionary-encoded: a slice per distinct value that occurs, whatever the dictionary holds."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from conftest import BASE, make_table
from evalbeam import run_evaluation
from evalbeam.io import readers
from evalbeam.slicing import ColumnCodes

CONFIG = BASE + """metrics_specs { metrics { class_name: "ExampleCount" }
  metrics { class_name: "AUC" config: '"num_thresholds": 10000' }
  example_weights { unweighted: true } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["country", "device"] }
"""


def _with_odd_dictionary(t: pa.Table) -> pa.Table:
    """``country`` as a dictionary that holds an unused value and a null entry, with some rows
    null."""
    values = t.column("country").to_pylist()
    dictionary = ["zz", "us", "de", "fr", "jp", None]
    indices = [None if i % 97 == 0 else dictionary.index(v) for i, v in enumerate(values)]
    indices[5] = 5  # a row pointing at the dictionary's null entry
    country = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()),
                                             pa.array(dictionary))
    return t.set_column(t.schema.get_field_index("country"), "country", country)


def _expected(t: pa.Table):
    country = t.column("country").cast(pa.string()).to_numpy(zero_copy_only=False)
    device = t.column("device").to_numpy(zero_copy_only=False)
    y, p = t.column("label").to_numpy(), t.column("prediction").to_numpy()
    out = {}
    for c in sorted({v for v in country if v is not None}):
        rows = country == c
        out[(("country", c),)] = (rows.sum(), roc_auc_score(y[rows], p[rows]))
        for d in sorted(set(device[rows])):
            both = rows & (device == d)
            out[(("country", c), ("device", d))] = (both.sum(), None)
    return out


@pytest.mark.parametrize("given_as", ["parquet", "table"])
def test_a_slice_per_value_that_occurs(tmp_path, given_as):
    t = _with_odd_dictionary(make_table(6000, seed=3))
    data = t
    if given_as == "parquet":
        data = str(tmp_path / "d.parquet")
        pq.write_table(t.set_column(t.schema.get_field_index("country"), "country",
                                    t.column("country").cast(pa.string())), data,
                       row_group_size=2500)
    result = run_evaluation(CONFIG, data, str(tmp_path / "out"))
    got = {k: {m.name: v for m, v in ms.items()} for k, ms in result.metrics.items() if k}
    expected = _expected(t)
    assert set(got) == set(expected)
    for key, (count, auc) in expected.items():
        assert got[key]["example_count"] == count
        if auc is not None:
            assert got[key]["auc"] == pytest.approx(auc, abs=2e-4)  # 10,000 buckets
    country, = (s for s in result.summary["specs"] if s["spec"] == "country")
    assert country["rows_with_null_slicing_feature"] == \
        sum(v is None for v in t.column("country").cast(pa.string()).to_pylist())


def test_parquet_strings_come_dictionary_encoded(tmp_path):
    path = str(tmp_path / "d.parquet")
    pq.write_table(make_table(100), path)
    task = readers.read_tasks([path], "parquet")[0]
    batch, = readers.read_task(task, ["label", "country", "age"], 1000,
                               dictionary_columns=["country", "age"])
    assert pa.types.is_dictionary(batch.schema.field("country").type)
    assert pa.types.is_integer(batch.schema.field("age").type)  # only strings and bytes
    assert pa.types.is_integer(batch.schema.field("label").type)


def test_a_dictionary_repeating_a_value_gives_one_code_per_value():
    array = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 2, None, 3], pa.int8()),
                                           pa.array(["a", "b", "a", None]))
    codes = ColumnCodes.encode(array)
    assert codes.values == ["a", "b"]
    np.testing.assert_array_equal(codes.rows, [0, 1, 2, 3])
    np.testing.assert_array_equal(codes.codes, [0, 1, 0, 0])
