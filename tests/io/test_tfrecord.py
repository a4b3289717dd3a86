"""TFRecord framing read back: records across read chunks, and damaged files named."""
import io
import struct

import pytest

from evalbeam.errors import InputError
from evalbeam.io import tfrecord


def _file(records) -> bytes:
    out = io.BytesIO()
    tfrecord.write_records(out, records)
    return out.getvalue()


@pytest.mark.parametrize("chunk", [5, 13, 64, 1 << 24])
def test_records_come_back_whatever_the_read_size(monkeypatch, chunk):
    monkeypatch.setattr(tfrecord, "_CHUNK", chunk)
    records = [b"", b"a", b"x" * 100, bytes(range(256)) * 3, b"end"]
    assert list(tfrecord.read_records(io.BytesIO(_file(records)), "f")) == records


def test_a_damaged_file_names_the_problem_and_where():
    good = _file([b"first", b"second"])
    second = 16 + len(b"first")  # byte offset of the second record
    with pytest.raises(InputError, match=f"f: corrupt TFRecord file: truncated record at byte {second}"):
        list(tfrecord.read_records(io.BytesIO(good[:-3]), "f"))
    with pytest.raises(InputError, match="truncated record header at byte 0"):
        list(tfrecord.read_records(io.BytesIO(good[:5]), "f"))
    flipped = bytearray(good)
    flipped[second + 12] ^= 1  # a data byte of the second record
    with pytest.raises(InputError, match=f"bad data checksum at byte {second}"):
        list(tfrecord.read_records(io.BytesIO(bytes(flipped)), "f"))
    wrong_length = struct.pack("<Q", 99) + good[8:]
    with pytest.raises(InputError, match="bad length checksum at byte 0"):
        list(tfrecord.read_records(io.BytesIO(wrong_length), "f"))
