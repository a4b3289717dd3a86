"""Every user path through Beam's FileSystems: a whole evaluation reads its data, CSV schema,
config file and baseline result from an object store and writes its output there, and
``load_result`` and ``evalbeam show`` read it back (``memstore://``, tests/memory_filesystem.py,
stands for gs:// and s3://)."""
import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from sklearn.metrics import roc_auc_score

import memory_filesystem
from evalbeam import load_result
from evalbeam.cli import main
from evalbeam.errors import ConfigError
from evalbeam.config import load_config

BUCKET = "memstore://bucket"
CANDIDATE = """
model_specs { name: "cand" label_key: "label" prediction_key: "prediction" }
model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }
slicing_specs {} slicing_specs { feature_keys: ["code"] }
"""
BASELINE = """
model_specs { name: "base" label_key: "label" prediction_key: "p_base" }
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }
slicing_specs {} slicing_specs { feature_keys: ["code"] }
"""
# "code" holds digits the CSV reader would take for integers: the schema makes them strings
SCHEMA = """feature { name: "label" type: INT } feature { name: "prediction" type: FLOAT }
feature { name: "p_base" type: FLOAT } feature { name: "code" type: BYTES }"""


def _put(name: str, data: bytes) -> str:
    path = f"{BUCKET}/{name}"
    memory_filesystem.OBJECTS[path] = data
    return path


def _table(n=600):
    rng = np.random.default_rng(21)
    label = rng.integers(0, 2, n)
    return pa.table({"label": label, "prediction": rng.random(n) * 0.6 + 0.4 * label,
                     "p_base": rng.random(n) * 0.8 + 0.2 * label,
                     "code": rng.choice([7, 42], n)})


def _csv(table) -> bytes:
    sink = io.BytesIO()
    pcsv.write_csv(table, sink)
    return sink.getvalue()


def test_evaluation_reads_and_writes_an_object_store(capsys):
    memory_filesystem.OBJECTS.clear()
    table = _table()
    first, second = table.slice(0, 250), table.slice(250)
    _put("data/part-0.csv", _csv(first))
    _put("data/part-1.csv", _csv(second))
    schema = _put("schema.pbtxt", SCHEMA.encode())
    candidate = _put("configs/candidate.textproto", CANDIDATE.encode())
    baseline = _put("configs/baseline.textproto", BASELINE.encode())
    data = f"{BUCKET}/data/*.csv"
    base_out, out = f"{BUCKET}/runs/base", f"{BUCKET}/runs/cand"

    assert main(["evaluate", "--config", baseline, "--data", data, "--schema", schema,
                 "--output", base_out]) == 0
    assert main(["evaluate", "--config", candidate, "--data", data, "--schema", schema,
                 "--output", out, "--baseline_result", base_out]) == 0
    capsys.readouterr()

    y, p, p_base = (table.column(c).to_numpy() for c in ("label", "prediction", "p_base"))
    code = table.column("code").to_numpy()
    result = load_result(out)
    assert result.summary["rows_read"] == 600
    # the schema typed "code" as strings: slice keys "7" and "42", not integers
    assert sorted(result.metrics) == [(), (("code", "42"),), (("code", "7"),)]
    for key, rows in [((), slice(None)), ((("code", "7"),), code == 7)]:
        values = {(k.name, k.model_name, k.is_diff): v for k, v in result.metrics[key].items()}
        want_cand, want_base = roc_auc_score(y[rows], p[rows]), roc_auc_score(y[rows], p_base[rows])
        assert values[("auc", "cand", False)] == pytest.approx(want_cand, abs=1e-3)
        # the baseline's AUC comes from the baseline result read back from the store
        assert values[("auc", "base", False)] == pytest.approx(want_base, abs=1e-3)
        assert values[("auc", "cand", True)] == pytest.approx(want_cand - want_base, abs=2e-3)
    assert f"{out}/report.html" in memory_filesystem.OBJECTS
    assert not [n for n in memory_filesystem.OBJECTS if n.startswith(f"{BUCKET}/runs/.")]

    assert main(["show", out]) == 0
    shown = capsys.readouterr().out
    assert "auc" in shown and "600" in shown


def test_missing_config_in_an_object_store_is_one_line():
    memory_filesystem.OBJECTS.clear()
    with pytest.raises(ConfigError, match=r"config file memstore://bucket/none.textproto: "
                                          r"no such file$"):
        load_config(f"{BUCKET}/none.textproto")


def test_missing_schema_in_an_object_store_is_a_user_error(capsys):
    memory_filesystem.OBJECTS.clear()
    data = _put("data/part-0.csv", _csv(_table(50)))
    config = _put("configs/baseline.textproto", BASELINE.encode())
    code = main(["evaluate", "--config", config, "--data", data, "--schema",
                 f"{BUCKET}/none.pbtxt", "--output", f"{BUCKET}/runs/x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "schema memstore://bucket/none.pbtxt: no such file" in err
    assert "Traceback" not in err
