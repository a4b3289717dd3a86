"""A slicing spec's merged statistics table -> one tensorflow-metadata
``DatasetFeatureStatistics`` per slice, with TFDV's definitions and slice names.

Per feature (``FeatureNameStatistics``, named by ``path``): ``common_stats`` (examples with a
value, missing, min / max / avg / total values per example; weighted: ``weighted_common_stats``);
numbers (``num_stats``): mean and standard deviation (population, over finite values), zeros,
min, median, max (NaN left out), a standard histogram of 10 equal-width buckets and a
quantiles histogram of 10 buckets (NaNs in ``num_nan``), and with weights
``weighted_numeric_stats``; strings (``string_stats``): unique values, the top values with their
counts, a rank histogram, average length (bytes); bytes (``bytes_stats``): unique values and
average / min / max bytes.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from evalbeam.data_quality import sketch
from evalbeam.data_quality.accumulate import COMMON_SUM, NUM_SUM, STR_SUM
from evalbeam.data_quality.columns import TYPE_NAMES
from evalbeam.data_quality.value_counts import estimate_unique
from evalbeam.io.data_quality import UNIQUE_ESTIMATED

ALL_EXAMPLES = "All Examples"  # TFDV's name of the overall slice
HISTOGRAM_BUCKETS = 10
QUANTILE_BUCKETS = 10
TOP_VALUES = 20
RANK_BUCKETS = 1000
_C, _N, _S = ({n: i for i, n in enumerate(names)} for names in (COMMON_SUM, NUM_SUM, STR_SUM))


def slice_name(slice_key: tuple) -> str:
    """TFDV's name of a slice: ``All Examples``, ``country_us``, ``country_us_device_mobile``
    (columns in order of their names)."""
    if not slice_key:
        return ALL_EXAMPLES
    parts = []
    for column, value in sorted(slice_key, key=lambda e: e[0]):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        parts.append(f"{column}_{value}")
    return "_".join(parts)


def features_of(table) -> list:
    """The features a statistics table describes, in the order first seen."""
    return list(dict.fromkeys(name.rsplit("|", 1)[0] for name in table.columns
                              if not name.startswith("|")))


CHUNK = 256  # slices summarised at a time (their sketches are made dense)


def datasets(table, weighted: bool, shifts: dict | None = None, rows=None,
             scales: dict | None = None) -> list:
    """``DatasetFeatureStatistics`` of the slices of ``table`` at ``rows`` (all by default),
    in that order; ``shifts`` and ``scales``: those the numeric features' sums were taken
    with (:class:`~evalbeam.data_quality.plan.DataQualityPlan`)."""
    table.compact()
    rows = np.arange(len(table)) if rows is None else np.asarray(rows, np.int64)
    out = []
    for start in range(0, len(rows), CHUNK):
        out += _chunk(table, weighted, dict(shifts or {}), rows[start:start + CHUNK],
                      dict(scales or {}))
    return out


def _chunk(table, weighted: bool, shifts: dict, rows: np.ndarray, scales: dict) -> list:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from evalbeam.metrics.state import DenseColumn

    names = features_of(table)
    columns = {name: col.data[rows] if isinstance(col, DenseColumn) else col
               for name, col in table.columns.items()}
    columns["|shifts"], columns["|scales"], columns["|rows"] = shifts, scales, rows
    columns["|summaries"] = {}
    for name in names:
        if f"{name}|num:sketch" in columns:
            integer = np.nanmax(columns[f"{name}|common:max"][:, 2], initial=0) == 1
            columns["|summaries"][name] = numeric_summaries(
                columns[f"{name}|num:sketch"], rows, columns[f"{name}|num:min"][:, 0],
                columns[f"{name}|num:max"][:, 0], shifts.get(name, 0.0), bool(integer),
                weighted)
    out = []
    for j, i in enumerate(rows.tolist()):
        ds = statistics_pb2.DatasetFeatureStatistics(
            name=slice_name(table.keys[i]), num_examples=int(table.counts[i]))
        if weighted:
            ds.weighted_num_examples = float(table.weights[i])
        for feature in names:
            _feature(ds.features.add(), feature, columns, j, int(table.counts[i]),
                     float(table.weights[i]), weighted)
        out.append(ds)
    return out


def numeric_summaries(col, rows, low, high, shift: float, integer: bool, weighted: bool) -> dict:
    """For the slices ``rows`` of a sketch column, per channel (counts, weights): the
    quantiles at 0, 0.1, ..., 1 (``quantiles``, rows x 11), the total (``total``), whether
    the slice's exact ``low`` and ``high`` are ``finite``, and its standard and quantiles
    histograms' buckets on the wire (``standard``, ``quantile``: :func:`_encoded_buckets`)."""
    grid, lo = col.dense_rows(rows)
    qs = np.arange(QUANTILE_BUCKETS + 1) / QUANTILE_BUCKETS
    buckets = lo + np.arange(grid.shape[2])
    represented = sketch.values_of(buckets, shift, integer)
    finite = np.isfinite(low) & np.isfinite(high)
    span = np.where(finite & (high > low), high - low, 1.0)
    where = np.clip(represented[None, :], np.where(finite, low, 0)[:, None],
                    np.where(finite, high, 0)[:, None])
    k = np.clip(np.floor((where - np.where(finite, low, 0)[:, None]) / span[:, None] *
                         HISTOGRAM_BUCKETS), 0, HISTOGRAM_BUCKETS - 1).astype(np.int64)
    k += (np.arange(len(rows)) * HISTOGRAM_BUCKETS)[:, None]
    out = {}
    for channel in range(grid.shape[1] if weighted else 1):
        cells = grid[:, channel, :]
        cumulative = np.cumsum(cells, axis=1)
        total = cumulative[:, -1]
        at = np.stack([np.searchsorted(cumulative[r], qs * total[r], side="left")
                       for r in range(len(rows))]) if len(rows) else np.zeros((0, len(qs)), int)
        values = sketch.values_of(buckets[np.minimum(at, grid.shape[2] - 1)], shift, integer)
        values = np.clip(values, low[:, None], high[:, None])
        values[:, 0], values[:, -1] = low, high
        histogram = np.bincount(k.ravel(), weights=cells.ravel(),
                                minlength=len(rows) * HISTOGRAM_BUCKETS)
        histogram = histogram.reshape(len(rows), HISTOGRAM_BUCKETS)
        out[channel] = {"quantiles": values, "total": total, "finite": finite,
                        "standard": _standard_buckets(low, high, histogram, total, finite),
                        "quantile": _encoded_buckets(values[:, :-1], values[:, 1:], np.repeat(
                            (total / QUANTILE_BUCKETS)[:, None], QUANTILE_BUCKETS, axis=1))}
    return out


def _standard_buckets(low, high, histogram, total, finite) -> list:
    """Per slice, the encoded buckets (:func:`_encoded_buckets`) of its standard histogram:
    ``HISTOGRAM_BUCKETS`` of equal width from ``low`` to ``high`` (the last one ending at
    ``high`` exactly), or one from ``low`` to ``high`` holding ``total`` when they are equal
    (for the slices whose extremes are ``finite``; the others' are not used)."""
    with np.errstate(invalid="ignore", over="ignore"):
        step = (high - low) / HISTOGRAM_BUCKETS
        k = np.arange(HISTOGRAM_BUCKETS)
        lows = low[:, None] + k * step[:, None]
        highs = low[:, None] + (k + 1) * step[:, None]
    highs[:, -1] = high
    encoded = _encoded_buckets(lows, highs, histogram)
    for i in np.flatnonzero(finite & ~(high > low)).tolist():
        encoded[i] = _encoded_buckets(low[i:i + 1, None], high[i:i + 1, None],
                                      total[i:i + 1, None])[0]
    return encoded


def _wire_key(field) -> int:
    """A field's key on the wire: its number and wire type (2: a message, 1: a double)."""
    return field.number << 3 | (2 if field.message_type is not None else 1)


@functools.lru_cache(maxsize=1)
def _bucket_layout():
    """The wire layout of a Histogram's bucket (a numpy record), and its keys' values."""
    from tensorflow_metadata.proto.v0 import statistics_pb2 as pb

    fields = pb.Histogram.Bucket.DESCRIPTOR.fields_by_name
    parts = [("key", "u1"), ("size", "u1")]
    for name in ("low_value", "high_value", "sample_count"):
        assert fields[name].type == fields[name].TYPE_DOUBLE and fields[name].number < 16
        parts += [(f"key_{name}", "u1"), (name, "<f8")]
    layout = np.dtype(parts)
    assert layout.itemsize - 2 < 128  # (its size: a one-byte varint)
    keys = {"key": _wire_key(pb.Histogram.DESCRIPTOR.fields_by_name["buckets"]),
            "size": layout.itemsize - 2}
    keys.update({f"key_{name}": _wire_key(fields[name])
                 for name in ("low_value", "high_value", "sample_count")})
    return layout, keys


def _encoded_buckets(lows: np.ndarray, highs: np.ndarray, counts: np.ndarray) -> list:
    """Per row of the ``(rows, buckets)`` arrays, a Histogram's ``buckets`` of those values on
    the wire, to be merged into the Histogram: one call per histogram instead of one per
    bucket. (Each value is written even when 0, as a parser accepts; the message written
    out later is canonical.)"""
    layout, keys = _bucket_layout()
    encoded = np.zeros(lows.shape, layout)
    for name, key in keys.items():
        encoded[name] = key
    encoded["low_value"], encoded["high_value"], encoded["sample_count"] = lows, highs, counts
    width = lows.shape[1] * layout.itemsize
    data = encoded.tobytes()
    return [data[i * width:(i + 1) * width] for i in range(len(lows))]


def _feature(fs, name: str, columns: dict, i: int, examples: int, total_weight: float,
             weighted: bool) -> None:
    from tensorflow_metadata.proto.v0 import statistics_pb2 as pb

    fs.path.step.append(name)
    common = columns[f"{name}|common:sum"][i]
    cmax = columns[f"{name}|common:max"][i]
    cmin = columns[f"{name}|common:min"][i]
    type_name = TYPE_NAMES.get(int(cmax[2]) if np.isfinite(cmax[2]) else 0, "")
    if not type_name:  # never seen with a value: typed from the states it has
        type_name = "FLOAT" if f"{name}|num:sum" in columns else "STRING" \
            if f"{name}|str:sum" in columns else "INT"
    fs.type = getattr(pb.FeatureNameStatistics, type_name)
    if type_name in ("INT", "FLOAT"):
        stats = fs.num_stats
    elif type_name == "STRING":
        stats = fs.string_stats
    else:
        stats = fs.bytes_stats
    c = stats.common_stats
    non_missing = int(common[_C["non_missing"]])
    c.num_non_missing = non_missing
    c.num_missing = examples - non_missing
    c.tot_num_values = int(common[_C["values"]])
    if non_missing:
        c.min_num_values = int(cmin[0])
        c.max_num_values = int(cmax[0])
        c.avg_num_values = float(common[_C["values"]] / non_missing)
    if weighted:
        wc = c.weighted_common_stats
        wc.num_non_missing = float(common[_C["w_non_missing"]])
        wc.num_missing = float(total_weight - common[_C["w_non_missing"]])
        wc.tot_num_values = float(common[_C["w_values"]])
        if common[_C["w_non_missing"]]:
            wc.avg_num_values = float(common[_C["w_values"]] / common[_C["w_non_missing"]])
    if type_name in ("INT", "FLOAT") and f"{name}|num:sum" in columns:
        _numeric(stats, name, columns, i, weighted, type_name == "INT")
    elif f"{name}|str:sum" in columns:
        cap = _strings(stats, type_name, name, columns, i, weighted)
        if cap:
            fs.custom_stats.add(name=UNIQUE_ESTIMATED, str=(
                f"unique is the K-minimum-values estimate from the {cap} smallest 64-bit "
                f"hashes of the slice's values (relative standard error about "
                f"{100 / math.sqrt(cap - 2):.1f}%): the slice had more distinct values than "
                f"the {cap} kept exactly"))


def mean_std(n: float, s1: float, s2: float, shift: float = 0.0, scale: float = 1.0):
    """Mean and population standard deviation from the count and the sums of ``d = scale (x -
    shift)`` and ``d^2`` (NaN where they overflowed)."""
    n, s1, s2 = float(n), float(s1), float(s2)
    if n <= 0:
        return math.nan, math.nan
    m = s1 / n
    var = s2 / n - m * m
    var = max(var, 0.0) if math.isfinite(var) else math.nan
    return m / scale + shift, math.sqrt(var) / scale


def _numeric(stats, name, columns, i, weighted, integer) -> None:
    sums = columns[f"{name}|num:sum"][i]
    low, high = float(columns[f"{name}|num:min"][i][0]), float(columns[f"{name}|num:max"][i][0])
    stats.num_zeros = int(sums[_N["zeros"]])
    summaries = columns["|summaries"][name]
    shift, scale = _shift_of(columns, name), float(columns["|scales"].get(name, 1.0))
    if sums[_N["finite"]]:
        stats.mean, stats.std_dev = mean_std(sums[_N["finite"]], sums[_N["s1"]], sums[_N["s2"]],
                                             shift, scale)
    if np.isfinite(low):
        stats.min, stats.max = low, high
    _summarised(stats, stats.histograms, summaries[0], i, int(sums[_N["nan"]]))
    if weighted:
        ws = stats.weighted_numeric_stats
        if sums[_N["w_finite"]] > 0:
            ws.mean, ws.std_dev = mean_std(sums[_N["w_finite"]], sums[_N["w_s1"]],
                                           sums[_N["w_s2"]], shift, scale)
        _summarised(ws, ws.histograms, summaries[1], i, int(round(sums[_N["w_nan"]])))


def _shift_of(columns, name) -> float:
    return float(columns["|shifts"].get(name, 0.0))


def _summarised(stats, out, summary, i, nan) -> None:
    """The median and both histograms of slice ``i`` from its summary (numeric_summaries)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2 as pb

    standard = out.add(type=pb.Histogram.STANDARD, num_nan=nan)
    quantile = out.add(type=pb.Histogram.QUANTILES, num_nan=nan)
    total = float(summary["total"][i])
    if total <= 0 or not summary["finite"][i]:
        return
    stats.median = float(summary["quantiles"][i][QUANTILE_BUCKETS // 2])
    standard.MergeFromString(summary["standard"][i])
    quantile.MergeFromString(summary["quantile"][i])


def _strings(stats, type_name, name, columns, i, weighted) -> int:
    """Fills the string (or bytes) statistics of slice ``i``; returns the cap of distinct
    values kept exactly when its ``unique`` is an estimate beyond it, else 0."""
    sums = columns[f"{name}|str:sum"][i]
    counts_col = columns[f"{name}|str:values"]
    row = counts_col.row(int(columns["|rows"][i]))
    unique = estimate_unique(row["hashes"], row["capped"], counts_col.cap)
    stats.unique = unique
    estimated = counts_col.cap if row["capped"] else 0
    n_values = sums[_S["values"]]
    if type_name == "BYTES":
        if n_values:
            stats.avg_num_bytes = float(sums[_S["length"]] / n_values)
            stats.min_num_bytes = float(columns[f"{name}|str:min"][i][0])
            stats.max_num_bytes = float(columns[f"{name}|str:max"][i][0])
            stats.max_num_bytes_int = int(columns[f"{name}|str:max"][i][0])
        return estimated
    if n_values:
        stats.avg_length = float(sums[_S["length"]] / n_values)
    _top(stats, stats.rank_histogram, row["hashes"], row["values"][:, 0], counts_col)
    if weighted and row["values"].shape[1] > 1:
        ws = stats.weighted_string_stats
        _top(ws, ws.rank_histogram, row["hashes"], row["values"][:, 1], counts_col)
    return estimated


def _top(stats, rank_histogram, hashes, counts, counts_col) -> None:
    """Top values (most frequent first, ties by value) and the rank histogram."""
    if not len(hashes):
        return
    limit = min(len(hashes), RANK_BUCKETS)
    # the most frequent; among values as frequent as the last one kept, those of smallest
    # hash when there are more than places left (a value's order among equals: by value)
    cut = np.partition(counts, len(counts) - limit)[len(counts) - limit]
    above = np.flatnonzero(counts > cut)
    tied = np.flatnonzero(counts == cut)
    places = limit - len(above)
    if len(tied) > places:
        tied = tied[np.argpartition(hashes[tied], places - 1)[:places]] if places else tied[:0]
    chosen = np.concatenate([above, tied])
    values = counts_col.value_of(hashes[chosen])
    ranked = sorted(zip((-counts[chosen]).tolist(), values))[:limit]
    for rank, (neg, value) in enumerate(ranked):
        text = _text(value)
        if rank < TOP_VALUES:
            stats.top_values.add(value=text, frequency=float(-neg))
        rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=text,
                                   sample_count=float(-neg))


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
