"""Python results <-> TFMA-compatible protos (MetricsForSlice, PlotsForSlice, keys, values)."""
from __future__ import annotations

import functools
import struct

import numpy as np

from evalbeam.io import wire
from evalbeam.keys import MetricKey, SubKey
from evalbeam.proto import metrics_for_slice_pb2 as mfs

# Plots with these names share one PlotKeyAndValue with an empty name, as TFMA writes them.
_MERGED_PLOTS = ("confusion_matrix_plot", "calibration_plot")
_CM_FIELDS = ("threshold", "true_positives", "false_positives", "true_negatives",
              "false_negatives", "precision", "recall", "false_positive_rate",
              "false_omission_rate", "f1", "accuracy")
_BUCKET_FIELDS = ("num_weighted_examples", "total_weighted_label",
                  "total_weighted_refined_prediction")


def _row_fields(kind: str) -> list:
    """The double fields of the rows (field 1) of one of our PlotData additions."""
    rows = mfs.PlotData.DESCRIPTOR.fields_by_name[kind].message_type.fields_by_number[1]
    return [(f.name, f.number) for f in rows.message_type.fields]


# Our PlotData additions (fields >= 1000): plot kind -> encoder of its columns.
_ADDED_PLOTS = {kind: wire.row_encoder([(name, number, False) for name, number in
                                        _row_fields(kind)])
                for kind in ("gain_curve", "lift_curve", "score_distribution",
                             "predicted_vs_true", "residual_histogram")}


def slice_key_proto(key) -> mfs.SliceKey:
    out = mfs.SliceKey()
    for column, value in key:
        single = out.single_slice_keys.add(column=column)
        if isinstance(value, bool) or isinstance(value, (int, np.integer)):
            single.int64_value = int(value)
        elif isinstance(value, (float, np.floating)):
            single.float_value = float(value)
        elif isinstance(value, str):
            single.bytes_value = value.encode("utf-8")
        else:
            single.bytes_value = bytes(value)
    return out


def slice_key_from_proto(proto) -> tuple:
    entries = []
    for single in proto.single_slice_keys:
        kind = single.WhichOneof("kind")
        value = getattr(single, kind)
        if kind == "bytes_value":
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                pass
        entries.append((single.column, value))
    return tuple(entries)


def _sub_key_proto(sub_key, out) -> None:
    for name in ("class_id", "k", "top_k"):
        value = getattr(sub_key, name)
        if value is not None:
            getattr(out, name).value = value


def metric_key_proto(key: MetricKey) -> mfs.MetricKey:
    out = mfs.MetricKey(name=key.name, model_name=key.model_name, output_name=key.output_name,
                        is_diff=key.is_diff)
    out.example_weighted.value = key.example_weighted
    if key.sub_key is not None:
        _sub_key_proto(key.sub_key, out.sub_key)
    if key.aggregation_type is not None:
        setattr(out.aggregation_type, key.aggregation_type, True)
    return out


def metric_key_from_proto(proto) -> MetricKey:
    sub = None
    if proto.HasField("sub_key"):
        s = proto.sub_key
        sub = SubKey(*(getattr(s, n).value if s.HasField(n) else None
                       for n in ("class_id", "k", "top_k")))
    aggregation = proto.aggregation_type.WhichOneof("type") \
        if proto.HasField("aggregation_type") else None
    return MetricKey(proto.name, proto.model_name, proto.output_name, sub,
                     proto.example_weighted.value, proto.is_diff, aggregation)


def metric_value_proto(value) -> mfs.MetricValue:
    out = mfs.MetricValue()
    if isinstance(value, dict) and "confusion_matrix_at_thresholds" in value:
        _fill_matrices(out.confusion_matrix_at_thresholds, value["confusion_matrix_at_thresholds"])
    elif isinstance(value, dict) and _MULTI_CLASS in value:
        _fill_class_matrices(getattr(out, _MULTI_CLASS), value[_MULTI_CLASS], _MULTI_CLASS)
    elif isinstance(value, np.ndarray):
        out.array_value.data_type = mfs.ArrayValue.FLOAT64
        out.array_value.shape.extend(value.shape)
        out.array_value.float64_values.extend(value.astype(np.float64).ravel().tolist())
    else:
        out.double_value.value = float(value)
    return out


def metric_value_from_proto(proto):
    kind = proto.WhichOneof("type")
    if kind == "double_value":
        return proto.double_value.value
    if kind == "array_value":
        a = proto.array_value
        return np.array(a.float64_values or a.float32_values or a.int64_values or a.int32_values,
                        dtype=np.float64).reshape(tuple(a.shape) or (-1,))
    if kind == "confusion_matrix_at_thresholds":
        return {"confusion_matrix_at_thresholds": _matrices(proto.confusion_matrix_at_thresholds)}
    if kind == _MULTI_CLASS:
        return {_MULTI_CLASS: _class_matrices(getattr(proto, _MULTI_CLASS), _MULTI_CLASS)}
    if kind == "bounded_value":  # TFMA's older form of a value with its interval
        return proto.bounded_value.value.value
    if kind == "value_at_cutoffs":
        pairs = proto.value_at_cutoffs.values
        return {"value_at_cutoffs": {"cutoff": np.array([p.cutoff for p in pairs], dtype=np.int64),
                                     "value": np.array([p.value for p in pairs])}}
    if kind == "bytes_value":
        return proto.bytes_value
    if kind == "debug_message":
        return proto.debug_message
    return None


def _fill_matrices(out, columns: dict) -> None:
    out.MergeFromString(wire.encode_matrices(columns))


def _matrices(proto) -> dict:
    return {f: np.array([getattr(m, f) for m in proto.matrices]) for f in _CM_FIELDS}


# Class confusion matrices: columns -> one matrix per threshold with its entries, and back.
_MULTI_CLASS, _MULTI_LABEL = ("multi_class_confusion_matrix_at_thresholds",
                              "multi_label_confusion_matrix_at_thresholds")
_CLASS_FIELDS = {_MULTI_CLASS: ("num_weighted_examples",),
                 _MULTI_LABEL: ("false_negatives", "true_negatives", "false_positives",
                                "true_positives")}


def _fill_class_matrices(out, columns: dict, kind: str) -> None:
    counts = _CLASS_FIELDS[kind]
    rows = zip(*(columns[f].tolist() for f in ("threshold", "actual_class_id", "predicted_class_id")),
               *(columns[f].tolist() for f in counts))
    matrix = None
    for threshold, actual, predicted, *values in rows:
        if matrix is None or matrix.threshold != threshold:
            matrix = out.matrices.add(threshold=threshold)
        entry = matrix.entries.add(actual_class_id=int(actual), predicted_class_id=int(predicted))
        for name, value in zip(counts, values):
            setattr(entry, name, value)


def _class_matrices(proto, kind: str) -> dict:
    rows = [(m.threshold, e) for m in proto.matrices for e in m.entries]
    out = {"threshold": np.array([t for t, _ in rows], dtype=np.float64)}
    for f in ("actual_class_id", "predicted_class_id"):
        out[f] = np.array([getattr(e, f) for _, e in rows], dtype=np.int64)
    for f in _CLASS_FIELDS[kind]:
        out[f] = np.array([getattr(e, f) for _, e in rows], dtype=np.float64)
    return out


@functools.lru_cache(maxsize=4096)
def _key_bytes(key: MetricKey) -> bytes:
    return metric_key_proto(key).SerializeToString()


@functools.lru_cache(maxsize=4096)
def _key_from_bytes(data: bytes) -> MetricKey:
    return metric_key_from_proto(mfs.MetricKey.FromString(data))


def _value_bytes(value) -> bytes:
    if isinstance(value, float):  # MetricValue{double_value: DoubleValue{value}}
        return _DOUBLE_VALUE + struct.pack("<d", value)
    if isinstance(value, np.ndarray):  # MetricValue{array_value}
        return wire.field(7, wire.encode_float64_array(value))
    return metric_value_proto(value).SerializeToString()


_DOUBLE_VALUE = b"\x0a\x09\x09"  # MetricValue.double_value(1) of 9 bytes: DoubleValue.value(1)


def _layout(keys: tuple):
    """The keys in record order, the bytes before each value, and the struct of a record's
    values part when every value is a number."""
    order = sorted(keys, key=MetricKey.sort_key)
    prefixes = []
    for key in order:
        pair = wire.field(1, _key_bytes(key)) + b"\x12\x0b" + _DOUBLE_VALUE
        prefixes.append(wire.field(51, pair + b"\0" * 8)[:-8])
    packer = struct.Struct("<" + "".join(f"{len(p)}sd" for p in prefixes))
    return order, tuple(prefixes), packer


class MetricsEncoder:
    """Serializes MetricsForSlice records, one per slice, for slices that share metric keys.

    The bytes of each key are laid out once per set of keys; a slice whose values are all
    numbers then costs one ``struct.pack``. The record is the message TFMA writes.
    """

    def __init__(self):
        self._layouts = {}

    def encode(self, result) -> bytes:
        metrics = result.metrics
        keys = tuple(metrics)
        layout = self._layouts.get(keys)
        if layout is None:
            layout = self._layouts[keys] = _layout(keys)
        order, prefixes, packer = layout
        head = wire.field(1, slice_key_proto(result.slice_key).SerializeToString())
        values = [metrics[k] for k in order]
        intervals = getattr(result, "intervals", None)
        if not intervals and all(type(v) is float for v in values):
            return head + packer.pack(*[x for pair in zip(prefixes, values) for x in pair])
        parts = []
        for k, v in zip(order, values):
            pair = wire.field(1, _key_bytes(k)) + wire.field(2, _value_bytes(v))
            if intervals and k in intervals:
                dof = getattr(result, "dofs", {}).get(k, result.dof)
                pair += wire.field(3, _interval_bytes(*intervals[k], dof))
            parts.append(wire.field(51, pair))
        return head + b"".join(parts)


class MetricsDecoder:
    """Reads MetricsForSlice records back, fast for the ones :class:`MetricsEncoder` wrote
    in one ``struct.pack`` (every value a number, no interval): such a record is the slice
    key and a byte layout shared by every slice with the same metric keys, so it is read
    with one ``struct.unpack`` once a record of that layout was seen. Any other record is
    parsed as a protobuf message."""

    def __init__(self):
        self._layouts = {}  # size of the values' part -> [(struct, key prefixes, keys)]

    def decode(self, record: bytes) -> tuple:
        """``(slice key, {MetricKey: value}, {MetricKey: (lower, upper)}, proto or None)``;
        the proto (for cross-slice keys and anything else) when the record was parsed."""
        found = self._fast(record)
        if found is not None:
            return found
        proto = mfs.MetricsForSlice.FromString(record)
        metrics = metrics_from_proto(proto)
        intervals = intervals_from_proto(proto)
        if not intervals and metrics and all(type(v) is float for v in metrics.values()):
            order, prefixes, packer = _layout(tuple(metrics))
            known = self._layouts.setdefault(packer.size, [])
            if len(known) < 16:  # slices of many different key sets: parse the rest
                known.append((packer, prefixes, order))
        return slice_key_from_proto(proto.slice_key), metrics, intervals, proto

    def _fast(self, record: bytes):
        if record[:1] != b"\x0a" or not self._layouts:
            return None
        length, at = 0, 1
        for shift in range(0, 35, 7):  # the slice key's length, a varint
            byte = record[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
        start = at + length
        for packer, prefixes, order in self._layouts.get(len(record) - start, ()):
            parts = packer.unpack_from(record, start)
            if parts[0::2] == prefixes:
                key = slice_key_from_proto(mfs.SliceKey.FromString(record[at:start]))
                return key, dict(zip(order, parts[1::2])), {}, None
        return None


def _interval_bytes(lower, upper, se, dof) -> bytes:
    """A ConfidenceInterval: bounds and standard error as numbers, or, for an array metric,
    as arrays of its shape (TFMA's form); the degrees of freedom are one number (an array
    metric's smallest, when its values left out different numbers of resamples)."""
    if isinstance(lower, np.ndarray):
        dof = int(dof.min()) if isinstance(dof, np.ndarray) else dof
        return (wire.field(1, _value_bytes(upper)) + wire.field(2, _value_bytes(lower))
                + wire.field(3, _value_bytes(se)) + wire.field(4, wire.encode_int64_value(dof)))
    ci = mfs.ConfidenceInterval()
    ci.lower_bound.double_value.value = lower
    ci.upper_bound.double_value.value = upper
    ci.standard_error.double_value.value = se
    ci.degrees_of_freedom.value = dof
    return ci.SerializeToString()


def intervals_from_proto(proto) -> dict:
    """{MetricKey: (lower, upper)} of the metrics of one MetricsForSlice that have intervals
    (numbers, or arrays for an array value)."""
    return {_key_from_bytes(kv.key.SerializeToString()):
            (metric_value_from_proto(kv.confidence_interval.lower_bound),
             metric_value_from_proto(kv.confidence_interval.upper_bound))
            for kv in proto.metric_keys_and_values if kv.HasField("confidence_interval")}


def metrics_from_proto(proto) -> dict:
    """{MetricKey: value} of one MetricsForSlice."""
    return {_key_from_bytes(kv.key.SerializeToString()): metric_value_from_proto(kv.value)
            for kv in proto.metric_keys_and_values}


def omitted_metrics_for_slice(key, min_slice_size: int) -> mfs.MetricsForSlice:
    out = mfs.MetricsForSlice()
    out.slice_key.CopyFrom(slice_key_proto(key))
    out.metrics["__ERROR__"].debug_message = (
        "Example count for this slice key is lower than the minimum required value: "
        f"{min_slice_size}. No data is aggregated for this slice.")
    return out


def plots_for_slice(slice_key, plots: dict) -> bytes:
    """A serialized PlotsForSlice, laid out on the wire directly (plots are long: building the
    message and serializing it again doubled the write step)."""
    merged = {}  # plot key -> [PlotKey bytes, PlotData field bytes...]
    for key in sorted(plots, key=MetricKey.sort_key):
        name = "" if key.name in _MERGED_PLOTS else key.name
        plot_key = (name, key.model_name, key.output_name, key.sub_key, key.example_weighted)
        if plot_key not in merged:
            proto = mfs.PlotKey(name=name, model_name=key.model_name, output_name=key.output_name)
            proto.example_weighted.value = key.example_weighted
            if key.sub_key is not None:
                _sub_key_proto(key.sub_key, proto.sub_key)
            merged[plot_key] = [proto.SerializeToString()]
        parts, plot = merged[plot_key], plots[key]
        for kind, value in plot.items():
            parts.append(wire.field(_PLOT_DATA[kind], _plot_bytes(kind, value)))
    head = wire.field(1, slice_key_proto(slice_key).SerializeToString())
    return head + b"".join(wire.field(8, wire.field(1, key) + wire.field(2, b"".join(data)))
                           for key, *data in merged.values())


_PLOT_DATA = {f.name: f.number for f in mfs.PlotData.DESCRIPTOR.fields}  # kind -> field


def _plot_bytes(kind: str, columns: dict) -> bytes:
    """One PlotData field's message, serialized."""
    if kind == "confusion_matrix_at_thresholds":
        return wire.encode_matrices(columns)
    if kind == "calibration_histogram_buckets":
        return wire.encode_buckets(columns)
    if kind in _CLASS_FIELDS:
        message = getattr(mfs.PlotData(), kind)
        _fill_class_matrices(message, columns, kind)
        return message.SerializeToString()
    return _ADDED_PLOTS[kind](columns)


# PlotData field -> (plot kind, decoder of its rows) for the plots written as row arrays
_ROW_DECODERS = {
    mfs.PlotData.DESCRIPTOR.fields_by_name[kind].number: (kind, wire.row_decoder(fields))
    for kind, fields in [("confusion_matrix_at_thresholds", wire.MATRIX_FIELDS),
                         ("calibration_histogram_buckets", wire.BUCKET_FIELDS)]
    + [(kind, [(name, number, False) for name, number in _row_fields(kind)])
       for kind in _ADDED_PLOTS]}
_PLOT_KEYS_AND_VALUES = mfs.PlotsForSlice.DESCRIPTOR.fields_by_name["plot_keys_and_values"].number
_SLICE_KEY = mfs.PlotsForSlice.DESCRIPTOR.fields_by_name["slice_key"].number


def plots_from_record(record: bytes) -> tuple:
    """``(slice key, {MetricKey: {kind: columns}})`` of one PlotsForSlice record (slice key
    None for a record of another form, e.g. a cross-slice key). Row plots of the layout
    evalbeam writes are viewed as arrays, without a Python object per row; any other part
    is parsed as protobuf."""
    fields = list(wire.length_fields(record))
    if None in fields or any(f not in (_SLICE_KEY, _PLOT_KEYS_AND_VALUES) for f, _, _ in fields):
        proto = mfs.PlotsForSlice.FromString(record)
        key = slice_key_from_proto(proto.slice_key) if proto.HasField("slice_key") else None
        return key, plots_from_proto(proto)
    key, out = None, {}
    for number, start, end in fields:
        if number == _SLICE_KEY:
            key = slice_key_from_proto(mfs.SliceKey.FromString(record[start:end]))
            continue
        plot_key, value = None, None
        for inner, s, e in wire.length_fields(record, start, end):
            if inner == 1:
                plot_key = mfs.PlotKey.FromString(record[s:e])
            elif inner == 2:
                value = (s, e)
        if plot_key is None or value is None:
            proto = mfs.PlotsForSlice.FromString(record)
            return slice_key_from_proto(proto.slice_key), plots_from_proto(proto)
        out[_plot_key(plot_key)] = _plot_data(record, *value)
    return key, out


def _plot_data(record: bytes, start: int, end: int) -> dict:
    """{kind: columns} of the PlotData message in ``record[start:end]``."""
    plot = {}
    for part in wire.length_fields(record, start, end):
        columns = None
        if part is not None and part[0] in _ROW_DECODERS:
            kind, decode = _ROW_DECODERS[part[0]]
            columns = decode(record[part[1]:part[2]])
        if columns is None:  # another writer's layout, or another kind: the protobuf way
            return _plot_columns(mfs.PlotData.FromString(record[start:end]))
        plot[kind] = columns
    return plot


def _plot_key(k) -> MetricKey:
    sub = metric_key_from_proto(mfs.MetricKey(sub_key=k.sub_key)).sub_key \
        if k.HasField("sub_key") else None
    return MetricKey(k.name, k.model_name, k.output_name, sub, k.example_weighted.value)


def plots_from_proto(proto) -> dict:
    """{(plot name, model, output, sub key, weighted): {kind: rows}} of one PlotsForSlice."""
    return {_plot_key(kv.key): _plot_columns(kv.value) for kv in proto.plot_keys_and_values}


def _plot_columns(value) -> dict:
    """{kind: columns} of one PlotData message."""
    plot = {}
    if value.HasField("confusion_matrix_at_thresholds"):
        plot["confusion_matrix_at_thresholds"] = _matrices(value.confusion_matrix_at_thresholds)
    if value.HasField("calibration_histogram_buckets"):
        buckets = value.calibration_histogram_buckets.buckets
        plot["calibration_histogram_buckets"] = {
            "lower_threshold_inclusive": np.array([b.lower_threshold_inclusive for b in buckets]),
            "upper_threshold_exclusive": np.array([b.upper_threshold_exclusive for b in buckets]),
            **{f: np.array([getattr(b, f).value for b in buckets]) for f in _BUCKET_FIELDS}}
    for kind in _CLASS_FIELDS:
        if value.HasField(kind):
            plot[kind] = _class_matrices(getattr(value, kind), kind)
    for kind in _ADDED_PLOTS:
        if value.HasField(kind):
            message = getattr(value, kind)
            rows = getattr(message, message.DESCRIPTOR.fields_by_number[1].name)
            plot[kind] = {name: np.array([getattr(r, name) for r in rows])
                          for name, _ in _row_fields(kind)}
    return plot
