"""Files or an in-memory table -> read tasks -> record batches (at most ``batch_size`` rows).

The read tasks are listed before the run, with their row counts (:func:`read_tasks`): a
Parquet file is read by row group (one task per row group, so workers share a large file;
rows from its footer), a CSV or TFRecord file is one task (rows estimated from its size). CSV
files stream in blocks, TFRecord files of tf.train.Example are decoded in chunks.
An in-memory table is written once to a temporary Arrow file and its batches memory-mapped
back, so its rows never travel inside the pipeline graph. Each batch is tagged with its file
for error messages. Only the columns the evaluation reads are loaded when they are known.
"""
from __future__ import annotations

import bz2
import contextlib
import csv
import io
import os
import re
import shutil
import tempfile
import zlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from evalbeam.errors import InputError
from evalbeam.extract import with_source
from evalbeam.io.tfexample import decode_examples
from evalbeam.io.tfrecord import read_records

FORMATS = ("parquet", "csv", "tfrecord")
DEFAULT_BATCH_SIZE = 1 << 19
IN_MEMORY = "in-memory table"
_ARROW = "arrow"  # the temporary file an in-memory table is read from
_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tfrecord": "tfrecord",
               ".tfrecords": "tfrecord"}
# compressions read by the extension after the format's (data.csv.gz): (pyarrow's, Beam's
# CompressionTypes)
_COMPRESSIONS = {".gz": ("gzip", "gzip"), ".bz2": ("bz2", "bzip2")}
_GLOB = re.compile(r"[*?[]")


# -- Which files ------------------------------------------------------------------------------
def _is_local(path: str) -> bool:
    return "://" not in path


def _match(pattern: str) -> list:
    """The files (not folders) a pattern matches; a real listing error says what it is."""
    local = _is_local(pattern)
    # Beam's local filesystem finds nothing for a glob without a folder ('data-*.csv')
    query = os.path.join(".", pattern) if local and not os.path.dirname(pattern) else pattern
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    try:
        found = FileSystems.match([query])[0].metadata_list
    except BeamIOError as e:  # the filesystem's own listing error (permission, bucket, ...)
        reasons = "; ".join(_first_line(err) for err in (e.exception_details or {}).values())
        raise InputError(f"data path {pattern!r} cannot be listed: "
                         f"{reasons or _first_line(e)}") from None
    except ValueError as e:  # no filesystem for the scheme: unknown, or its extra not installed
        if "filesystem" not in str(e).lower():
            raise
        raise InputError(f"data path {pattern!r} cannot be listed: {_first_line(e)}") from None
    paths = [m.path for m in found if not m.path.endswith(("/", os.sep))]
    if local:
        if query != pattern:
            paths = [os.path.relpath(p) for p in paths]
        paths = [p for p in paths if not os.path.isdir(p)]
    return sorted(paths)


def _unreadable_folder(pattern: str) -> str | None:
    """Why a local pattern found nothing when the reason is a folder that may not be read
    (a listing of such a folder is empty rather than an error)."""
    if not _is_local(pattern):
        return None
    parts = os.path.normpath(os.path.abspath(pattern)).split(os.sep)
    folder = os.sep
    for part in parts[1:-1]:
        if _GLOB.search(part):
            break
        folder = os.path.join(folder, part)
        if not os.path.isdir(folder):
            return None
        if not os.access(folder, os.R_OK | os.X_OK):
            return f"cannot be listed: folder {folder}: permission denied"
    return None


def _readable(path: str) -> None:
    """A local file the run would read but may not: said before any work."""
    if _is_local(path) and not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def _first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _is_directory(pattern: str) -> bool:
    if _is_local(pattern):
        if os.path.isdir(pattern) and not os.access(pattern, os.R_OK | os.X_OK):
            raise InputError(f"data folder {pattern}: permission denied")
        return os.path.isdir(pattern)
    return pattern.endswith("/")


def _hidden(path: str) -> bool:
    """Files Spark, Hadoop and Beam write beside the data (_SUCCESS, .part-0.crc, ...)."""
    return os.path.basename(path.rstrip("/")).startswith((".", "_"))


def _format_of(path: str):
    """The format an extension names (None when it names none), and the compression's
    extension (None when uncompressed); both regardless of case."""
    name = path.lower()
    compression = next((c for c in _COMPRESSIONS if name.endswith(c)), None)
    if compression:
        name = name[:-len(compression)]
    return _EXTENSIONS.get(os.path.splitext(name)[1]), compression


def detect_format(path: str) -> str:
    fmt, compression = _format_of(path)
    if fmt is None:
        ext = "".join(os.path.splitext(os.path.basename(path))[1:]) or "(none)"
        if compression:
            ext = os.path.splitext(path[:-len(compression)])[1] + compression
        raise InputError(f"{path}: cannot tell the format from the extension {ext!r}; "
                         f"pass --format with one of {', '.join(FORMATS)}")
    return fmt


def _directory_files(directory: str, data_format, said: list):
    """The data files of a folder: hidden and underscore files are never data; the others are
    read if their extension names the data's format, and the rest are skipped out loud (so are
    subfolders, which a glob such as ``DIR/*/*.parquet`` reads)."""
    listed = [p for p in _match(directory.rstrip("/") + "/*") if not _hidden(p)]
    by_format = {}
    for path in listed:
        by_format.setdefault(_format_of(path)[0], []).append(path)
    known = sorted(f for f in by_format if f is not None)
    subfolders = _subfolders(directory)
    folders = (f"; its subfolders are not read ({_names(subfolders)}): name their files with a "
               f"glob such as {os.path.join(directory, '*', '*')}") if subfolders else ""
    if data_format is None:
        if not known:
            raise InputError(f"data folder {directory}: no file of a known format "
                             f"({', '.join(FORMATS)}) in it" + _listing(listed) + folders)
        if len(known) > 1:
            raise InputError(f"data folder {directory} holds files of several formats ("
                             + "; ".join(f"{f}: {_names(by_format[f])}" for f in known)
                             + "); pass --format or a glob naming the files")
        data_format = known[0]
    files = by_format.get(data_format, [])
    if not files:
        raise InputError(f"data folder {directory}: no {data_format} file in it"
                         + _listing(listed) + folders)
    chosen = set(files)
    skipped = [p for p in listed if p not in chosen]
    if skipped or folders:
        said.append(f"data folder {directory}: read {len(files)} {data_format} file(s)"
                    + (f", skipped {len(skipped)} other file(s): {_names(skipped)}"
                       if skipped else "") + folders)
    return files, data_format


def _subfolders(directory: str) -> list:
    """The folders in a local folder (not hidden ones); remote stores are not asked."""
    if not _is_local(directory):
        return []
    return sorted(e.path for e in os.scandir(directory) if e.is_dir() and not _hidden(e.path))


def _names(paths, k: int = 5) -> str:
    names = [os.path.basename(p) for p in paths]
    return ", ".join(names[:k]) + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _listing(paths) -> str:
    return f" (found: {_names(paths)})" if paths else " (it is empty)"


def as_patterns(data) -> list:
    """The data paths as strings (a path, a pathlib.Path, or a list of them)."""
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    if not isinstance(data, (list, tuple)) or not all(isinstance(p, (str, os.PathLike))
                                                      for p in data):
        raise InputError(f"data: expected a path or glob (or a list of them), a pyarrow.Table, "
                         f"record batches or a pandas DataFrame; got {_kind(data)}")
    if not data:
        raise InputError("no data path given")
    return [os.fspath(p) for p in data]


def _kind(data) -> str:
    if isinstance(data, (list, tuple)):
        kinds = sorted({f"{type(d).__module__}.{type(d).__qualname__}" for d in data})
        return f"a {type(data).__name__} of {', '.join(kinds)}"
    return f"a {type(data).__module__}.{type(data).__qualname__}"


def match_files(patterns, data_format=None, said=None):
    """(every file the patterns name, their format).

    A pattern is a local path, a glob or any Beam filesystem URL; a folder stands for its data
    files (see :func:`_directory_files`). Without ``data_format`` the format comes from the
    extensions, which must agree. What a user should hear (files skipped in a folder) is
    appended to ``said``.
    """
    said = [] if said is None else said
    patterns = as_patterns(patterns)
    if data_format is not None and data_format not in FORMATS:
        raise InputError(f"unknown data format {data_format!r}; expected one of {', '.join(FORMATS)}")
    files, formats = [], {}
    for pattern in patterns:
        if _is_directory(pattern):
            found, fmt = _directory_files(pattern, data_format, said)
            for path in found:
                formats[path] = fmt
        else:
            found = _match(pattern)
            if _GLOB.search(os.path.basename(pattern)):
                found = [p for p in found if not _hidden(p)]  # a glob never means _SUCCESS
            if not found:
                raise InputError(f"data path {pattern!r} " + (_unreadable_folder(pattern)
                                                               or "matches no file"))
            for path in found:
                formats[path] = data_format or detect_format(path)
        files += found
    for path in files:
        _readable(path)
    kinds = sorted(set(formats.values()))
    if len(kinds) > 1:
        raise InputError("the data paths name files of several formats ("
                         + "; ".join(f"{k}: {_names([p for p in files if formats[p] == k])}"
                                     for k in kinds) + "); pass --format or name files of one")
    fmt = kinds[0]
    if fmt == "parquet":
        packed = [p for p in files if _format_of(p)[1]]
        if packed:
            raise InputError(f"{packed[0]}: a compressed Parquet file cannot be read (Parquet "
                             "compresses its pages itself); decompress it")
    return files, fmt


def _open_error(path: str, e: OSError) -> InputError:
    """What opening a data file failed on (it was listed a moment ago)."""
    if isinstance(e, PermissionError):
        return InputError(f"{path}: permission denied")
    if isinstance(e, FileNotFoundError):
        return InputError(f"{path}: no such file (it was listed, then removed)")
    return InputError(f"{path}: cannot be opened: {_first_line(e)}")


def _open(path: str):
    """The file's bytes, as stored (random access for Parquet)."""
    try:
        if _is_local(path):
            return open(path, "rb")
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.open(path, compression_type="uncompressed")
    except OSError as e:  # BeamIOError is one too
        raise _open_error(path, e) from None


def _open_stream(path: str):
    """A sequential stream of the file's bytes, decompressed as its extension says (.gz,
    .bz2 in any case; nothing else is decompressed)."""
    arrow, beam_type = _COMPRESSIONS.get(_format_of(path)[1], (None, "uncompressed"))
    try:
        if _is_local(path):
            return pa.input_stream(path, compression=arrow)
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.open(path, compression_type=beam_type)
    except OSError as e:
        raise _open_error(path, e) from None


def _split(table_or_batch, batch_size: int, source: str):
    batches = table_or_batch.to_batches(max_chunksize=batch_size) \
        if isinstance(table_or_batch, pa.Table) else [table_or_batch]
    for batch in batches:
        yield with_source(batch, source)


def _present(schema_names, columns):
    return None if columns is None else [c for c in columns if c in schema_names]


# -- Parquet ----------------------------------------------------------------------------------
def read_parquet_task(task, columns, batch_size, dictionary_columns=(), span=None):
    """Record batches of one row group, streamed (the row group is never whole in memory);
    ``span``: ``(first, end)``, only those rows of it (the rows before are decoded and let go:
    Parquet pages have no row index to seek to). String and binary columns among
    ``dictionary_columns`` come dictionary-encoded (as Parquet stores them), which spares
    building their values."""
    path, group = task
    try:
        with _open(path) as f:
            pf = pq.ParquetFile(f)
            encoded = _dictionary_columns(pf.schema_arrow, dictionary_columns)
            if encoded:
                pf = pq.ParquetFile(f, metadata=pf.metadata, read_dictionary=encoded)
            source = path if pf.num_row_groups <= 1 else f"{path} (row group {group})"
            if pf.num_row_groups == 0:
                yield from _split(pf.schema_arrow.empty_table(), batch_size, source)
                return
            batches = pf.iter_batches(batch_size=batch_size, row_groups=[group],
                                      columns=_present(pf.schema_arrow.names, columns))
            for batch in batches if span is None else _rows_in(batches, *span):
                yield with_source(batch, source)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file ({e})") from None


def _rows_in(batches, first: int, end: int):
    """The rows ``first .. end - 1`` of a stream of batches."""
    at = 0
    for batch in batches:
        lo, hi = max(first - at, 0), min(end - at, batch.num_rows)
        if lo < hi:
            yield batch if (lo, hi) == (0, batch.num_rows) else batch.slice(lo, hi - lo)
        at += batch.num_rows
        if at >= end:
            return


def _dictionary_columns(schema: pa.Schema, wanted) -> list:
    """The string and binary columns of ``wanted`` in ``schema``."""
    return [c for c in wanted if c in schema.names and any(
        is_type(schema.field(c).type) for is_type in
        (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
         pa.types.is_large_binary))]


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
    from tensorflow_metadata.proto.v0 import schema_pb2

    from evalbeam.data_quality.schema_file import load_schema

    schema = load_schema(schema_path)
    types = {schema_pb2.INT: pa.int64(), schema_pb2.FLOAT: pa.float64(),
             schema_pb2.BYTES: pa.string()}
    return {f.name: types[f.type] for f in schema.feature if f.type in types}


@dataclass(frozen=True)
class CsvTypes:
    """Column types for CSV files, and the schema file they come from (for error messages)."""

    types: dict
    schema_path: str | None = None

    @classmethod
    def load(cls, schema_path):
        return cls(csv_column_types(schema_path), schema_path)


def _csv_options(column_types: CsvTypes):
    # Only an empty field is null, in every column (text too), as a null is in Parquet:
    # "NA" stays text (a country code), "NaN" the float NaN.
    return pcsv.ConvertOptions(column_types=column_types.types or None, null_values=[""],
                               strings_can_be_null=True)


_CSV_COLUMN = re.compile(r"^In CSV column #(\d+): (.*)$")


def _csv_error(path, e, column_types: CsvTypes) -> InputError:
    """A CSV conversion error, naming the column (and the schema file that typed it)."""
    message = str(e).splitlines()[0]
    match = _CSV_COLUMN.match(message)
    if match:
        index, what = int(match.group(1)), match.group(2)
        names = _csv_header(path)
        if index < len(names):
            name = names[index]
            typed = column_types.types.get(name)
            by = (f" (typed {typed} by schema {column_types.schema_path})"
                  if typed is not None and column_types.schema_path else
                  " (its type inferred from the first rows; a schema can type it)")
            return InputError(f"{path}: column {name!r}{by}: {what}")
    return InputError(f"{path}: cannot read as CSV with a header row: {message}")


def _csv_header(path) -> list:
    try:
        with _open_stream(path) as f:
            return next(csv.reader(io.TextIOWrapper(f, encoding="utf-8", newline="")), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def read_csv_file(path, columns, batch_size, column_types: CsvTypes):
    try:
        with _open_stream(path) as f:
            reader = pcsv.open_csv(f, read_options=pcsv.ReadOptions(block_size=1 << 24),
                                   convert_options=_csv_options(column_types))
            names = reader.schema.names
            selected = _present(names, columns)
            for batch in reader:
                if selected is not None:
                    batch = batch.select(selected)
                if batch.num_rows:
                    yield from _split(pa.Table.from_batches([batch]), batch_size, path)
    except pa.ArrowInvalid as e:
        raise _csv_error(path, e, column_types) from None


def csv_schema(path: str, column_types: CsvTypes) -> pa.Schema:
    try:
        with _open_stream(path) as f:
            return pcsv.open_csv(f, convert_options=_csv_options(column_types)).schema
    except pa.ArrowInvalid as e:
        raise _csv_error(path, e, column_types) from None


# -- TFRecord of tf.train.Example -------------------------------------------------------------
def read_tfrecord_file(path, columns, batch_size):
    with _open_stream(path) as f:
        chunk, start = [], 0
        for record in read_records(f, path):
            chunk.append(record)
            if len(chunk) == batch_size:
                yield with_source(decode_examples(chunk, columns, path, start), path)
                chunk, start = [], start + len(chunk)
        if chunk:
            yield with_source(decode_examples(chunk, columns, path, start), path)


def tfrecord_schema(path: str, columns) -> pa.Schema:
    with _open_stream(path) as f:
        records = []
        for record in read_records(f, path):
            records.append(record)
            if len(records) == 1000:
                break
    return decode_examples(records, columns, path).schema


# -- In-memory tables -------------------------------------------------------------------------
def _is_dataframe(data) -> bool:
    """A pandas DataFrame, told by its type (so pandas is never imported for other inputs)."""
    kind = type(data)
    return kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "DataFrame"


def in_memory_table(data, columns=None):
    """(table, schema) of an in-memory input: a pyarrow.Table or RecordBatch, a list of them,
    or a pandas DataFrame; None for anything else (paths).

    The table holds the ``columns`` present (all when None); the schema names every column of
    the input, for checking the configuration against it. A DataFrame's index is not read.
    """
    if _is_dataframe(data):
        names = [str(c) for c in data.columns]
        keep = [c for c in data.columns if columns is None or str(c) in columns]
        try:
            table = pa.Table.from_pandas(data[keep], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            raise InputError(f"pandas DataFrame: cannot convert it to Arrow: "
                             f"{str(e).splitlines()[0]}") from None
        table = table.rename_columns([str(c) for c in keep])
        fields = {f.name: f for f in table.schema}
        schema = pa.schema([fields.get(n, pa.field(n, pa.null())) for n in names])
        return table, schema
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    elif isinstance(data, (list, tuple)) and data and all(
            isinstance(b, (pa.RecordBatch, pa.Table)) for b in data):
        try:
            data = pa.concat_tables([pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch)
                                     else b for b in data])
        except pa.ArrowInvalid as e:
            raise InputError(f"{IN_MEMORY}: the record batches do not share one schema "
                             f"({str(e).splitlines()[0]})") from None
    if not isinstance(data, pa.Table):
        return None
    schema = data.schema
    if columns is not None:
        data = data.select(_present(schema.names, columns))
    return data, schema


def in_memory_description(data) -> str:
    """What rows given in memory were, for the run's facts: ``<in-memory pyarrow.Table>``."""
    if _is_dataframe(data):
        return "<in-memory pandas.DataFrame>"
    if isinstance(data, (list, tuple)):
        kinds = sorted({f"pyarrow.{type(b).__name__}" for b in data})
        return f"<in-memory list of {' and '.join(kinds)}>"
    return f"<in-memory pyarrow.{type(data).__name__}>"


@contextlib.contextmanager
def spilled(table: pa.Table, batch_size: int):
    """The table as a temporary Arrow file of record batches (removed afterwards): read back
    memory-mapped, its rows cost no pickling and no copy inside the pipeline."""
    folder = tempfile.mkdtemp(prefix="evalbeam-table-")
    try:
        path = os.path.join(folder, "table.arrow")
        if table.num_columns and table.column(0).num_chunks > 1:
            table = table.combine_chunks()
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=batch_size):
                writer.write_batch(batch)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _arrow_batches(path: str) -> list:
    """[(path, batch, its first row, its rows)] of a spilled table ([(path, None, 0, 0)]
    without any)."""
    reader = pa.ipc.open_file(pa.memory_map(path))
    batches, start = [], 0
    for i in range(reader.num_record_batches):
        rows = reader.get_batch(i).num_rows
        batches.append((path, i, start, rows))
        start += rows
    return batches or [(path, None, 0, 0)]


def read_arrow_task(task):
    path, index, start = task
    reader = pa.ipc.open_file(pa.memory_map(path))  # a batch keeps the mapping alive
    if index is None:
        yield with_source(pa.RecordBatch.from_pylist([], schema=reader.schema), IN_MEMORY)
        return
    batch = reader.get_batch(index)
    yield with_source(batch, f"{IN_MEMORY} (rows {start}-{start + batch.num_rows - 1})")


# -- Read tasks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadTask:
    """A part of the input read by one worker in one go: a Parquet row group, a CSV or TFRecord
    file, or a record batch of a spilled in-memory table (``part``: the row group's or batch's
    index, None for a whole file). ``rows``: how many rows it holds, from the Parquet footer
    or the Arrow file, estimated from the file's size for CSV and TFRecord (``estimated``)."""

    path: str
    format: str
    part: int | None
    rows: int
    estimated: bool = False
    start: int = 0  # the first row of a spilled table's batch
    dataset: str = ""  # "" for the data evaluated; "baseline" for baseline data (statistics only)
    span: tuple | None = None  # (first, end): the rows of the row group read (None: all)


def read_tasks(files, data_format: str) -> list:
    """The read tasks of ``files``, listed now (Parquet footers are read, CSV and TFRecord
    files sampled), so that a run knows its row count and can share the tasks out."""
    tasks = []
    for path in files:
        if data_format == "parquet":
            tasks += [ReadTask(path, "parquet", group, rows)
                      for group, rows in _row_groups(path)]
        elif data_format == _ARROW:
            tasks += [ReadTask(p, _ARROW, index, rows, start=start)
                      for p, index, start, rows in _arrow_batches(path)]
        else:
            tasks.append(ReadTask(path, data_format, None, estimated_rows(path, data_format),
                                  estimated=True))
    return tasks


def _row_groups(path: str) -> list:
    """[(row group, rows)] of a Parquet file ([(0, 0)] for a file of no row group)."""
    try:
        with _open(path) as f:
            meta = pq.ParquetFile(f).metadata
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file ({e})") from None
    return [(i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)] or [(0, 0)]


def read_task(task: ReadTask, columns, batch_size: int, column_types=None,
              dictionary_columns=()):
    """The record batches of one read task; ``dictionary_columns`` may come
    dictionary-encoded (:func:`read_parquet_task`)."""
    if task.format == "parquet":
        return read_parquet_task((task.path, task.part), columns, batch_size, dictionary_columns,
                                 task.span)
    if task.format == _ARROW:
        return read_arrow_task((task.path, task.part, task.start))
    if task.format == "csv":
        return read_csv_file(task.path, columns, batch_size, column_types or CsvTypes({}))
    return read_tfrecord_file(task.path, columns, batch_size)


_SAMPLE_BYTES = 1 << 20  # of a CSV or TFRecord file, read to estimate its rows


def estimated_rows(path: str, data_format: str) -> int:
    """About how many rows a CSV file (lines after the header) or a TFRecord file (records)
    holds: the rows in its first megabyte (decompressed), scaled by the file's size over the
    bytes of the file they took. Exact for a file shorter than that."""
    with _open(path) as raw:
        try:
            sample, consumed, whole = _sample(raw, _format_of(path)[1])
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(f"{path}: cannot be read: {_first_line(e)}") from None
    if data_format == "csv":
        header = sample.find(b"\n") + 1 or len(sample)
        rows = sample.count(b"\n", header) + (whole and not sample.endswith(b"\n")
                                               and len(sample) > header)
        used = len(sample) - header
    else:
        rows, used = _whole_records(sample)
    if whole or not rows:
        return rows
    size = _file_size(path)
    return int(rows * (size * len(sample) / max(consumed, 1) - len(sample) + used) / used)


def _sample(raw, compression):
    """(about ``_SAMPLE_BYTES`` from the start of a file, decompressed; the stored bytes they
    came from; whether that is the whole file). Compressed bytes are fed a few kilobytes at a
    time, so the stored bytes behind the sample are known (a decompressing reader reads ahead)."""
    if not compression:
        data = raw.read(_SAMPLE_BYTES)
        return data, len(data), not raw.read(1)
    unpack = bz2.BZ2Decompressor() if compression == ".bz2" else zlib.decompressobj(wbits=31)
    pieces, size, fed, stored = [], 0, 0, 0
    while size < _SAMPLE_BYTES:
        chunk = raw.read(1 << 12)
        if not chunk:
            return b"".join(pieces), fed, True
        fed += len(chunk)
        piece = unpack.decompress(chunk)
        if piece:  # output comes by blocks: these stored bytes gave it
            pieces.append(piece)
            size, stored = size + len(piece), fed
    return b"".join(pieces), stored, False


def _whole_records(sample: bytes):
    """(records, bytes they take) at the start of a TFRecord file's bytes."""
    at, records = 0, 0
    while at + 12 <= len(sample):
        end = at + 16 + int.from_bytes(sample[at:at + 8], "little")
        if end > len(sample):
            break
        at, records = end, records + 1
    return records, at


def _file_size(path: str) -> int:
    if _is_local(path):
        return os.path.getsize(path)
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def read_schema(path: str, data_format: str, columns=None, column_types=None) -> pa.Schema:
    """The schema of one file, for checking the configuration before the pipeline starts."""
    if data_format == "parquet":
        return parquet_schema(path)
    if data_format == "csv":
        return csv_schema(path, column_types or CsvTypes({}))
    return tfrecord_schema(path, columns)
