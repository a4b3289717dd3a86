"""How many rows data files hold, told before reading them: exact from Parquet footers,
estimated for CSV and TFRecord from the file sizes and the rows in the first mebibyte of the
first file (decompressed as its extension says)."""
from __future__ import annotations

import bz2
import os
import struct
import zlib

from evalbeam.io import readers

SAMPLE = 1 << 20  # bytes of the first CSV / TFRecord file read to estimate rows per byte
_CHUNK = 1 << 12  # compressed bytes fed at a time while sampling


def _opened(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    if "://" not in path:
        return open(path, "rb")
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _size(path: str) -> int:
    if "://" not in path:
        return os.path.getsize(path)
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def _sample(path: str):
    """(about SAMPLE bytes from the start of the file, decompressed; the stored bytes they came
    from; whether that is the whole file)."""
    name = path.lower()
    with _opened(path) as raw:
        if not name.endswith((".gz", ".bz2")):
            data = raw.read(SAMPLE)
            return data, len(data), len(data) < SAMPLE
        unpack = bz2.BZ2Decompressor() if name.endswith(".bz2") else \
            zlib.decompressobj(wbits=31)
        pieces, size, fed, stored = [], 0, 0, 0
        while size < SAMPLE:
            chunk = raw.read(_CHUNK)
            if not chunk:
                return b"".join(pieces), fed, True
            fed += len(chunk)
            piece = unpack.decompress(chunk)
            if piece:  # output comes by blocks: these stored bytes gave it
                pieces.append(piece)
                size, stored = size + len(piece), fed
        return b"".join(pieces), stored, False


def _rows_per_byte(path: str, data_format: str):
    """Rows per stored byte at the start of the file, or None when none is seen."""
    data, stored, whole = _sample(path)
    if data_format == "csv":
        rows = data.count(b"\n") - 1 + (whole and not data.endswith(b"\n"))  # less the header
    else:  # TFRecord: uint64 length, crc, data, crc
        rows, at = 0, 0
        while at + 12 <= len(data):
            (length,) = struct.unpack_from("<Q", data, at)
            at += 16 + length
            if at > len(data):
                break
            rows += 1
    return rows / stored if rows > 0 and stored else None


def total_rows(data, data_format):
    """(rows, exact) the data holds: exact from Parquet metadata, else estimated from the file
    sizes; None when it cannot be told."""
    files, fmt = readers.match_files(data, data_format)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        rows = 0
        for path in files:
            with _opened(path) as f:
                rows += pq.ParquetFile(f).metadata.num_rows
        return rows, True
    per_byte = _rows_per_byte(files[0], fmt)
    if per_byte is None:
        return None
    return round(per_byte * sum(_size(p) for p in files)), False
