"""Value counts per slice: exact up to the cap, a K-minimum-values estimate beyond it (within
its bound, the same whatever the merge order), state that follows what was seen (a 200k-value
column does not give every slice 200k counters), the round trip through the shuffle's coder."""
import collections

import numpy as np
import pyarrow as pa

from evalbeam.combine import SliceTableCoder
from evalbeam.data_quality.value_counts import ValueCounts, estimate_unique
from evalbeam.hashing import hash_bytes, mix64
from evalbeam.metrics.state import SliceTable, StateSpec

CAP = 500


def _spec(cap=CAP):
    return StateSpec("v|str:values", (1,), counts=True, cap=cap)


def _column(values: list, slices: np.ndarray, n: int, cap=CAP) -> ValueCounts:
    array = pa.array(values)
    encoded = array.dictionary_encode()
    dictionary = encoded.dictionary
    index = encoded.indices.to_numpy().astype(np.int64)
    return ValueCounts.from_pairs(_spec(cap), n, slices, index, dictionary,
                                  mix64(hash_bytes(dictionary)), [np.ones(len(values))])


def _merged(parts, n):
    total = ValueCounts(_spec(parts[0].cap))
    total.reserve(n)
    for p in parts:
        total.merge_from(p, np.arange(n))
    total.compact()
    return total


def test_exact_under_the_cap():
    rng = np.random.default_rng(0)
    values = [f"v{k}" for k in rng.integers(0, 300, 5000)]
    slices = rng.integers(0, 3, 5000)
    parts = [_column(values[i:i + 700], slices[i:i + 700], 3) for i in range(0, 5000, 700)]
    col = _merged(parts, 3)
    for s in range(3):
        want = collections.Counter(v for v, c in zip(values, slices) if c == s)
        row = col.row(s)
        assert not row["capped"]
        assert estimate_unique(row["hashes"], False, CAP) == len(want)
        got = dict(zip(col.value_of(row["hashes"]), row["values"][:, 0]))
        assert got == {v.encode(): float(c) for v, c in want.items()}


def test_above_the_cap_estimated_within_bound_and_order_free():
    rng = np.random.default_rng(1)
    n_values = 20_000
    values = [f"id-{k}" for k in rng.integers(0, 10 ** 9, n_values)]
    distinct = len(set(values))
    slices = np.zeros(n_values, np.int64)
    parts = [_column(values[i:i + 1000], slices[i:i + 1000], 1) for i in range(0, n_values, 1000)]
    forward, backward = _merged(parts, 1), _merged(parts[::-1], 1)
    row = forward.row(0)
    assert row["capped"]
    estimate = estimate_unique(row["hashes"], True, CAP)
    assert abs(estimate - distinct) <= 4 * distinct / np.sqrt(CAP - 2)  # 4 standard errors
    assert estimate == estimate_unique(backward.row(0)["hashes"], True, CAP)
    # the sample (the cap smallest hashes) and its counts are the same in any order
    np.testing.assert_array_equal(np.sort(row["hashes"])[:CAP],
                                  np.sort(backward.row(0)["hashes"])[:CAP])
    assert len(row["hashes"]) <= CAP + forward.top


def test_a_frequent_value_is_kept_above_the_cap():
    rng = np.random.default_rng(2)
    values = [f"u{k}" for k in rng.integers(0, 10 ** 9, 20_000)] + ["popular"] * 3000
    rng.shuffle(values)
    slices = np.zeros(len(values), np.int64)
    col = _merged([_column(values[i:i + 2000], slices[i:i + 2000], 1)
                   for i in range(0, len(values), 2000)], 1)
    row = col.row(0)
    counts = dict(zip(col.value_of(row["hashes"]), row["values"][:, 0]))
    assert counts[b"popular"] == 3000


def test_state_follows_what_was_seen():
    """200k distinct values over 144 slices: each slice holds the values it saw (at most the
    cap and the top), not 200k counters."""
    rng = np.random.default_rng(3)
    n = 400_000
    values = pa.array([f"k{v}" for v in rng.integers(0, 200_000, n)])
    slices = rng.integers(0, 144, n)
    encoded = values.dictionary_encode()
    col = ValueCounts.from_pairs(_spec(), 144, slices, encoded.indices.to_numpy().astype(np.int64),
                                 encoded.dictionary, mix64(hash_bytes(encoded.dictionary)),
                                 [np.ones(n)])
    per_slice = np.bincount(col.rows, minlength=144)
    assert per_slice.max() <= CAP + col.top
    assert col.capped.all()
    assert col.nbytes() < 144 * (CAP + col.top) * 40 + len(col.store_values.buffers()[2])


def test_round_trip_through_the_coder():
    values = ["a", "b", "a", "c", "", "b"]
    col = _column(values, np.array([0, 0, 1, 1, 1, 0]), 2)
    table = SliceTable.from_batch({"v|str:values": _spec()}, [(("s", 1),), (("s", 2),)],
                                  np.array([3, 3]), {"v|str:values": col})
    holder = SliceTable.from_batch({}, [], np.zeros(0, np.int64), {})
    holder.statistics["data"] = table
    coder = SliceTableCoder()
    back = coder.decode(coder.encode(holder)).statistics["data"]
    got = back.columns["v|str:values"]
    for s in range(2):
        assert sorted(got.value_of(got.row(s)["hashes"])) == \
            sorted(col.value_of(col.row(s)["hashes"]))
    reduced = back.reduce_slices(np.array([0, 0]), [()])
    counts = dict(zip(reduced.columns["v|str:values"].value_of(
        reduced.columns["v|str:values"].row(0)["hashes"]),
        reduced.columns["v|str:values"].row(0)["values"][:, 0]))
    assert counts == {b"a": 2, b"b": 2, b"c": 1, b"": 1}
