"""MetricsForSlice records read back: the fast path for records of numbers gives what the
protobuf parse gives, for every kind of record."""
from types import SimpleNamespace

import numpy as np

from evalbeam.io import convert
from evalbeam.keys import MetricKey
from evalbeam.proto import metrics_for_slice_pb2 as mfs

AUC = MetricKey("auc", example_weighted=True)
COUNT = MetricKey("example_count")
OTHER = MetricKey("mean_label", model_name="m")


def _slice(key, metrics, intervals=None):
    return SimpleNamespace(slice_key=key, metrics=metrics, intervals=intervals, dof=9)


def _by_proto(record):
    proto = mfs.MetricsForSlice.FromString(record)
    return (convert.slice_key_from_proto(proto.slice_key), convert.metrics_from_proto(proto),
            convert.intervals_from_proto(proto))


def test_every_record_reads_as_its_protobuf_parse():
    encoder, decoder = convert.MetricsEncoder(), convert.MetricsDecoder()
    slices = [
        _slice((), {AUC: 0.75, COUNT: 10.0}),
        _slice((("country", "us"),), {AUC: 0.5, COUNT: 3.0}),  # same layout: the fast path
        _slice((("country", "fr"), ("device", "m\u00f6bile")), {AUC: float("nan"), COUNT: 2.0}),
        _slice((("age", 7),), {AUC: 0.25, COUNT: 1.0, OTHER: 2.5}),  # another key set
        _slice((("age", 8),), {AUC: 0.125, COUNT: 4.0, OTHER: -1.0}),
        _slice((("x", 1.5),), {AUC: 0.6, COUNT: 5.0}, {AUC: (0.5, 0.7, 0.05)}),  # interval
        _slice((("y", "a"),), {AUC: np.array([0.1, 0.2]), COUNT: 5.0}),  # an array
        _slice((("z", "b" * 300),), {AUC: 0.9, COUNT: 6.0}),  # a long slice key
    ]
    fast = 0
    for s in slices:
        record = encoder.encode(s)
        key, metrics, intervals, proto = decoder.decode(record)
        fast += proto is None
        want_key, want_metrics, want_intervals = _by_proto(record)
        assert key == want_key == s.slice_key
        assert metrics.keys() == want_metrics.keys()
        for k, v in want_metrics.items():
            np.testing.assert_array_equal(metrics[k], v)
        assert intervals == want_intervals
    assert fast == 4  # the records of numbers whose layout came before: 2nd, 3rd, 5th, 8th
