"""Vectorised protobuf encoding (and decoding) of the long repeated plot messages.

A confusion-matrix plot has ~1,000 rows per slice and a calibration plot ~1,000 buckets;
building them field by field in Python dominated the write step. Every row has the same
fields, so the rows are laid out as a numpy structured array (tag bytes + little-endian
doubles, the protobuf wire format) and serialized with one ``tobytes``. The result parses
as the ordinary message (all fields present, including zeros); read back, bytes of that
layout are viewed as the same structured array (:func:`row_decoder`), and anything else is
left to the protobuf parser.
"""
from __future__ import annotations

import numpy as np


_ONE_BYTE = [bytes((n,)) for n in range(0x80)]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _ONE_BYTE[n]
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_float64_array(value: np.ndarray) -> bytes:
    """An ArrayValue of FLOAT64 with ``value``'s shape and its numbers (as protobuf writes it:
    data_type, packed shape, packed float64_values)."""
    shape = b"".join(_varint(int(d)) for d in value.shape)
    return (b"\x08\x05" + (field(2, shape) if shape else b"")
            + (field(7, np.ascontiguousarray(value, dtype="<f8").tobytes()) if value.size else b""))


def encode_int64_value(number: int) -> bytes:
    """A google.protobuf.Int64Value of a non-negative ``number``."""
    return b"\x08" + _varint(number) if number else b""


def _double_tag(field: int) -> bytes:
    return _varint(field << 3 | 1)


def _row_layout(fields):
    """fields: [(name, field number, wrapped)] -> (dtype, constant bytes per prefix field)."""
    dtype, constants = [], {}
    for name, number, wrapped in fields:
        if wrapped:  # google.protobuf.DoubleValue: a 9-byte message holding field 1
            prefix = _varint(number << 3 | 2) + _varint(9) + _double_tag(1)
        else:
            prefix = _double_tag(number)
        dtype += [(f"tag_{name}", "u1", (len(prefix),)), (name, "<f8")]
        constants[f"tag_{name}"] = np.frombuffer(prefix, np.uint8)
    size = int(np.dtype(dtype).itemsize)
    header = _varint(1 << 3 | 2) + _varint(size)  # the repeated field 1 holding each row
    full = [("header", "u1", (len(header),))] + dtype
    constants["header"] = np.frombuffer(header, np.uint8)
    return np.dtype(full), constants


def row_encoder(fields):
    """columns -> the bytes of a repeated row message in field 1; ``fields`` as
    :func:`_row_layout` takes them."""
    dtype, constants = _row_layout(fields)
    names = [name for name, _, _ in fields]

    def encode(columns: dict) -> bytes:
        n = len(columns[names[0]])
        rows = np.empty(n, dtype)
        for tag, value in constants.items():
            rows[tag] = value
        for name in names:
            rows[name] = columns[name]
        return rows.tobytes()

    return encode


def row_decoder(fields):
    """The inverse of :func:`row_encoder`: a message's bytes -> its columns, or None when
    they are not in that exact layout (written by another writer: parse them instead)."""
    dtype, constants = _row_layout(fields)
    names = [name for name, _, _ in fields]
    tags = {tag: value.tobytes() for tag, value in constants.items()}

    def decode(data: bytes):
        if not data or len(data) % dtype.itemsize:
            return None
        rows = np.frombuffer(data, dtype)
        for tag, value in tags.items():
            if not (rows[tag] == np.frombuffer(value, np.uint8)).all():
                return None
        return {name: rows[name].copy() for name in names}

    return decode


def read_varint(data: bytes, at: int) -> tuple:
    """(value, offset after it) of the varint at ``data[at]``."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def length_fields(data: bytes, start: int = 0, end: int | None = None):
    """``(field number, start, end)`` of each length-delimited field of the message in
    ``data[start:end]``; None at the first field of another wire type (the caller then
    parses the message as protobuf)."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        tag, at = read_varint(data, at)
        if tag & 7 != 2:
            yield None
            return
        length, at = read_varint(data, at)
        yield tag >> 3, at, at + length
        at += length


# ConfusionMatrixAtThresholds.matrices (metrics_for_slice.proto)
MATRIX_FIELDS = [
    ("threshold", 1, False), ("false_negatives", 2, False), ("true_negatives", 3, False),
    ("false_positives", 4, False), ("true_positives", 5, False), ("precision", 6, False),
    ("recall", 7, False), ("false_positive_rate", 20, False), ("f1", 21, False),
    ("accuracy", 22, False), ("false_omission_rate", 23, False)]
encode_matrices = row_encoder(MATRIX_FIELDS)

# CalibrationHistogramBuckets.buckets
BUCKET_FIELDS = [
    ("lower_threshold_inclusive", 1, False), ("upper_threshold_exclusive", 2, False),
    ("num_weighted_examples", 3, True), ("total_weighted_label", 4, True),
    ("total_weighted_refined_prediction", 5, True)]
encode_buckets = row_encoder(BUCKET_FIELDS)
