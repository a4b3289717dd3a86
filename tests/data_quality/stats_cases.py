"""A table with every kind of feature statistics describe, the config that describes it, and
readers of the statistics a run wrote (by slice name and feature)."""
import numpy as np
import pandas as pd
import pyarrow as pa

from evalbeam.data_quality import load_statistics

N = 3000


def table(n: int = N, seed: int = 3) -> pa.Table:
    """Numbers far from zero (mean 1e6, spread 1), NaNs and nulls, float32 numbers of many
    values (NaNs and nulls too), a bool, ints, strings with
    empty strings and nulls, bytes, a list of strings with empty lists and nulls, a list of
    floats, a column of many values, and labels some of which are null (dropped by the
    metrics, described by the statistics)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n).astype(float)
    label[rng.random(n) < 0.05] = np.nan  # nulls below
    big = rng.normal(1e6, 1.0, n)
    big[rng.random(n) < 0.05] = np.nan
    big_mask = rng.random(n) < 0.05
    word = rng.choice(["a", "bb", "", "dddd"], n, p=[0.5, 0.3, 0.1, 0.1]).astype(object)
    word[rng.random(n) < 0.1] = None
    tags = [None if i % 11 == 0 else [f"t{j}" for j in rng.choice(5, i % 4, replace=False)]
            for i in range(n)]
    scores = [None if i % 13 == 0 else rng.normal(0, 1, i % 3).tolist() for i in range(n)]
    own = np.random.default_rng(seed + 1)  # (the other columns' draws unchanged)
    single = own.normal(3.0, 2.0, n).astype(np.float32)  # many values, in single precision
    single[own.random(n) < 0.02] = np.nan
    single_mask = own.random(n) < 0.03
    return pa.table({
        "label": pa.array(label, mask=np.isnan(label)),
        "prediction": rng.random(n),
        "weight": rng.choice([0.5, 1.0, 2.0], n),
        "country": rng.choice(["us", "fr", "de"], n, p=[0.5, 0.3, 0.2]),
        "device": rng.choice(["mobile", "desktop"], n),
        "age": rng.integers(18, 80, n),
        "flag": rng.random(n) < 0.3,
        "big": pa.array(big, mask=big_mask),
        "single": pa.array(single, mask=single_mask),
        "word": pa.array(word, pa.string()),
        "raw": pa.array([bytes([i % 7]) * (i % 5) for i in range(n)], pa.binary()),
        "tags": pa.array(tags, pa.list_(pa.string())),
        "scores": pa.array(scores, pa.list_(pa.float64())),
        "user": pa.array([f"u{v}" for v in rng.integers(0, 1500, n)]),
    })


CONFIG = """
model_specs { label_key: "label" prediction_key: "prediction" %s }
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["country", "device"] } slicing_specs { feature_keys: ["flag"] }
data_quality { statistics: true %s }
"""


def config(weighted: bool = False, extra: str = "") -> str:
    return CONFIG % ('example_weight_key: "weight"' if weighted else "", extra)


def by_slice(path) -> dict:
    """``{slice name: {feature: FeatureNameStatistics}}`` and the datasets by name."""
    stats = load_statistics(path)
    return {d.name: {f.path.step[0]: f for f in d.features} for d in stats.datasets}, \
        {d.name: d for d in stats.datasets}


def slices_of(frame: pd.DataFrame) -> dict:
    """The rows of each slice, by TFDV's slice name."""
    out = {"All Examples": frame}
    for c, rows in frame.groupby("country"):
        out[f"country_{c}"] = rows
    for (c, d), rows in frame.groupby(["country", "device"]):
        out[f"country_{c}_device_{d}"] = rows
    if "flag" in frame:  # (a bool slices as 0 and 1)
        for f, rows in frame.groupby("flag"):
            out[f"flag_{int(f)}"] = rows
    return out
