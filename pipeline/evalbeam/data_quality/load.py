"""Read statistics and schemas: ours (``statistics.tfrecord``) and TFDV's own files.

:func:`load_statistics` reads a ``DatasetFeatureStatisticsList`` from a TFRecord file of one
(or several: their datasets are joined) serialized list, as ``tfdv.write_stats_text``'s binary
sibling and evalbeam write it; a bare binary ``.pb`` of the list (or of one
``DatasetFeatureStatistics``); or its text format (``.pbtxt``, ``tfdv.write_stats_text``).
"""
from __future__ import annotations

import io
import os

from google.protobuf import message, text_format

from evalbeam.errors import ConfigError
from evalbeam.io.tfrecord import read_records


def _read_bytes(path: str) -> bytes:
    if "://" not in path:
        with open(path, "rb") as f:
            return f.read()
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path, compression_type="uncompressed") as f:
        return f.read()


def load_statistics(path, what: str = "statistics"):
    """A ``DatasetFeatureStatisticsList`` from ``path`` (TFRecord, binary or text proto);
    an unreadable file is a ConfigError naming ``what`` and the file."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    path = os.fspath(path)
    try:
        data = _read_bytes(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path}: is a folder, not a file") from None
    except OSError as e:
        raise ConfigError(f"{what} {path}: cannot be read ({e.strerror or e})") from None
    out = statistics_pb2.DatasetFeatureStatisticsList()
    records = _records(data)
    if records is not None:
        for record in records:
            part = statistics_pb2.DatasetFeatureStatisticsList()
            try:
                part.ParseFromString(record)
            except message.DecodeError:
                raise ConfigError(f"{what} {path}: a record is not a "
                                  "DatasetFeatureStatisticsList") from None
            out.datasets.extend(part.datasets)
        return out
    binary = _binary(data, statistics_pb2)
    if binary is not None:
        return binary
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path}: not a DatasetFeatureStatisticsList (TFRecord, "
                          "binary or text proto)") from None
    out = statistics_pb2.DatasetFeatureStatisticsList()
    try:
        text_format.Parse(text, out)
    except text_format.ParseError as first:
        one = statistics_pb2.DatasetFeatureStatistics()
        try:
            text_format.Parse(text, one)
        except text_format.ParseError:
            raise ConfigError(f"{what} {path}: not a DatasetFeatureStatisticsList "
                              f"({str(first).splitlines()[0]})") from None
        out.datasets.add().CopyFrom(one)
    return out


def _binary(data: bytes, statistics_pb2):
    """A binary list (or one dataset, as a list) from ``data``, else None."""
    out = statistics_pb2.DatasetFeatureStatisticsList()
    try:
        out.ParseFromString(data)
        if out.datasets and all(d.name or d.features for d in out.datasets):
            return out
    except message.DecodeError:
        pass
    one = statistics_pb2.DatasetFeatureStatistics()
    try:
        one.ParseFromString(data)
    except message.DecodeError:
        return None
    if not (one.features or one.name):
        return None
    out = statistics_pb2.DatasetFeatureStatisticsList()
    out.datasets.add().CopyFrom(one)
    return out


def _records(data: bytes):
    """The records of ``data`` when it is a whole TFRecord file, else None."""
    if len(data) < 16:
        return None
    try:
        return list(read_records(io.BytesIO(data), "statistics"))
    except Exception:  # noqa: BLE001 - not TFRecord framing
        return None
