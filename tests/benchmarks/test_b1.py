"""benchmarks/b1.py's floor: streamed by row group over a folder of parts, its metrics are
scikit-learn's and numpy's over the whole data."""
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import b1  # noqa: E402
import b1_data  # noqa: E402


def _reference(t, mask):
    y = t["label"][mask].astype(float)
    p = t["prediction"][mask].astype(float)
    w = t["weight"][mask].astype(float)
    hard = p > 0.5
    return {"example_count": w.sum(), "weighted_example_count": w.sum(),
            "mean_label": np.average(y, weights=w), "mean_prediction": np.average(p, weights=w),
            "calibration": (w * p).sum() / (w * y).sum(),
            "binary_accuracy": metrics.accuracy_score(y, hard, sample_weight=w),
            "precision": metrics.precision_score(y, hard, sample_weight=w),
            "recall": metrics.recall_score(y, hard, sample_weight=w),
            "binary_crossentropy": metrics.log_loss(y, p, sample_weight=w, labels=[0, 1]),
            "auc": metrics.roc_auc_score(y, p, sample_weight=w),
            "auc_precision_recall": metrics.average_precision_score(y, p, sample_weight=w)}


# exact sums agree to rounding; log loss clips predictions at 1e-7 (sklearn: float eps);
# the areas come from a 10,000-bucket histogram
TOLERANCE = {"binary_crossentropy": 1e-4, "auc": 1e-3, "auc_precision_recall": 5e-3}


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    saved, b1_data.PART_ROWS = b1_data.PART_ROWS, 12_000
    try:
        return b1_data.b1_data(30_000, str(tmp_path_factory.mktemp("b1")))
    finally:
        b1_data.PART_ROWS = saved


def test_the_floor_over_parts_is_sklearns_over_the_whole(parts):
    got, _ = b1.floor(parts)
    whole = pa.concat_tables(pq.read_table(f) for f in b1_data.parquet_files(parts))
    t = {c: whole.column(c).to_numpy(zero_copy_only=False) for c in whole.column_names}
    masks = {"[]": np.ones(whole.num_rows, bool)}
    for c in sorted(set(t["country"])):
        masks[json.dumps([["country", c]])] = t["country"] == c
        for d in sorted(set(t["device"])):
            masks[json.dumps([["country", c], ["device", d]])] = (
                (t["country"] == c) & (t["device"] == d))
    for a in sorted(set(t["age"].tolist())):
        masks[json.dumps([["age", a]])] = t["age"] == a
    assert set(got) == set(masks)  # 20 countries x 3 devices all present at 30,000 rows
    for key, mask in masks.items():
        want = _reference(t, mask)
        for name, value in want.items():
            assert got[key][name] == pytest.approx(value, rel=TOLERANCE.get(name, 1e-12),
                                                   abs=TOLERANCE.get(name, 0)), (key, name)


def test_the_floor_is_the_same_whatever_the_row_groups(parts, tmp_path):
    whole = pa.concat_tables(pq.read_table(f) for f in b1_data.parquet_files(parts))
    pq.write_table(whole, tmp_path / "one.parquet")
    pq.write_table(whole, tmp_path / "many.parquet", row_group_size=1_000)
    one, _ = b1.floor(str(tmp_path / "one.parquet"))
    for other in (b1.floor(str(tmp_path / "many.parquet"))[0], b1.floor(parts)[0]):
        assert other.keys() == one.keys()
        for key, values in one.items():
            for name, value in values.items():
                assert other[key][name] == pytest.approx(value, rel=1e-12), (key, name)
