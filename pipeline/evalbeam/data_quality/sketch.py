"""A mergeable quantile sketch of numbers: log-scale buckets of relative accuracy ``ALPHA``
(as DDSketch), counted per slice in a sparse :class:`~evalbeam.metrics.state.SliceTable` column
(only the buckets a slice saw are held until it fills up).

The sketch holds ``x - c``, ``c`` the feature's shift (its first value, fixed before the run),
so that its relative accuracy is relative to the data's spread rather than its offset. A value
``x`` with ``MIN_MAGNITUDE <= |x| <= MAX_MAGNITUDE`` falls in the bucket ``k =
ceil(log_gamma |x|)`` of its sign, ``gamma = (1 + ALPHA) / (1 - ALPHA)``, which holds the
magnitudes in ``(gamma^(k-1), gamma^k]``; the bucket stands for ``2 gamma^k / (gamma + 1)``,
within ``ALPHA`` (1%) of every value in it. Smaller magnitudes (and zero) share one bucket that
stands for 0; larger ones (and infinities) go to the last bucket of their sign. So a quantile
read from the sketch is ``c + y`` with ``y`` within 1% (relative) of ``v - c``, ``v`` the exact
(inverted-CDF) quantile, for ``|v - c|`` in [1e-9, 1e15]; integer features round it to an
integer (exact while ``|v - c| <= 50``); quantiles are clamped to the exact min and max.
Histograms come from the same buckets: the standard histogram's equal-width buckets count the
sketch buckets whose value falls in them (a value may be counted in a neighbour bucket when it
lies within 1% of ``|x - c|`` of a boundary).

Sums of counts per bucket are exact and order-free: the sketch of merged partials is the same
whatever the partitioning.
"""
from __future__ import annotations

import math

import numpy as np

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
MIN_MAGNITUDE, MAX_MAGNITUDE = 1e-9, 1e15
K_MIN = math.ceil(math.log(MIN_MAGNITUDE) / LOG_GAMMA)
K_MAX = math.ceil(math.log(MAX_MAGNITUDE) / LOG_GAMMA)
SIDE = K_MAX - K_MIN + 1  # buckets per sign
ZERO = SIDE  # the bucket of 0
BUCKETS = 2 * SIDE + 1


# _UPPER[j]: the largest magnitude of bucket j of a sign (1..SIDE), gamma^(K_MIN - 1 + j), in
# single precision (the precision buckets are told apart in)
_UPPER = (GAMMA ** np.arange(K_MIN - 1, K_MAX + 1, dtype=np.float64)).astype(np.float32)
# log_gamma of a float32 magnitude, in single precision, is within 2e-4 of its exact value
# (|k| < 1800, measured): farther than this from an integer, rounding it up gives the bucket
_NEAR = np.float32(2e-3)


def bucket_of(x: np.ndarray) -> np.ndarray:
    """The sketch bucket of each value (int16), increasing with the value (NaN: -1): the
    least ``k`` with ``|x| <= gamma^k``, told in single precision (a relative error of 6e-8
    beside the buckets' 2%; no integer from 2 to 50 is within 6e-4 of a bound). A
    single-precision logarithm finds it, and the few values within its error of a bound are
    settled by comparing them with the bound; in single precision and in place where it can
    be: a double-precision logarithm costs six times more, and a new array about a pass."""
    with np.errstate(over="ignore"):  # (beyond float32: infinite, the last bucket)
        signed = x.astype(np.float32)
    m = np.abs(signed)
    small = m < MIN_MAGNITUDE  # the zero bucket
    np.clip(m, MIN_MAGNITUDE, MAX_MAGNITUDE, out=m)  # (NaN stays NaN)
    with np.errstate(invalid="ignore"):
        k = np.log(m)
        k *= np.float32(1.0 / LOG_GAMMA)
        near = np.rint(k)
        np.subtract(k, near, out=near)
        np.abs(near, out=near)
        near = near < _NEAR
        np.ceil(k, out=k)
    k -= np.float32(K_MIN - 1)  # (whole numbers, exact in single precision)
    np.clip(k, 1, SIDE, out=k)
    at = np.flatnonzero(near)
    if len(at):  # within the logarithm's error of a bound: settled by comparing with it
        jn, mn = k[at].astype(np.int64), m[at]
        jn += mn > _UPPER[jn]  # above its upper bound: the next bucket
        jn -= 1
        jn += mn > _UPPER[jn]  # back, unless at or below its lower bound
        np.clip(jn, 1, SIDE, out=jn)
        k[at] = jn
    k[small] = 0
    np.copysign(k, signed, out=k)
    k += np.float32(ZERO)
    nan = np.isnan(m)
    if nan.any():
        k[nan] = -1
    return k.astype(np.int16)


def representatives() -> np.ndarray:
    """The value each bucket stands for."""
    j = np.arange(1, SIDE + 1)
    positive = 2.0 * GAMMA ** (j - 1 + K_MIN) / (GAMMA + 1)
    return np.concatenate([-positive[::-1], [0.0], positive])


_REPRESENTATIVES = representatives()


def values_of(buckets: np.ndarray, shift: float = 0.0, integer: bool = False) -> np.ndarray:
    """The values ``buckets`` stand for in a sketch of ``x - shift`` (rounded to integers
    for an integer feature: exact while ``|x - shift| <= 50``, where a bucket holds at most
    one integer)."""
    out = _REPRESENTATIVES[buckets] + shift
    return np.rint(out) if integer else out


def quantiles(buckets: np.ndarray, counts: np.ndarray, qs, low: float, high: float,
              shift: float = 0.0, integer: bool = False) -> np.ndarray:
    """The ``qs`` quantiles of a sketch given as its non-empty ``buckets`` (ascending) and
    their ``counts`` (or weights): the value of the bucket holding rank ``q * total`` (the
    inverted-CDF quantile), clamped to ``[low, high]`` (the exact min and max; q = 0 and 1
    give them)."""
    qs = np.asarray(qs, np.float64)
    total = counts.sum()
    if not len(buckets) or total <= 0:
        return np.full(len(qs), np.nan)
    cumulative = np.cumsum(counts)
    at = np.searchsorted(cumulative, qs * total, side="left")
    out = values_of(buckets[np.minimum(at, len(buckets) - 1)], shift, integer)
    out = np.clip(out, low, high)
    out[qs <= 0] = low
    out[qs >= 1] = high
    return out
