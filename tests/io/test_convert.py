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


def test_plot_records_read_as_their_protobuf_parse(tmp_path):
    """Every plot kind evalbeam writes, viewed as arrays, equals the field-by-field parse; and
    records another writer laid out differently (zeros left out) are parsed."""
    from evalbeam import cli
    from evalbeam.io.result import _shard_records, load_result

    rng = np.random.default_rng(0)
    n = 400
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = rng.integers(0, 2, n)
    pq.write_table(pa.table({"label": label, "p": np.clip(0.4 * label + 0.6 * rng.random(n), 0, 1),
                             "g": rng.choice(["a", "b"], n)}), tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(
        'model_specs { label_key: "label" prediction_key: "p" }\n'
        'metrics_specs { metrics { class_name: "ConfusionMatrixPlot" config: \'{"num_thresholds": 7}\' }\n'
        '  metrics { class_name: "CalibrationPlot" config: \'{"num_buckets": 5}\' }\n'
        '  metrics { class_name: "GainCurve" } metrics { class_name: "LiftCurve" }\n'
        '  metrics { class_name: "ScoreDistributionPlot" } }\n'
        'slicing_specs {} slicing_specs { feature_keys: ["g"] }\n')
    assert cli.main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data",
                     str(tmp_path / "d.parquet"), "--output", str(tmp_path / "o"),
                     "--no_report"]) == 0
    result = load_result(str(tmp_path / "o"))
    records = list(_shard_records(result.output_dir, "plots", result.summary))
    kinds = set()
    for record in records:
        proto = mfs.PlotsForSlice.FromString(record)
        want = convert.plots_from_proto(proto)
        for again in (record, proto.SerializeToString()):  # ours, and re-serialized by upb
            key, got = convert.plots_from_record(again)
            assert key == convert.slice_key_from_proto(proto.slice_key)
            assert got.keys() == want.keys()
            for k, plot in want.items():
                assert got[k].keys() == plot.keys()
                for kind, columns in plot.items():
                    kinds.add(kind)
                    assert got[k][kind].keys() == columns.keys()
                    for field, values in columns.items():
                        np.testing.assert_array_equal(got[k][kind][field], values)
    assert {"confusion_matrix_at_thresholds", "calibration_histogram_buckets", "gain_curve",
            "lift_curve", "score_distribution"} <= kinds
    assert len(result.plots) == 3
