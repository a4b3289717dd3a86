"""Histogram buckets written from their wire bytes are the messages protobuf's own API builds
from the same values: standard histograms of equal-width buckets (the last ending at the
maximum), a constant slice's single bucket, quantile buckets, zeros and negative values."""
import numpy as np
from tensorflow_metadata.proto.v0 import statistics_pb2 as pb

from evalbeam.data_quality import to_proto


def _by_hand(lows, highs, counts):
    h = pb.Histogram(type=pb.Histogram.STANDARD)
    for low, high, count in zip(lows, highs, counts):
        h.buckets.add(low_value=low, high_value=high, sample_count=count)
    return h


def test_encoded_buckets_are_the_messages_protobuf_builds():
    rng = np.random.default_rng(2)
    low = np.array([-3.5, 0.0, 7.0, 1e-300, -1e300])
    high = np.array([2.25, 1.0, 7.0, 5e-300, 1e300])
    histogram = rng.integers(0, 5, (5, to_proto.HISTOGRAM_BUCKETS)).astype(float)
    histogram[1] = 0.0
    total = histogram.sum(axis=1)
    encoded = to_proto._standard_buckets(low, high, histogram, total, np.ones(5, bool))
    for i in range(5):
        got = pb.Histogram(type=pb.Histogram.STANDARD)
        got.MergeFromString(encoded[i])
        if high[i] > low[i]:
            step = (high[i] - low[i]) / to_proto.HISTOGRAM_BUCKETS
            k = np.arange(to_proto.HISTOGRAM_BUCKETS)
            edges = [low[i] + j * step for j in k] + [high[i]]
            want = _by_hand(edges[:-1], [low[i] + (j + 1) * step for j in k[:-1]] + [high[i]],
                            histogram[i])
        else:  # a constant: one bucket holding every value
            want = _by_hand([low[i]], [high[i]], [total[i]])
        assert got == want, i
        assert got.SerializeToString() == want.SerializeToString()
        assert len(got.buckets) == (1 if i == 2 else to_proto.HISTOGRAM_BUCKETS)
    values = np.sort(rng.normal(size=(3, to_proto.QUANTILE_BUCKETS + 1)), axis=1)
    each = np.full((3, to_proto.QUANTILE_BUCKETS), 4.5)
    for i, wire in enumerate(to_proto._encoded_buckets(values[:, :-1], values[:, 1:], each)):
        got = pb.Histogram(type=pb.Histogram.STANDARD)
        got.MergeFromString(wire)
        assert got == _by_hand(values[i, :-1], values[i, 1:], each[i])
