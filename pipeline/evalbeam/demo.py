"""A small example evaluation the project ships: generated B1-style data and its config.

``evalbeam demo`` writes the data, evaluates it and prints the result; the benchmark in
``benchmarks/`` generates its data with the same function.
"""
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "b1.textproto")
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
    for start in range(0, n, chunk):
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
            "noise_b": rng.normal(size=m).astype(np.float32)})
        writer = writer or pq.ParquetWriter(path, t.schema)
        writer.write_table(t, row_group_size=chunk)
    writer.close()


def _binary(rng, ci, di):
    m = len(ci)
    z = rng.normal(size=m) + 0.05 * (ci - 10) + 0.3 * (di == 1)
    label = (z + rng.normal(size=m) > 0.4).astype(np.int64)
    pred = (1 / (1 + np.exp(-(1.3 * z - 0.5 + rng.normal(scale=0.3, size=m))))).astype(np.float32)
    return {"label": label, "prediction": pred}
