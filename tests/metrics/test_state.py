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


def _reference(parts, n, channels, buckets):
    """Full-width sums by hand: ``parts`` of (codes, bucket, values per channel)."""
    out = np.zeros((n, channels, buckets))
    for codes, bucket, values in parts:
        for c in range(channels):
            np.add.at(out[:, c, :], (codes, bucket), values[c])
    return out


def test_sparse_columns_hold_the_buckets_seen():
    """Dense units hold a window of buckets, widened as batches of other ranges merge in
    (their slices in our order, in another, or some of them only); every view of the state
    (rows, entries, dense rows, subsets, unions, a pickled copy) is the full-width sum by
    hand."""
    import pickle

    from evalbeam.metrics.state import StateSpec

    rng = np.random.default_rng(5)
    spec = StateSpec("sketch", (2, 600), sparse=True)
    n, merged, parts = 7, SparseColumn(spec), []
    for (low, high, size), rows in zip(
            [(300, 340, 4000), (100, 120, 3000), (500, 599, 50), (0, 10, 5000), (250, 260, 20),
             (305, 330, 900), (110, 115, 700)],
            [np.arange(n), np.arange(n), rng.permutation(n), np.arange(n), np.arange(n),
             rng.permutation(n), np.array([5, 1, 3])]):
        codes = rng.integers(0, len(rows), size)
        bucket = rng.integers(low, high + 1, size)
        values = [np.ones(size), rng.random(size)]
        batch = SparseColumn.from_rows(spec, codes, len(rows), bucket, values)
        merged.reserve(n)
        merged.merge_from(batch, rows)
        parts.append((rows[codes], bucket, values))
        if len(parts) == 2:  # the buckets between the two batches' ranges, not all 600
            assert (merged.lo, merged.width) == (100, 241)
    want = _reference(parts, n, 2, 600)
    for col in (merged, pickle.loads(pickle.dumps(merged))):
        np.testing.assert_allclose(np.stack([col.row(i) for i in range(n)]), want)
        grid, lo = col.dense_rows(np.arange(n))
        np.testing.assert_allclose(grid, want[:, :, lo:lo + grid.shape[2]])
        assert want[:, :, :lo].sum() == 0 and want[:, :, lo + grid.shape[2]:].sum() == 0
        units, buckets, values = col.entries()
        rebuilt = np.zeros_like(want)
        rebuilt[units, :, buckets] = values
        np.testing.assert_allclose(rebuilt, want)
    rows = np.array([1, 4, 6])
    np.testing.assert_allclose(np.stack([merged.take(rows).row(i) for i in range(3)]),
                               want[rows])
    group = np.array([0, 1, 0, 1, -1, 2, 2])
    rolled = merged.reduce_rows(group, 3)
    for g in range(3):
        np.testing.assert_allclose(rolled.row(g), want[group == g].sum(axis=0))
