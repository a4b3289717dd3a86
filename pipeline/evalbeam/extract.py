"""RecordBatch -> labels, predictions and weights as float64 numpy arrays, checked once per batch.

Rows with a null label, prediction, weight or query (``query_key``) are dropped and counted
by reason. Values that cannot be right (NaN or infinite, labels other than 0/1 for binary
metrics, predictions outside [0, 1] for probability metrics, negative weights) stop the run
with a one-line :class:`~evalbeam.errors.InputError` naming the file, the column and a few
offending values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalbeam.arrow_numpy import to_arrow, to_numpy
from evalbeam.arrays import PairedArrays, StreamArrays
from evalbeam.errors import InputError
from evalbeam.hashing import distinct, row_hashes, value_hashes
from evalbeam.metrics.classes import needs_classes

SOURCE_KEY = b"evalbeam.source"


def with_source(batch: pa.RecordBatch, source: str) -> pa.RecordBatch:
    """Tag a batch with where it came from, for error messages (zero-copy)."""
    return batch.replace_schema_metadata({**(batch.schema.metadata or {}), SOURCE_KEY: source.encode()})


def source_of(batch: pa.RecordBatch) -> str:
    meta = batch.schema.metadata or {}
    return meta.get(SOURCE_KEY, b"input batch").decode()


def check_columns(schema: pa.Schema, eval_plan, source: str) -> None:
    """Every configured column is present, and label/prediction/weight columns are numeric."""
    present = schema.names
    for head in eval_plan.heads():
        for role, name in (("label_key", head.label_key), ("prediction_key", head.prediction_key),
                           ("example_weight_key", head.example_weight_key)):
            if not name:
                continue
            if name not in present:
                raise InputError(f"{source}: no column {name!r} ({role} of {head.describe()}); "
                                 f"columns present: {', '.join(present)}")
            typ = schema.field(name).type
            if not _numeric(typ) and not (role != "example_weight_key" and _is_list(typ)
                                          and _numeric(typ.value_type)):
                raise InputError(f"{source}: column {name!r} ({role}) has type {typ}; expected "
                                 "numbers (int, float or bool)" + (
                                     "" if role == "example_weight_key" else
                                     " or lists of numbers (class scores, label vectors)"))
    for spec in eval_plan.slice_specs:
        for name in spec.columns:
            if name not in present:
                raise InputError(f"{source}: no column {name!r} (slicing spec "
                                 f"{spec.describe()}); columns present: {', '.join(present)}")
    query_key = eval_plan.query_key
    if query_key:
        if query_key not in present:
            raise InputError(f"{source}: no column {query_key!r} (query_key); columns present: "
                             f"{', '.join(present)}")
        typ = schema.field(query_key).type
        if pa.types.is_nested(typ):
            raise InputError(f"{source}: column {query_key!r} (query_key) has type {typ}; "
                             "expected one value per row")
    resampling = eval_plan.resampling
    if resampling is not None and resampling.id_column and resampling.id_column not in present:
        raise InputError(f"{source}: no column {resampling.id_column!r} "
                         "(options.confidence_intervals.example_id_key); columns present: "
                         f"{', '.join(present)}")
    for name in eval_plan.query_columns():
        if name not in present:
            raise InputError(f"{source}: no column {name!r} (read by a query metric); columns "
                             f"present: {', '.join(present)}")
        if not _numeric(schema.field(name).type):
            raise InputError(f"{source}: column {name!r} (read by a query metric) has type "
                             f"{schema.field(name).type}; expected numbers")


def _is_list(typ) -> bool:
    return pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)


def _numeric(typ) -> bool:
    if pa.types.is_null(typ):
        return True  # no values at all (an empty CSV column, rows as dicts): rows are dropped
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ)


@dataclass
class Extracted:
    batch: pa.RecordBatch  # rows kept
    streams: dict  # Stream -> StreamArrays; (candidate, baseline) Streams -> PairedArrays
    rows_read: int
    dropped: dict = field(default_factory=dict)  # reason -> rows
    kept: np.ndarray | None = None  # the rows kept, of those read (None: every row)
    source: str = ""  # where the rows came from (in messages)
    # the columns read as numbers (float64) for the rows kept, checked: labels, predictions,
    # weights (a part's: none)
    numbers: dict = field(default_factory=dict)

    def part(self, start: int, stop: int) -> "Extracted":
        """The rows read at ``start:stop`` as if they were a batch of their own (their kept
        rows and views of their arrays), without what was dropped (the whole batch counts
        that)."""
        stop = min(stop, self.rows_read)
        if self.kept is None:
            first, last, kept = start, stop, None
        else:
            first, last = np.searchsorted(self.kept, [start, stop]).tolist()
            kept = self.kept[first:last] - start
        streams = {s: a.part(first, last) for s, a in self.streams.items()}
        return Extracted(self.batch.slice(first, last - first), streams, stop - start, {}, kept,
                         self.source)


def _examples(values: np.ndarray, k: int = 3) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:k])
    return shown + (", ..." if len(values) > k else "")


def to_float(array: pa.Array, name: str = "", source: str = "") -> np.ndarray:
    """A numeric (boolean, dictionary of numbers) Arrow array as float64 numpy: (N,) for
    numbers, (N, K) for lists of K numbers (``name`` and ``source`` name it in errors)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if _is_list(array.type):
        return _to_matrix(array, name, source)
    if pa.types.is_boolean(array.type):
        array = array.cast(pa.int8())
    return to_numpy(array).astype(np.float64, copy=False)


def _to_matrix(array: pa.Array, name: str, source: str) -> np.ndarray:
    if pa.types.is_fixed_size_list(array.type):
        width = array.type.list_size
    else:
        lengths = to_numpy(pc.list_value_length(array))
        width = int(lengths[0]) if len(lengths) else 1  # no rows: any width will do
        if (lengths != width).any():
            odd = np.unique(lengths[lengths != width])
            raise InputError(f"{source}: column {name!r} has lists of different lengths "
                             f"({width} and {_examples(odd)}); expected one value per class in "
                             "every row")
    values = array.flatten()  # the values of the rows (a slice's offsets respected)
    if values.null_count:
        raise InputError(f"{source}: column {name!r} has {values.null_count} null value(s) "
                         "inside its lists; expected a number for every class")
    return to_float(values, name, source).reshape(len(array), width)


def extract(batch: pa.RecordBatch, eval_plan) -> Extracted:
    """Check one batch and pull out the arrays every metric stream reads."""
    source = source_of(batch)
    check_columns(batch.schema, eval_plan, source)
    rows_read = batch.num_rows
    dropped = {}
    keep = kept = None
    required = [(role, name) for head in eval_plan.heads()
                for role, name in (("label", head.label_key), ("prediction", head.prediction_key),
                                   ("weight", head.example_weight_key)) if name]
    if eval_plan.query_key:
        required.append(("query_key", eval_plan.query_key))
    for role, name in required:
        col = batch.column(name)
        if col.null_count:
            valid = to_numpy(pc.is_valid(col))
            fresh = ~valid if keep is None else (~valid & keep)
            if fresh.any():
                dropped[f"null {role} ({name!r})"] = int(fresh.sum())
            keep = valid if keep is None else keep & valid
    if keep is not None:
        batch = batch.filter(to_arrow(keep))
        kept = np.flatnonzero(keep)

    columns = {}

    def column(name):
        if name not in columns:
            columns[name] = to_float(batch.column(name), name, source)
        return columns[name]

    hashes = identities(batch, eval_plan, column) if eval_plan.resampling is not None else None
    streams = {}
    for stream in eval_plan.streams():
        if stream.query_key:
            continue  # queries are assembled after grouping (evalbeam.queries)
        head = eval_plan.head(stream.model, stream.output)
        y, p = column(head.label_key), column(head.prediction_key)
        if stream.weighted and head.example_weight_key:
            w = column(head.example_weight_key)
        else:
            w = np.ones(len(y))
        streams[stream] = StreamArrays(y, p, w, hashes)
    for candidate, baseline in eval_plan.stream_pairs():
        for stream in (candidate, baseline):
            if streams[stream].p.ndim != 1:
                name = eval_plan.head(stream.model, stream.output).prediction_key
                raise InputError(f"{source}: column {name!r} (prediction_key) holds class score "
                                 "vectors; flip rates compare one score per example")
        streams[(candidate, baseline)] = PairedArrays.pair(streams[candidate], streams[baseline])

    for head in eval_plan.heads():
        _check_values(head, column, eval_plan, source)
    return Extracted(batch, streams, rows_read, dropped, kept, source, columns)


def identities(batch: pa.RecordBatch, eval_plan, column) -> np.ndarray:
    """A stable 64-bit identity of each row, which its resamples are drawn from: the hash of
    its value in the ``example_id_key`` column (rows with the same id are resampled
    together), or else of its labels, predictions and weights of every model output read
    (numbers by value, as ``column(name)`` gives them to the metrics; slicing columns are left
    out, so adding a slicing spec changes no interval), with rows equal in all of those told
    apart by their order within the batch (identical rows are drawn independently)."""
    id_column = eval_plan.resampling.id_column
    if id_column:
        return value_hashes(batch.column(id_column))
    names = dict.fromkeys(name for head in eval_plan.heads() for name in
                          (head.label_key, head.prediction_key, head.example_weight_key) if name)
    columns = []
    for name in names:
        values = column(name)
        columns += list(values.T) if values.ndim == 2 else [values]
    if not columns:  # (no model output read: nothing is drawn from these)
        return np.zeros(batch.num_rows, np.uint64)
    return distinct(row_hashes([np.ascontiguousarray(c) for c in columns]))


def _check_values(head, column, eval_plan, source) -> None:
    roles = [("label_key", head.label_key), ("prediction_key", head.prediction_key),
             ("example_weight_key", head.example_weight_key)]
    ranges = {}  # (min, max) of each column, NaN if it holds one: most batches pass on these
    for role, name in roles:
        if not name:
            continue
        values = column(name)
        ranges[name] = _range(values)
        if np.isfinite(ranges[name]).all():
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(f"{source}: column {name!r} ({role}) has {int(bad.sum())} NaN or "
                             f"infinite value(s) of {len(values)}; expected finite numbers")
    if head.example_weight_key and ranges[head.example_weight_key][0] < 0:
        w = column(head.example_weight_key)
        if (w < 0).any():
            neg = w[w < 0]
            raise InputError(f"{source}: column {head.example_weight_key!r} (example_weight_key) "
                             f"has {len(neg)} negative weight(s) (e.g. {_examples(neg)}); "
                             "expected weights >= 0")
    y, p = column(head.label_key), column(head.prediction_key)
    _check_classes(head, y, p, eval_plan, source)
    binary = eval_plan.needs(head, "binary_labels")
    if binary and not (p.ndim == 2 and y.ndim == 1) and not _binary(y, ranges[head.label_key]):
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise InputError(f"{source}: column {head.label_key!r} (label_key) has "
                             f"{int(bad.sum())} label(s) that are not 0 or 1 "
                             f"(e.g. {_examples(np.unique(y[bad]))}); {', '.join(binary)} "
                             "need binary labels")
    probabilistic = eval_plan.needs(head, "probabilities")
    lowest, highest = ranges[head.prediction_key]
    if probabilistic and (lowest < 0 or highest > 1):
        bad = (p < 0) | (p > 1)
        if bad.any():
            raise InputError(f"{source}: column {head.prediction_key!r} (prediction_key) has "
                             f"{int(bad.sum())} prediction(s) outside [0, 1] "
                             f"(e.g. {_examples(p[bad])}); {', '.join(probabilistic)} need "
                             "probabilities")


def _range(values: np.ndarray) -> np.ndarray:
    """``[min, max]`` of ``values`` ([0, 0] when empty); NaN if one is NaN."""
    if not values.size:
        return np.zeros(2)
    return np.array([values.min(), values.max()], np.float64)


def _binary(y: np.ndarray, y_range: np.ndarray) -> bool:
    """Whether every label is 0 or 1 (without a pass over them when all are the same)."""
    lowest, highest = y_range
    if lowest < 0 or highest > 1:
        return False
    if lowest == highest:
        return lowest in (0, 1)
    return not np.count_nonzero((y != 0) & (y != 1))


def _check_classes(head, y, p, eval_plan, source) -> None:
    """Labels and score vectors agree: as many label entries as scores, class ids in range,
    enough classes for the configured class ids and k."""
    if not len(p):
        return  # no rows (all dropped): nothing to check, and lists give no class count
    label, prediction = f"column {head.label_key!r} (label_key)", \
        f"column {head.prediction_key!r} (prediction_key)"
    if y.ndim == 2 and p.ndim == 1:
        raise InputError(f"{source}: {label} holds vectors of {y.shape[1]} but {prediction} one "
                         "score per example; expected score vectors of the same length")
    if y.ndim == 2 and y.shape[1] != p.shape[1]:
        raise InputError(f"{source}: {label} holds vectors of {y.shape[1]} but {prediction} "
                         f"vectors of {p.shape[1]}; expected the same number of classes")
    n_classes = p.shape[1] if p.ndim == 2 else 2
    families = [f for f in eval_plan.fused.families
                if (f.stream.model, f.stream.output) == (head.model, head.output)]
    reads_classes = any(f.reads_classes or f.stream.base != f.stream for f in families)
    if y.ndim == 1 and (p.ndim == 2 or reads_classes):
        bad = (y != np.floor(y)) | (y < 0) | (y >= n_classes)
        if bad.any():
            raise InputError(f"{source}: {label} has {int(bad.sum())} label(s) that are not "
                             f"class ids 0..{n_classes - 1} (e.g. {_examples(np.unique(y[bad]))})")
    limit = min((f.max_classes for f in families if f.max_classes), default=n_classes)
    if n_classes > limit:
        raise InputError(f"{source}: {prediction} has {n_classes} class scores; class confusion "
                         f"matrices take at most {limit} classes")
    needed = max((needs_classes(f.stream) for f in families), default=0)
    if needed > n_classes:
        raise InputError(f"{source}: {prediction} has {n_classes} class scores, but the "
                         f"configured class ids / k need {needed}")
