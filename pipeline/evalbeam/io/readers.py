"""Files -> PCollection of pyarrow.RecordBatch (at most ``batch_size`` rows each).

Parquet files are read by row group (one read task per row group, so workers share a large
file), CSV files stream in blocks, TFRecord files of tf.train.Example are decoded in chunks.
Each batch is tagged with its file for error messages. Only the columns the evaluation reads
are loaded when they are known.
"""
from __future__ import annotations

import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from evalbeam.errors import InputError
from evalbeam.extract import with_source
from evalbeam.io.tfexample import decode_examples
from evalbeam.io.tfrecord import read_records

FORMATS = ("parquet", "csv", "tfrecord")
DEFAULT_BATCH_SIZE = 1 << 18
_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tfrecord": "tfrecord",
               ".tfrecords": "tfrecord", ".gz": "tfrecord"}


def match_files(patterns) -> list:
    """Every file matching the patterns (local paths or any Beam filesystem URL)."""
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise InputError("no data path given")
    files = []
    for pattern in patterns:
        try:
            found = FileSystems.match([pattern])[0].metadata_list
        except Exception:  # noqa: BLE001 - Beam raises BeamIOError for a missing directory
            found = []
        found = sorted(m.path for m in found if not m.path.endswith(os.sep))
        if not found:
            raise InputError(f"data path {pattern!r} matches no file")
        files += found
    return files


def detect_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise InputError(f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; "
                         f"pass --format with one of {', '.join(FORMATS)}")
    return _EXTENSIONS[ext]


def _open(path: str):
    return open(path, "rb") if "://" not in path else FileSystems.open(path)


def _split(table_or_batch, batch_size: int, source: str):
    batches = table_or_batch.to_batches(max_chunksize=batch_size) \
        if isinstance(table_or_batch, pa.Table) else [table_or_batch]
    for batch in batches:
        yield with_source(batch, source)


def _present(schema_names, columns):
    return None if columns is None else [c for c in columns if c in schema_names]


# -- Parquet ----------------------------------------------------------------------------------
def parquet_tasks(path: str):
    try:
        with _open(path) as f:
            n = pq.ParquetFile(f).num_row_groups
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file ({e})") from None
    return [(path, i) for i in range(max(n, 1))]


def read_parquet_task(task, columns, batch_size):
    """Record batches of one row group, streamed (the row group is never whole in memory)."""
    path, group = task
    try:
        with _open(path) as f:
            pf = pq.ParquetFile(f)
            source = path if pf.num_row_groups <= 1 else f"{path} (row group {group})"
            if pf.num_row_groups == 0:
                yield from _split(pf.schema_arrow.empty_table(), batch_size, source)
                return
            for batch in pf.iter_batches(batch_size=batch_size, row_groups=[group],
                                         columns=_present(pf.schema_arrow.names, columns)):
                yield with_source(batch, source)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file ({e})") from None


def parquet_schema(path: str) -> pa.Schema:
    try:
        with _open(path) as f:
            return pq.ParquetFile(f).schema_arrow
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file ({e})") from None


# -- CSV --------------------------------------------------------------------------------------
def csv_column_types(schema_path: str | None) -> dict:
    """Arrow types from a tensorflow-metadata Schema (text proto); {} when none is given."""
    if not schema_path:
        return {}
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    try:
        with open(schema_path, encoding="utf-8") as f:
            text_format.Parse(f.read(), schema)
    except (OSError, text_format.ParseError) as e:
        raise InputError(f"schema {schema_path}: {e}".replace("\n", " ")) from None
    types = {schema_pb2.INT: pa.int64(), schema_pb2.FLOAT: pa.float64(),
             schema_pb2.BYTES: pa.string()}
    return {f.name: types[f.type] for f in schema.feature if f.type in types}


def read_csv_file(path, columns, batch_size, column_types):
    convert = pcsv.ConvertOptions(column_types=column_types or None)
    try:
        with _open(path) as f:
            reader = pcsv.open_csv(f, read_options=pcsv.ReadOptions(block_size=1 << 24),
                                   convert_options=convert)
            names = reader.schema.names
            selected = _present(names, columns)
            for batch in reader:
                if selected is not None:
                    batch = batch.select(selected)
                if batch.num_rows:
                    yield from _split(pa.Table.from_batches([batch]), batch_size, path)
    except pa.ArrowInvalid as e:
        raise InputError(f"{path}: cannot read as CSV with a header row: "
                         f"{str(e).splitlines()[0]}") from None


def csv_schema(path: str, column_types) -> pa.Schema:
    try:
        with _open(path) as f:
            return pcsv.open_csv(f, convert_options=pcsv.ConvertOptions(
                column_types=column_types or None)).schema
    except pa.ArrowInvalid as e:
        raise InputError(f"{path}: cannot read as CSV with a header row: "
                         f"{str(e).splitlines()[0]}") from None


# -- TFRecord of tf.train.Example -------------------------------------------------------------
def read_tfrecord_file(path, columns, batch_size):
    with FileSystems.open(path) as f:  # handles .gz by extension
        chunk = []
        for record in read_records(f, path):
            chunk.append(record)
            if len(chunk) == batch_size:
                yield from _decode(chunk, columns, path)
                chunk = []
        if chunk:
            yield from _decode(chunk, columns, path)


def _decode(records, columns, path):
    try:
        batch = decode_examples(records, columns)
    except Exception as e:  # noqa: BLE001 - protobuf DecodeError and friends
        raise InputError(f"{path}: a record is not a tf.train.Example ({e})") from None
    yield with_source(batch, path)


def tfrecord_schema(path: str, columns) -> pa.Schema:
    with FileSystems.open(path) as f:
        records = []
        for record in read_records(f, path):
            records.append(record)
            if len(records) == 1000:
                break
    return decode_examples(records, columns).schema


class ReadRecordBatches(beam.PTransform):
    """Files of one format -> PCollection[pyarrow.RecordBatch]."""

    def __init__(self, files, data_format, columns=None, batch_size=DEFAULT_BATCH_SIZE,
                 column_types=None):
        super().__init__()
        if data_format not in FORMATS:
            raise InputError(f"unknown data format {data_format!r}; expected one of {', '.join(FORMATS)}")
        self.files, self.format, self.columns = list(files), data_format, columns
        self.batch_size, self.column_types = batch_size, column_types or {}

    def expand(self, pbegin):
        columns, size, types = self.columns, self.batch_size, self.column_types
        if self.format == "parquet" and len(self.files) == 1:
            # One file: its row groups are known now, and need spreading only if there are several.
            known = parquet_tasks(self.files[0])
            tasks = pbegin | "ListRowGroups" >> beam.Create(known, reshuffle=False)
            spread = len(known) > 1
        else:
            tasks = pbegin | "ListFiles" >> beam.Create(self.files, reshuffle=False)
            if self.format == "parquet":
                tasks = tasks | "RowGroups" >> beam.FlatMap(parquet_tasks)
            spread = len(self.files) > 1
        if spread:
            tasks = tasks | "Distribute" >> beam.Reshuffle()
        if self.format == "parquet":
            read = lambda task: read_parquet_task(task, columns, size)  # noqa: E731
        elif self.format == "csv":
            read = lambda path: read_csv_file(path, columns, size, types)  # noqa: E731
        else:
            read = lambda path: read_tfrecord_file(path, columns, size)  # noqa: E731
        return tasks | "Read" >> beam.FlatMap(read)


def read_schema(path: str, data_format: str, columns=None, column_types=None) -> pa.Schema:
    """The schema of one file, for checking the configuration before the pipeline starts."""
    if data_format == "parquet":
        return parquet_schema(path)
    if data_format == "csv":
        return csv_schema(path, column_types)
    return tfrecord_schema(path, columns)
