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


_CHUNK = 1 << 24  # bytes read at a time


def read_records(fileobj, name: str):
    """Yield each record's bytes; a damaged file raises InputError naming it and the offset.

    The file is read in large chunks and the records cut from them (a read per record costs
    more than the checksums)."""
    buffer, at, offset = b"", 0, 0  # offset: of buffer[0] in the file
    unpack_header, unpack_crc = struct.Struct("<QI").unpack_from, struct.Struct("<I").unpack_from
    while True:
        if len(buffer) - at < 12:
            buffer, offset, at = buffer[at:], offset + at, 0
            while len(buffer) < 12 and (more := fileobj.read(max(_CHUNK, 12 - len(buffer)))):
                buffer += more
            if not buffer:
                return
            if len(buffer) < 12:
                raise InputError(f"{name}: corrupt TFRecord file: truncated record header at "
                                 f"byte {offset}")
        length, crc = unpack_header(buffer, at)
        if _masked_crc(buffer[at:at + 8]) != crc:
            raise InputError(f"{name}: corrupt TFRecord file: bad length checksum at byte "
                             f"{offset + at} (not a TFRecord file, or damaged)")
        end = at + 12 + length + 4
        while len(buffer) < end:
            more = fileobj.read(max(_CHUNK, end - len(buffer)))
            if not more:
                raise InputError(f"{name}: corrupt TFRecord file: truncated record at byte "
                                 f"{offset + at}")
            buffer, offset, end = buffer[at:] + more, offset + at, end - at
            at = 0
        data = buffer[at + 12:end - 4]
        if _masked_crc(data) != unpack_crc(buffer, end - 4)[0]:
            raise InputError(f"{name}: corrupt TFRecord file: bad data checksum at byte "
                             f"{offset + at}")
        at = end
        yield data
