"""Roll-up: a coarse slicing spec's partial table of a batch made from a finer spec's table of
the same batch, instead of counting the rows again (B1's ``country`` slices from ``country x
device``, its overall slice from ``age``).

Spec C rolls up from spec F (:func:`rolls_up`) when every slice of C is a union of slices of
F: C slices by some of F's ``feature_keys`` and may fix the value of others of them
(``feature_values``), and F fixes no value that C does not fix alike. F's other feature keys,
the *extra* columns, split each slice of C into slices of F. C's state of a slice is then the
reduction of the states of F's slices it holds (each state by its own: sum, min or max, as
merging partials of disjoint examples; a resample's draws are the example's in either spec),
provided each example of C is in exactly one of them. Per batch (:func:`roll_up`):

- an example with no value in an extra column (null, empty list) is in none of F's slices:
  those examples are counted for C directly, into the same slices, and added in;
- an example with several values in an extra column (a list) is in several of F's slices; so
  is one whose list column holds several values C's fixed value matches: a batch that has one
  is counted directly.

Only the row path rolls up: query metrics make their partials from whole queries
(:mod:`evalbeam.queries`), and with them every spec is counted directly.
"""
from __future__ import annotations

import functools

import numpy as np

from evalbeam.slicing import (SliceAssignment, SliceSpec, radix_widths, slice_keys, slice_pairs,
                              value_hits)


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def rolls_up(coarse: SliceSpec, fine: SliceSpec) -> bool:
    """Whether every slice of ``coarse`` is a union of slices of ``fine`` (see the module)."""
    fine_fixed, coarse_fixed = dict(fine.feature_values), dict(coarse.feature_values)
    if not set(coarse.feature_keys) <= set(fine.feature_keys):
        return False
    if any(c not in coarse_fixed or not _same(coarse_fixed[c], v) for c, v in fine_fixed.items()):
        return False
    return all(c in fine.feature_keys or _same(fine_fixed.get(c), v)
               for c, v in coarse_fixed.items())


@functools.lru_cache(maxsize=64)
def sources(slice_specs: tuple) -> dict:
    """``{coarse spec index: fine spec index}``: the specs rolled up from another, each from a
    spec counted directly, the one with the fewest columns (the first of those). A spec rolls
    up whenever it can."""
    specs = list(slice_specs)
    order = sorted(range(len(specs)), key=lambda i: (-len(specs[i].columns),
                                                     len(specs[i].feature_values), i))
    counted, out = [], {}
    for i in order:  # a spec's finer specs come before it
        fine = [j for j in counted if rolls_up(specs[i], specs[j])]
        if fine:
            out[i] = min(fine, key=lambda j: (len(specs[j].columns), j))
        else:
            counted.append(i)
    return out


def roll_up(coarse: SliceSpec, fine: SliceSpec, assigned: SliceAssignment, column,
            n_rows: int):
    """How ``coarse``'s slices of one batch come from ``fine``'s (``assigned``, with
    ``column(name)`` the batch's :class:`~evalbeam.slicing.ColumnCodes`): ``(keys, group,
    rest)``, ``coarse``'s slice keys in the order counting them directly gives, the slice of
    ``keys`` each slice of ``fine`` adds into (-1: none), and ``rest``, the (row, slice) pairs
    of the examples in none of ``fine``'s slices as ``(codes, rows)`` into ``keys`` (None when
    there are none). None when the batch's examples must be counted directly.
    """
    extras = [c for c in fine.feature_keys if c not in coarse.columns]
    if not n_rows or any(_has_repeats(column(c)) for c in extras):
        return None
    for name, wanted in coarse.feature_values:
        if name in fine.feature_keys and _has_repeats(column(name)) and \
                np.count_nonzero(value_hits(column(name), wanted)) > 1:
            return None
    # each fine slice's digits -> its coarse combined code, and whether coarse keeps it
    digits, combined = {}, assigned.combined
    for (name, _), width in zip(reversed(assigned.radix), reversed(radix_widths(assigned.radix))):
        combined, digits[name] = np.divmod(combined, width)
    radix = [(name, column(name).values) for name in coarse.feature_keys]
    codes = np.zeros(len(assigned.combined), np.int64)
    for name, width in zip(coarse.feature_keys, radix_widths(radix)):
        codes = codes * width + digits[name]
    kept = np.ones(len(codes), bool)
    for name, wanted in coarse.feature_values:
        if name in digits:
            kept &= value_hits(column(name), wanted)[digits[name]]
    rest = _rest(coarse, extras, column, n_rows)
    occurring = np.unique(np.concatenate([codes[kept]] + ([rest[0]] if rest else [])))
    group = np.where(kept, np.searchsorted(occurring, codes), -1)
    if rest:
        rest = (np.searchsorted(occurring, rest[0]), rest[1])
    return slice_keys(occurring, radix, coarse.feature_values), group, rest


def _has_repeats(col) -> bool:
    """Whether some row holds several values of the column (pairs are sorted by row)."""
    return col.rows is not None and bool(np.any(col.rows[1:] == col.rows[:-1]))


def _rest(coarse: SliceSpec, extras: list, column, n_rows: int):
    """``(combined codes, rows)`` of ``coarse``'s (row, slice) pairs whose row has no value in
    some extra column (None when there are none)."""
    valued = None
    for name in extras:
        col = column(name)
        if col.rows is not None and len(col.rows) < n_rows:  # (rows are distinct here)
            present = np.zeros(n_rows, bool)
            present[col.rows] = True
            valued = present if valued is None else valued & present
    if valued is None:
        return None
    rows, codes, _ = slice_pairs(coarse, column, n_rows)
    rows = np.arange(n_rows) if rows is None else rows
    missing = ~valued[rows]
    if not missing.any():
        return None
    return codes[missing], rows[missing]
