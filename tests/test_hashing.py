"""Stable hashes and the draws made from them: values hash by value whatever their Arrow type
or batch, repeats are told apart, and the draws are uniform and independent (checked against
their distributions with numpy)."""
import numpy as np
import pyarrow as pa

from evalbeam.hashing import value_hashes, distinct, draws, number_hashes, row_hashes
from evalbeam.metrics.resampling import _POISSON_1


def test_numbers_hash_by_value_whatever_the_type_and_nulls_elsewhere_in_the_batch():
    as_ints = value_hashes(pa.array([1, 2, 3], pa.int32()))
    assert (value_hashes(pa.array([1.0, 2.0, 3.0])) == as_ints).all()
    assert (value_hashes(pa.array([True, False])) == value_hashes(pa.array([1, 0]))).all()
    with_null = value_hashes(pa.array([1, None, 3]))
    assert with_null[0] == as_ints[0] and with_null[2] == as_ints[2]
    assert with_null[1] not in as_ints
    assert (number_hashes(np.array([-0.0, 0.5])) == number_hashes(np.array([0.0, 0.5]))).all()
    assert number_hashes(np.array([0.5]))[0] != number_hashes(np.array([0.25]))[0]
    assert value_hashes(pa.array([2 ** 62 + 1]))[0] != value_hashes(pa.array([2 ** 62]))[0]


def test_strings_dictionaries_and_lists_hash_by_their_values():
    plain = value_hashes(pa.array(["us", "de", None]))
    assert (value_hashes(pa.array(["us", "de", None]).dictionary_encode()) == plain).all()
    assert (value_hashes(pa.array([b"us", b"de", None])) == plain).all()
    lists = pa.array([[1, 2], [2, 1], [], None, [1, 2]])
    h = value_hashes(lists)
    assert h[0] == h[4] and len(set(h[:4].tolist())) == 4
    assert (value_hashes(lists.slice(3)) == h[3:]).all()  # a slice hashes as the whole


def test_rows_hash_by_all_their_columns_and_repeats_are_told_apart():
    a, b = np.array([1.0, 1.0, 2.0]), np.array([0.5, 0.25, 0.5])
    rows = row_hashes([a, b])
    assert row_hashes([a, b])[0] != row_hashes([b, a])[0]  # the columns' order counts
    assert (row_hashes([-0.0 * a]) == row_hashes([0.0 * a])).all()
    assert len(set(rows.tolist())) == 3
    assert row_hashes([a[:1], b[:1]])[0] == rows[0]  # a row hashes the same alone
    h = np.array([7, 9, 7, 7, 3], np.uint64)
    d = distinct(h)
    assert len(set(d.tolist())) == 5
    assert d[0] == 7 and d[1] == 9 and d[4] == 3  # first occurrences and single rows keep theirs
    unique = np.array([4, 2, 8], np.uint64)
    assert distinct(unique) is unique


def test_draws_are_uniform_independent_and_poisson_counts_have_mean_and_variance_one():
    hashes = row_hashes([np.arange(200_000) * 0.001])
    parts = draws(hashes, 1, 20, (len(hashes),))
    share = np.bincount(parts, minlength=20) / len(parts)
    assert np.abs(share - 0.05).max() < 0.003  # (binomial sd: 0.0005)
    u = draws(hashes, 2, 1 << 16, (len(hashes), 20), np.uint16).astype(float)
    assert abs(u.mean() / 65535 - 0.5) < 0.002
    # resamples (columns) and sequences (kinds) are uncorrelated
    corr = np.corrcoef(u[:, :6].T)
    assert np.abs(corr - np.eye(6)).max() < 0.01
    other = draws(hashes, 3, 1 << 16, (len(hashes), 1), np.uint16)[:, 0].astype(float)
    assert abs(np.corrcoef(u[:, 0], other)[0, 1]) < 0.01
    counts = _POISSON_1[draws(hashes, 2, 1 << 16, (len(hashes), 20), np.uint16)]
    assert abs(counts.mean() - 1) < 0.003 and abs(counts.var() - 1) < 0.005
    assert abs(np.mean(counts == 0) - np.exp(-1)) < 0.002
    # the same hash, the same draws, wherever it is
    assert (draws(hashes[5:9], 2, 1 << 16, (4, 20), np.uint16) ==
            draws(hashes, 2, 1 << 16, (len(hashes), 20), np.uint16)[5:9]).all()
