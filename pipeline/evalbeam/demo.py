"""A small example evaluation the project ships: generated B1-style data and its config.

``evalbeam demo`` writes the data, evaluates it and prints the result; the benchmark in
``benchmarks/`` generates its data with the same function.
"""
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "b1.textproto")
DATA_FILE, RESULT_DIR = "data.parquet", "result"  # what a demo folder holds
_MARK = {b"evalbeam": b"generated example data"}  # Parquet metadata of the generated data
COUNTRIES = [f"c{i:02d}" for i in range(20)]
DEVICES = ["mobile", "desktop", "tablet"]


def generate(n, path, seed=7, chunk=1 << 20, outcomes=None):
    """B1 data: label, prediction, weight, country (20, skewed), age (18..80), device, 2 unused.

    ``outcomes(rng, country index, device index)`` -> {column: array} replaces B1's binary
    label and prediction (other workloads on B1's slices)."""
    rng = np.random.default_rng(seed)
    p_country = np.linspace(3, 1, 20)
    p_country /= p_country.sum()
    writer = None
    for start in range(0, max(n, 1), chunk):  # n = 0: one empty chunk, for the schema
        m = min(chunk, n - start)
        ci = rng.choice(20, size=m, p=p_country)
        di = rng.choice(3, size=m, p=[0.6, 0.3, 0.1])
        columns = (outcomes or _binary)(rng, ci, di)
        t = pa.table({
            **columns,
            "weight": rng.choice([0.5, 1.0, 2.0], size=m, p=[0.2, 0.6, 0.2]).astype(np.float32),
            "country": pa.array(np.array(COUNTRIES)[ci]), "age": rng.integers(18, 81, size=m),
            "device": pa.array(np.array(DEVICES)[di]),
            "noise_a": rng.normal(size=m).astype(np.float32),
            "noise_b": rng.normal(size=m).astype(np.float32)}).replace_schema_metadata(_MARK)
        writer = writer or pq.ParquetWriter(path, t.schema)
        writer.write_table(t, row_group_size=chunk)
    writer.close()


def _binary(rng, ci, di):
    m = len(ci)
    z = rng.normal(size=m) + 0.05 * (ci - 10) + 0.3 * (di == 1)
    label = (z + rng.normal(size=m) > 0.4).astype(np.int64)
    pred = (1 / (1 + np.exp(-(1.3 * z - 0.5 + rng.normal(scale=0.3, size=m))))).astype(np.float32)
    return {"label": label, "prediction": pred}


def check_folder(folder: str):
    """(data path, result directory) of a demo in ``folder``, which must be missing, empty or
    an earlier demo's folder (its generated data and result, which are replaced); otherwise
    OutputError, and nothing is touched."""
    from evalbeam.errors import OutputError
    from evalbeam.io.output_location import check_output, foreign_entries, local_entries

    data, result = os.path.join(folder, DATA_FILE), os.path.join(folder, RESULT_DIR)
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise OutputError(f"demo --output {folder} is an existing file; give a new or empty "
                          "folder, or an earlier demo's")
    if os.path.isdir(folder):
        names = sorted(os.listdir(folder))
        foreign = [n for n in names if n not in (DATA_FILE, RESULT_DIR)]
        if DATA_FILE in names and not _generated(data):
            foreign.append(DATA_FILE)
        if RESULT_DIR in names and (not os.path.isdir(result) or os.path.islink(result) or
                                    foreign_entries(result, local_entries(result))):
            foreign.append(RESULT_DIR)
        if foreign:
            raise OutputError(f"demo --output {folder} holds files the demo did not write "
                              f"({', '.join(sorted(foreign)[:3])}); give a new or empty folder, "
                              "or an earlier demo's")
    check_output(result, [data])
    os.makedirs(folder, exist_ok=True)
    return data, result


def _generated(path: str) -> bool:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return os.path.isfile(path) and metadata.get(b"evalbeam") == _MARK[b"evalbeam"]
