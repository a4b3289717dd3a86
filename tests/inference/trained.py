"""Tiny models trained in the tests, and the data they are evaluated on."""
import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = ["f0", "f1", "f2", "f3"]


def frame(n=3000, seed=0, classes=2):
    """Four numeric features, a label (0/1, or class ids 0..classes-1), a weight, a country,
    and a regression target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    score = X @ np.array([1.2, -0.8, 0.5, 0.0]) + rng.normal(scale=0.8, size=n)
    if classes == 2:
        label = (score > 0).astype(np.int64)
    else:
        label = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    df = pd.DataFrame(X, columns=FEATURES)
    df["label"] = label
    df["weight"] = rng.choice([0.5, 1.0, 2.0], n)
    df["country"] = rng.choice(["fr", "de", "jp"], n, p=[0.5, 0.3, 0.2])
    df["target"] = score
    return df


def write(df, path, row_group_size=None):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path,
                   row_group_size=row_group_size)
    return str(path)


def save(model, path):
    joblib.dump(model, path)
    return str(path)


def one_line_error(capsys, *wanted):
    """The one line the command said on stderr (an ``evalbeam: error:``), holding ``wanted``."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalbeam: error: "), err
    for text in wanted:
        assert text in lines[0], lines[0]
    return lines[0]
