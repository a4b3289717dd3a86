"""Arrow <-> numpy without pandas: the same arrays as pyarrow's own conversions, and an
evaluation that reads, slices and describes its data never imports pandas."""
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from evalbeam.arrow_numpy import to_arrow, to_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64(),
         pa.float16(), pa.float32(), pa.float64(), pa.bool_(), pa.string()]


def _values(typ, n, rng):
    if pa.types.is_boolean(typ):
        return list(rng.random(n) < 0.5)
    if pa.types.is_string(typ):
        return [f"v{k}" for k in rng.integers(0, 5, n)]
    if pa.types.is_floating(typ):
        return list(rng.normal(size=n).astype(np.float16).astype(float))
    return list(rng.integers(0, 100, n).tolist())


@pytest.mark.parametrize("typ", TYPES, ids=str)
@pytest.mark.parametrize("nulls", [False, True], ids=["no nulls", "nulls"])
def test_to_numpy_is_pyarrows_conversion(typ, nulls):
    rng = np.random.default_rng(3)
    values = _values(typ, 37, rng)
    if nulls:
        values = [None if k % 5 == 2 else v for k, v in enumerate(values)]
    array = pa.array(values, typ)
    for part in (array, array.slice(3), array.slice(9, 17), array.slice(37),
                 pa.chunked_array([array.slice(0, 11), array.slice(11)])):
        want = part.to_numpy(zero_copy_only=False) if isinstance(part, pa.Array) else \
            part.to_numpy()
        got = to_numpy(part)
        assert got.dtype == want.dtype
        if want.dtype == object:
            assert got.tolist() == want.tolist()
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("values", [np.arange(11, dtype=np.int64), np.arange(5) % 2 == 0,
                                    np.linspace(0, 1, 13), np.zeros(0), np.arange(9)[::2]],
                         ids=["int64", "bool", "float64", "empty", "strided"])
def test_to_arrow_is_pyarrows_conversion(values):
    got = to_arrow(values)
    assert got.equals(pa.array(values))
    assert to_arrow(values[3:]).equals(pa.array(values[3:]))


def test_an_evaluation_with_statistics_never_imports_pandas(tmp_path):
    """pyarrow's conversions import pandas the first time they run (about half a second of
    every run); the reading, slicing and statistics here convert without them."""
    rng = np.random.default_rng(0)
    n = 5000
    table = pa.table({
        "label": rng.integers(0, 2, n), "prediction": rng.random(n).astype(np.float32),
        "weight": pa.array(rng.choice([0.5, 2.0], n), mask=rng.random(n) < 0.1)
                  .cast(pa.float32()),
        "country": pa.array(rng.choice(["us", "de", None], n).tolist()),
        "age": pa.array([None if k % 7 == 0 else int(v) for k, v in
                         enumerate(rng.integers(18, 80, n))], pa.int64())})
    import pyarrow.parquet as pq

    data = str(tmp_path / "data.parquet")
    pq.write_table(table, data)
    config = tmp_path / "config.pbtxt"
    config.write_text('model_specs { label_key: "label" prediction_key: "prediction" '
                      'example_weight_key: "weight" }\n'
                      'metrics_specs { metrics { class_name: "AUC" } '
                      'metrics { class_name: "ExampleCount" } }\n'
                      'slicing_specs {} slicing_specs { feature_keys: ["country"] }\n'
                      'slicing_specs { feature_keys: ["age"] }\n')
    script = ("import sys\nfrom evalbeam import cli\n"
              "rc = cli.main(sys.argv[1:])\n"
              "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', rc)\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pipeline"))
    done = subprocess.run([sys.executable, "-c", script, "evaluate", "--config", str(config),
                           "--data", data, "--output", str(tmp_path / "out"), "--statistics",
                           "--quiet", "--no_report"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "no pandas 0", done.stdout + done.stderr
