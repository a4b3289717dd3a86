"""TFDV-shaped statistics built by hand from small Python / numpy data (TFDV's definitions:
num_non_missing / num_missing per example, tot_num_values, a rank histogram of every value,
a STANDARD histogram with the boundaries given)."""
from collections import Counter

import numpy as np
from tensorflow_metadata.proto.v0 import statistics_pb2

FNS = statistics_pb2.FeatureNameStatistics


def _common(out, rows, weights=None):
    present = [r for r in rows if r is not None]
    lengths = [len(r) for r in present]
    out.num_non_missing = len(present)
    out.num_missing = len(rows) - len(present)
    if lengths:
        out.min_num_values, out.max_num_values = min(lengths), max(lengths)
        out.avg_num_values = float(np.mean(lengths))
    out.tot_num_values = sum(lengths)
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        mask = np.array([r is not None for r in rows])
        wc = out.weighted_common_stats
        wc.num_non_missing = float(w[mask].sum())
        wc.num_missing = float(w[~mask].sum())
        wc.tot_num_values = float(sum(wi * len(r) for wi, r in zip(w, rows) if r is not None))


def string_feature(name, rows, weights=None, unique=None, top=None, type=FNS.STRING):
    """rows: one list of strings per example, None when missing (a bare string is one value)."""
    rows = [[r] if isinstance(r, str) else r for r in rows]
    f = FNS(name=name, type=type)
    _common(f.string_stats.common_stats, rows, weights)
    counts = Counter(v for r in rows if r is not None for v in r)
    f.string_stats.unique = len(counts) if unique is None else unique
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    for rank, (value, count) in enumerate(ranked):
        f.string_stats.rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=value,
                                                  sample_count=count)
    if weights is not None:
        wcounts = Counter()
        for wi, r in zip(weights, rows):
            for v in r or ():
                wcounts[v] += wi
        for rank, (value, count) in enumerate(sorted(wcounts.items(), key=lambda kv: -kv[1])):
            f.string_stats.weighted_string_stats.rank_histogram.buckets.add(
                low_rank=rank, high_rank=rank, label=value, sample_count=count)
    return f


def numeric_feature(name, rows, boundaries=None, type=FNS.FLOAT, weights=None):
    """rows: one list of numbers per example (a bare number is one value), None when missing."""
    rows = [[r] if r is not None and np.isscalar(r) else r for r in rows]
    f = FNS(name=name, type=type)
    stats = f.num_stats
    _common(stats.common_stats, rows, weights)
    values = np.array([v for r in rows if r is not None for v in r], dtype=np.float64)
    finite = values[~np.isnan(values)]
    if finite.size:
        stats.min, stats.max = float(finite.min()), float(finite.max())
        stats.mean = float(finite.mean())
    if boundaries is not None:
        h = stats.histograms.add(type=statistics_pb2.Histogram.STANDARD,
                                 num_nan=int(np.isnan(values).sum()))
        counts, edges = np.histogram(finite, bins=np.asarray(boundaries, dtype=np.float64))
        for lo, hi, c in zip(edges[:-1], edges[1:], counts):
            h.buckets.add(low_value=lo, high_value=hi, sample_count=float(c))
    return f


def dataset(name, num_examples, *features, weighted_num_examples=0.0):
    d = statistics_pb2.DatasetFeatureStatistics(name=name, num_examples=num_examples,
                                                weighted_num_examples=weighted_num_examples)
    d.features.extend(features)
    return d


def statistics(*datasets):
    out = statistics_pb2.DatasetFeatureStatisticsList()
    out.datasets.extend(datasets)
    return out


def histogram(buckets, num_nan=0):
    """A STANDARD histogram from (low, high, count) triples."""
    h = statistics_pb2.Histogram(type=statistics_pb2.Histogram.STANDARD, num_nan=num_nan)
    for lo, hi, c in buckets:
        h.buckets.add(low_value=lo, high_value=hi, sample_count=c)
    return h
