"""TFRecord framing: ``uint64 length, masked crc32c(length), data, masked crc32c(data)``."""
from __future__ import annotations

import struct

import google_crc32c

from evalbeam.errors import InputError


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def write_records(fileobj, records) -> None:
    for record in records:
        header = struct.pack("<Q", len(record))
        fileobj.write(header + struct.pack("<I", _masked_crc(header)) + record +
                      struct.pack("<I", _masked_crc(record)))


def read_records(fileobj, name: str):
    """Yield each record's bytes; a damaged file raises InputError naming it and the offset."""
    offset = 0
    while True:
        header = fileobj.read(12)
        if not header:
            return
        if len(header) < 12:
            raise InputError(f"{name}: corrupt TFRecord file: truncated record header at byte {offset}")
        (length,), (crc,) = struct.unpack("<Q", header[:8]), struct.unpack("<I", header[8:])
        if _masked_crc(header[:8]) != crc:
            raise InputError(f"{name}: corrupt TFRecord file: bad length checksum at byte {offset} "
                             "(not a TFRecord file, or damaged)")
        body = fileobj.read(length + 4)
        if len(body) < length + 4:
            raise InputError(f"{name}: corrupt TFRecord file: truncated record at byte {offset}")
        data = body[:length]
        if _masked_crc(data) != struct.unpack("<I", body[length:])[0]:
            raise InputError(f"{name}: corrupt TFRecord file: bad data checksum at byte {offset}")
        offset += 16 + length
        yield data
