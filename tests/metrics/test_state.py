"""SliceTable.take: a subset of a spec's slices (dense and sparse states alike) keeps every
slice's state, counts and weights."""
import numpy as np
import pyarrow as pa

from conftest import accumulate, plan
from evalbeam.metrics.state import SparseColumn

CONFIG = """metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "MeanLabel" }
                            metrics { class_name: "CalibrationPlot" } }
slicing_specs { feature_keys: ["group"] }
options { compute_confidence_intervals { value: true } }
"""


def test_take_keeps_each_slice_state():
    rng = np.random.default_rng(0)
    group = np.concatenate([np.repeat([0, 1, 2], 3000), np.repeat(np.arange(3, 300), 2)])
    rng.shuffle(group)
    n = len(group)
    t = pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                  "weight": rng.choice([0.5, 1.0], n), "group": group})
    eval_plan = plan(CONFIG)
    table = accumulate(eval_plan, t.to_batches(max_chunksize=2500))[0]
    hist = next(c for c in table.columns.values() if isinstance(c, SparseColumn))
    dense = np.flatnonzero(hist.slot[: hist.n] >= 0)
    assert 0 < len(dense) < len(table)  # both kinds of rows are there
    cells = table.cells()
    for rows in (np.arange(len(table)), np.arange(1, 40), np.sort(np.r_[dense, 5, 77, 250])):
        part = table.take(rows)
        assert part.keys == [table.keys[i] for i in rows]
        np.testing.assert_array_equal(part.counts, table.counts[rows])
        np.testing.assert_array_equal(part.weights, table.weights[rows])
        np.testing.assert_array_equal(part.cells(), cells[rows])
        for key in part.keys:
            mine, theirs = table.row(key), part.row(key)
            for name in mine:
                np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
    # each slice's histogram holds its examples' weight, by hand
    w = t.column("weight").to_numpy()
    total = hist.entries()
    weights = np.bincount(total[0], weights=total[2][:, :2].sum(axis=1), minlength=len(table))
    by_group = np.bincount(group, weights=w)
    np.testing.assert_allclose(weights, [by_group[k[0][1]] for k in table.keys])
