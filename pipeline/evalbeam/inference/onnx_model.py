"""ONNX models through onnxruntime: :func:`load_onnx` gives a :class:`Predictor`.

What is supported:

- inputs: one float or double tensor ``[N, F]`` (the feature matrix), or one ``[N, 1]`` or
  ``[N]`` float tensor per feature (then the input names are the feature names, in the
  model's order). Several inputs of another shape: ``input_name`` says which one to feed, and
  the model may then have no other input.
- outputs: a classifier's class scores (a float tensor ``[N, C]``, or scikit-learn
  converters' ZipMap output, a sequence of maps, read as the tensor that feeds the ZipMap:
  :mod:`~evalbeam.inference.onnx_graph` removes the ZipMap from the graph),
  or a regressor's ``[N]`` / ``[N, 1]`` output. Without ``output_name``, an output whose name
  holds "prob" or that is a sequence of maps is taken, else the only float output. It is a
  classifier's when it is a sequence of maps, its name holds "prob", the model also has an
  integer or string label output, or it has more than one column, or when ``kind`` says so.

The features are fed in the dtype the model declares: skl2onnx models take float32 by default,
so their scores agree with scikit-learn's to float32 precision (about 1e-7 relative), not
bit for bit; a model converted with double inputs runs in float64.

One session per process and file: onnxruntime's ``run`` is thread-safe, so the threads Beam
runs a step in share it. Each session computes on the calling thread only
(``intra_op_num_threads=1``, no spin-waiting): the parallelism comes from Beam's threads and
worker processes, and a thread pool per session on top of them only oversubscribes the cores.
"""
from __future__ import annotations

import os
import threading
from typing import Optional

import numpy as np

from evalbeam.errors import InputError
from evalbeam.inference import onnx_graph
from evalbeam.inference.predictor import Predictor

LOADER = "onnxruntime"
_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
_LABEL_TYPES = ("tensor(int64)", "tensor(int32)", "tensor(string)")
_SESSIONS: dict = {}
_LOCK = threading.Lock()


def load_onnx(path: str, input_name: Optional[str] = None, output_name: Optional[str] = None,
              kind: Optional[str] = None, threads: int = 1) -> Predictor:
    """The ONNX model at ``path`` (a local path or one of Beam's file systems) as a
    :class:`Predictor`; ``input_name`` / ``output_name`` pick the input fed and the output
    read when the model's own shape does not say; ``kind`` ("classifier" or "regressor") says
    what the output is when its shape and name do not (a binary classifier's one score column
    named otherwise); ``threads`` is onnxruntime's intra-op thread count per session. Raises
    :class:`~evalbeam.errors.InputError` (one line: the file, the loader, why)."""
    path = os.fspath(path)
    if kind not in (None, "classifier", "regressor"):
        raise _error(path, f"kind {kind!r}: expected 'classifier' or 'regressor'")
    if "://" in path:  # a file system of Beam's (gs://, s3://, ...): read once per process
        version = None
    else:
        try:
            stat = os.stat(path)
        except OSError as e:
            why = "no such file" if isinstance(e, FileNotFoundError) else e.strerror
            raise _error(path, why) from None
        version = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    key = (os.getpid(), path, version, input_name, output_name, kind, threads)
    with _LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = _load(path, input_name, output_name, kind, threads)
        return _SESSIONS[key]


def _load(path, input_name, output_name, kind, threads) -> Predictor:
    try:
        import onnxruntime as ort
    except ImportError:
        raise _error(path, "onnxruntime is not installed: pip install 'evalbeam[onnx]'") from None
    # a local file is opened by path, so that onnxruntime finds tensors stored beside it
    # (models over 2 GB keep them in other files); another file system's is read into memory
    model = _read(path) if "://" in path else path
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3

    def session(model):
        try:
            return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's own error classes, one per status code
            if type(e).__name__ == "InvalidProtobuf":
                raise _error(path, "not an ONNX model (it does not parse)") from None
            raise _error(path, _why(e)) from None

    sess = session(model)
    feeds, n_features, feature_names = _inputs(path, sess.get_inputs(), input_name)
    output, seen = _output(path, sess.get_outputs(), output_name)
    if kind == "regressor" and (output.type.startswith("seq(map") or (_width(output) or 1) > 1):
        raise _error(path, f"output '{output.name}' is {output.type}{_shape(output)}: class "
                           "scores, not a regressor's values")
    kind = kind or seen
    fetch, n_classes = output.name, None
    if kind == "classifier":
        graph = onnx_graph.parse(model if isinstance(model, bytes) else _read(path))
        _check_classes(path, onnx_graph.class_labels(graph))
        n_classes = _width(output)
        if output.type.startswith("seq(map"):
            zipped = onnx_graph.without_zipmap(graph, output.name)
            if zipped is None:
                raise _error(path, f"output '{output.name}' is a sequence of maps not made by a "
                                   "ZipMap; evalbeam reads class scores from a tensor")
            fetch, n_classes = zipped
            sess = session(graph.SerializeToString())
        if n_classes == 1:  # one score column: the positive class's
            n_classes = 2

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or (n_features is not None and X.shape[1] != n_features):
            raise _run_error(path, f"takes {n_features} feature columns; got an array of "
                                   f"shape {X.shape}")
        try:
            scores = sess.run([fetch], {name: take(X) for name, take in feeds})[0]
        except Exception as e:
            raise _run_error(path, f"failed on a batch of shape {X.shape}: {_why(e)}") from None
        return _scores(path, np.asarray(scores, dtype=np.float64), len(X), kind)

    return Predictor(source=str(path), loader=LOADER, kind=kind, predict=predict,
                     feature_names=feature_names, n_features=n_features, n_classes=n_classes)


def _read(path) -> bytes:
    try:
        if "://" in path:
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path) as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except Exception as e:  # noqa: BLE001 - whatever the file system raised, in one line
        raise _error(path, f"cannot read it: {_why(e)}") from None


def _inputs(path, inputs, input_name):
    """[(input name, X -> its array)], the number of features, the feature names (or None)."""
    names = ", ".join(f"{i.name} {i.type}{_shape(i)}" for i in inputs)
    if input_name is not None:
        chosen = [i for i in inputs if i.name == input_name]
        if not chosen:
            raise _error(path, f"no input named '{input_name}' (inputs: {names})")
        if len(inputs) > 1:
            raise _error(path, f"the model needs other inputs besides '{input_name}' "
                               f"(inputs: {names}); evalbeam feeds one feature matrix or one "
                               "input per feature")
        inputs = chosen
    floats = [i for i in inputs if i.type in _DTYPES]
    if not floats:
        raise _error(path, f"no float input (inputs: {names}); evalbeam feeds float features")
    if len(floats) < len(inputs):
        other = next(i for i in inputs if i.type not in _DTYPES)
        raise _error(path, f"input '{other.name}' is {other.type}; evalbeam feeds float "
                           f"features (inputs: {names})")
    if len(inputs) == 1:
        (only,) = inputs
        dtype, rank = _DTYPES[only.type], len(only.shape)
        if rank == 1:
            return [(only.name, lambda X: np.asarray(X[:, 0], dtype))], 1, None
        if rank != 2:
            raise _error(path, f"input '{only.name}' has shape{_shape(only)}; evalbeam feeds a "
                               "2-D feature matrix [rows, features]")
        width = only.shape[1] if isinstance(only.shape[1], int) else None
        return [(only.name, lambda X: np.asarray(X, dtype, order="C"))], width, None
    wide = [i for i in inputs if not _one_column(i)]
    if wide:
        raise _error(path, f"{len(inputs)} inputs, not one per feature (inputs: {names}); give "
                           "the one to feed (input_name)")
    feeds = [(i.name, _column(j, _DTYPES[i.type], len(i.shape))) for j, i in enumerate(inputs)]
    return feeds, len(inputs), [i.name for i in inputs]


def _column(j, dtype, rank):
    if rank == 1:
        return lambda X: np.asarray(X[:, j], dtype)
    return lambda X: np.asarray(X[:, j:j + 1], dtype, order="C")


def _one_column(node):
    return len(node.shape) == 1 or (len(node.shape) == 2 and node.shape[1] == 1)


def _output(path, outputs, output_name):
    """(the output read, "classifier" or "regressor")."""
    names = ", ".join(f"{o.name} {o.type}{_shape(o)}" for o in outputs)
    usable = [o for o in outputs if o.type in _DTYPES or o.type.startswith("seq(map")]
    if output_name is not None:
        chosen = [o for o in outputs if o.name == output_name]
        if not chosen:
            raise _error(path, f"no output named '{output_name}' (outputs: {names})")
        if chosen[0] not in usable:
            raise _error(path, f"output '{output_name}' is {chosen[0].type}, not scores "
                               f"(outputs: {names})")
        output = chosen[0]
    else:
        scores = [o for o in usable if o.type.startswith("seq(map") or "prob" in o.name.lower()]
        pick = scores if len(scores) == 1 else usable
        if len(pick) != 1:
            raise _error(path, f"{'no' if not pick else 'several'} float outputs "
                               f"(outputs: {names}); give the one to read (output_name)")
        output = pick[0]
    labelled = any(o.type in _LABEL_TYPES and len(o.shape) == 1 for o in outputs)
    classifier = (output.type.startswith("seq(map") or "prob" in output.name.lower() or labelled
                  or (_width(output) or 1) > 1)
    return output, "classifier" if classifier else "regressor"


def _check_classes(path, labels):
    """The class labels the model records must be the class ids 0..C-1 that evalbeam reads
    labels as (the score columns are in the labels' order)."""
    for found in labels:
        if found != list(range(len(found))):
            shown = ", ".join(map(str, found[:5])) + (", ..." if len(found) > 5 else "")
            raise _error(path, f"the classifier's classes are [{shown}]; evalbeam reads labels "
                               f"as class ids 0..{max(len(found), 2) - 1} (fit it on those)")


def _scores(path, scores, n, kind):
    if kind == "regressor" or (scores.ndim == 2 and scores.shape[1] == 1) or scores.ndim == 1:
        if scores.size != n:
            raise _run_error(path, f"gave {scores.shape} values for {n} rows")
        return scores.reshape(n)
    if scores.shape[1] == 2:
        return scores[:, 1]
    return scores


def _width(node):
    if len(node.shape) == 2 and isinstance(node.shape[1], int):
        return node.shape[1]
    return 1 if len(node.shape) == 1 else None


def _shape(node):
    """' [N, 4]' (symbolic or unknown sizes: N for the rows, ? elsewhere); '' for no tensor."""
    if not node.type.startswith("tensor"):
        return ""
    dims = [str(d) if isinstance(d, int) else "N" if i == 0 else "?"
            for i, d in enumerate(node.shape)]
    return " [" + ", ".join(dims) + "]"


def _why(e):
    """onnxruntime's message without its '[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : ' prefix,
    on one line."""
    text = " ".join(str(e).split())
    return text.rsplit(" : ", 1)[-1] if text.startswith("[ONNXRuntimeError]") else text


def _error(path, why):
    """A model that cannot be loaded: the file, the loader, why."""
    return InputError(f"{path}: cannot load the model with {LOADER}: {why}")


def _run_error(path, why):
    """A model that cannot run on a batch."""
    return InputError(f"{path}: the model ({LOADER}) {why}")
