"""The fused CombineFn: every family's state of one slicing spec in one accumulator, a
:class:`~evalbeam.metrics.state.SliceTable` per spec, adding up the batches' partial tables
(:mod:`evalbeam.preagg`); and the coder those tables cross the shuffle with.
"""
from __future__ import annotations

import pickle
import struct

import apache_beam as beam
import numpy as np

from evalbeam.metrics.state import SliceTable


class SliceTableCoder(beam.coders.Coder):
    """Pickles a SliceTable, its arrays out of band, mostly-zero arrays as a bit mask of their
    non-zero 8-byte words plus those words (the states of many small slices, e.g. resamples
    of a slice with a few examples, are mostly zeros); estimates its size without pickling it
    (runners sample the size of elements, and a partial table can be tens of megabytes)."""

    _HEAD = struct.Struct("<IQ")  # buffers, bytes of the pickle
    _FRAME = struct.Struct("<BQQ")  # packed or not, bytes of the buffer, bytes sent
    _PACK_FROM = 1 << 12  # smaller buffers go as they are

    def encode(self, table: SliceTable) -> bytes:
        buffers = []
        head = pickle.dumps(table, protocol=5, buffer_callback=buffers.append)
        frames, payloads = [], []
        for buffer in buffers:
            raw = buffer.raw()
            packed, payload = False, raw
            if raw.nbytes % 8 == 0 and raw.nbytes >= self._PACK_FROM:
                words = np.frombuffer(raw, np.uint64)
                nonzero = words != 0
                if np.count_nonzero(nonzero) < len(words) // 2:
                    packed = True
                    payload = np.packbits(nonzero).tobytes() + words[nonzero].tobytes()
            frames.append(self._FRAME.pack(packed, raw.nbytes, len(payload)))
            payloads.append(payload)
        return b"".join([self._HEAD.pack(len(buffers), len(head)), *frames, head, *payloads])

    def decode(self, data: bytes) -> SliceTable:
        view = memoryview(data)
        count, head_size = self._HEAD.unpack_from(view)
        offset = self._HEAD.size
        frames = [self._FRAME.unpack_from(view, offset + i * self._FRAME.size)
                  for i in range(count)]
        offset += count * self._FRAME.size
        head = view[offset:offset + head_size]
        offset += head_size
        buffers = []
        for packed, size, sent in frames:
            payload = view[offset:offset + sent]
            offset += sent
            if not packed:
                buffers.append(bytearray(payload))  # a writable copy: tables merge in place
                continue
            words, mask = size // 8, (size // 8 + 7) // 8
            nonzero = np.unpackbits(np.frombuffer(payload[:mask], np.uint8), count=words)
            out = np.zeros(words, np.uint64)
            out[nonzero.view(bool)] = np.frombuffer(payload[mask:], np.uint64)
            buffers.append(out)
        return pickle.loads(head, buffers=buffers)

    def is_deterministic(self) -> bool:
        return False

    _MAX_ESTIMATE = (1 << 31) - 1  # Beam keeps size estimates in a C int

    def estimate_size(self, table: SliceTable) -> int:
        return min(max(int(table.nbytes()), 0), self._MAX_ESTIMATE)


beam.coders.registry.register_coder(SliceTable, SliceTableCoder)
PARTIAL_TYPE = beam.typehints.Tuple[int, SliceTable]  # (slicing spec index, partial table)


class FusedCombineFn(beam.CombineFn):
    """Every metric family of one slicing spec in one accumulator (a SliceTable)."""

    def __init__(self, eval_plan):
        self.state_specs = eval_plan.fused.state_specs()

    def get_accumulator_coder(self):
        return SliceTableCoder()

    def create_accumulator(self):
        return SliceTable(self.state_specs)

    def add_input(self, accumulator, table):
        return accumulator.merge(table)

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        first = next(accumulators)
        for other in accumulators:  # mutate only the first, as Beam allows
            first.merge(other)
        return first

    def compact(self, accumulator):
        return accumulator.compact()

    def extract_output(self, accumulator):
        return accumulator.compact()
