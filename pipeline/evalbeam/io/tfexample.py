"""tf.train.Example records -> pyarrow.RecordBatch, without TensorFlow.

A feature with at most one value in every example of the batch becomes a scalar column
(null where absent); otherwise a list column. int64_list -> int64, float_list -> float32,
bytes_list -> string (binary if not UTF-8).
"""
from __future__ import annotations

import pyarrow as pa
from google.protobuf.message import DecodeError

from evalbeam.errors import InputError
from evalbeam.proto.example_pb2 import Example

_TYPES = {"int64_list": pa.int64(), "float_list": pa.float32(), "bytes_list": pa.binary()}


def decode_examples(records, columns=None, source: str = "records",
                    start: int = 0) -> pa.RecordBatch:
    """Decode serialized Examples; ``columns`` limits the features read (all when None).

    A record that is not an Example, or a feature whose kind differs between records, is an
    InputError naming ``source`` and the record (``start``: the index of the first)."""
    values: dict = {}
    kinds: dict = {}  # feature -> (its kind, the first record that has it)
    n = 0
    wanted = None if columns is None else list(columns)
    for record in records:
        try:
            features = Example.FromString(record).features.feature
        except DecodeError as e:
            raise InputError(f"{source}: record {start + n} is not a tf.train.Example "
                             f"({e})") from None
        names = features.keys() if wanted is None else [c for c in wanted if c in features]
        for name in names:
            feature = features[name]
            kind = feature.WhichOneof("kind")
            if kind is None:
                continue
            first = kinds.setdefault(name, (kind, n))
            if first[0] != kind:
                raise InputError(f"{source}: feature {name!r} is {first[0]} in record "
                                 f"{start + first[1]} but {kind} in record {start + n}")
            values.setdefault(name, {})[n] = getattr(feature, kind).value
        n += 1
    arrays, names = [], []
    for name in (wanted if wanted is not None else sorted(values)):
        per_row = values.get(name, {})
        typ = _TYPES[kinds.get(name, ("float_list",))[0]]
        rows = [per_row.get(i) for i in range(n)]
        if all(r is None or len(r) <= 1 for r in rows):
            array = pa.array([r[0] if r else None for r in rows], type=typ)
        else:
            array = pa.array([list(r) if r is not None else None for r in rows], type=pa.list_(typ))
        if typ == pa.binary():
            try:
                array = array.cast(pa.string() if not pa.types.is_list(array.type)
                                   else pa.list_(pa.string()))
            except pa.ArrowInvalid:
                pass
        arrays.append(array)
        names.append(name)
    if not names:
        return pa.RecordBatch.from_pydict({})
    return pa.RecordBatch.from_arrays(arrays, names=names)
