"""The public API for metrics of your own: accumulate with numpy, name it in the config.

A **custom metric** declares its per-slice states (:class:`StateSpec`: name, shape, how two of
them combine) and implements two methods; evalbeam derives creating, merging and shipping the
state, runs it inside the fused per-slice accumulator, and gives it confidence intervals::

    import numpy as np
    from evalbeam.metrics import CustomMetric, StateSpec

    class MeanAbsoluteLogError(CustomMetric):
        \"\"\"sum(w * |log(1 + p) - log(1 + y)|) / sum(w).\"\"\"
        states = (StateSpec("weight"), StateSpec("error"))
        higher_is_better = False

        def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
            error = np.abs(np.log1p(predictions) - np.log1p(labels))
            return {"weight": np.bincount(slice_codes, weights, n_slices),
                    "error": np.bincount(slice_codes, weights * error, n_slices)}

        def result(self, state):
            return state["error"] / state["weight"]

``add_batch`` gets one batch's labels, predictions and weights (float64 arrays) and the slice
of each example (``slice_codes``, ints below ``n_slices``) and returns every state with a
leading ``n_slices`` axis: vectorised, never a Python loop over examples. ``result`` gets the
summed states of many slices at once (leading slice axis) and returns one value per slice.

A state combines by its ``reduce``: ``"sum"`` (the default), ``"min"`` or ``"max"`` (a slice
without examples holds the identity, inf or -inf). Confidence intervals resample every kind:
the jackknife's resample without a partition reduces the other partitions' states, and the
Poisson bootstrap gives ``add_batch`` each drawn example as many times as it was drawn, with
its own weight. ``value_range = (low, high)`` declares the values' range: interval bounds are
clipped to it.

A **derived metric** is computed from other metrics' values, without a pass over the data::

    class PositiveRatio(DerivedMetric):
        inputs = ("true_positives", "false_positives")

        def result(self, values):
            return values["true_positives"] / (values["true_positives"] + values["false_positives"])

Name either in the config with the module that defines it; its ``config`` JSON becomes the
constructor's keyword arguments, and ``name`` (default: the class name in snake_case) the
metric's name::

    metrics { module: "my_metrics" class_name: "MeanAbsoluteLogError" }

Only the modules a config names are imported, and only when the config is read.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import sysconfig
import traceback

import numpy as np

from evalbeam.errors import EvalbeamError
from evalbeam.metrics.base import Family, Metric, MetricInfo
from evalbeam.metrics.state import DenseColumn, StateSpec

__all__ = ["CustomMetric", "DerivedMetric", "StateSpec", "load_class"]


class CustomMetric:
    """Base class of a metric of your own; see the module documentation."""

    states: tuple = ()
    higher_is_better: bool | None = None
    value_range: tuple | None = None  # (low, high) of the values; None: unbounded

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices) -> dict:
        raise NotImplementedError

    def result(self, state: dict):
        raise NotImplementedError


class DerivedMetric:
    """Base class of a metric computed from other metrics' values (``inputs``: their names)."""

    inputs: tuple = ()
    higher_is_better: bool | None = None
    value_range: tuple | None = None  # (low, high) of the values; None: unbounded

    def result(self, values: dict):
        raise NotImplementedError


_OURS = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
         *{sysconfig.get_paths()[k] + os.sep for k in ("stdlib", "purelib", "platlib")})


def _user_line(e: BaseException, module_file: str | None = None) -> str:
    """Where in the user's code ``e`` happened: `` (at FILE line N)``, or "" when the
    traceback holds no line of it. The user's code is the deepest frame outside evalbeam,
    Python and installed packages (so a numpy call names the user's line that made it), or
    else the deepest in ``module_file`` (a metrics module installed as a package)."""
    if isinstance(e, SyntaxError) and e.filename and e.lineno:
        return f" (at {e.filename} line {e.lineno})"
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if not f.filename.startswith("<")
            and not os.path.abspath(f.filename).startswith(_OURS)]
    if not ours and module_file:
        ours = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(module_file)]
    return f" (at {ours[-1].filename} line {ours[-1].lineno})" if ours else ""


def _error(e: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(e).strip()
    if isinstance(e, SyntaxError):
        text = e.msg
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def _module_file(cls) -> str | None:
    return getattr(sys.modules.get(cls.__module__), "__file__", None)


def _call(user, method: str, *args):
    """``user.method(*args)``; an exception inside the user's code becomes one line naming
    the metric, the method, the error and the file and line where it happened."""
    try:
        return getattr(user, method)(*args)
    except Exception as e:  # noqa: BLE001 - whatever the user's code raises is the user's to see
        raise EvalbeamError(
            f"custom metric {type(user).__module__}.{type(user).__qualname__}: {method} raised "
            f"{_error(e)}{_user_line(e, _module_file(type(user)))}") from None


def load_class(module: str, class_name: str):
    """The user class ``module.class_name``; ValueError with the reason if that fails (for an
    error inside the module: the error and the file and line where it happened)."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module or module.startswith(f"{e.name}."):  # the module itself is missing
            raise ValueError(f"cannot import module {module!r}: {e}") from None
        raise ValueError(f"cannot import module {module!r}: {_error(e)}{_user_line(e)}") from None
    except Exception as e:  # noqa: BLE001 - any failure inside the user's module is theirs to see
        raise ValueError(f"cannot import module {module!r}: {_error(e)}{_user_line(e)}") from None
    cls = getattr(found, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, (CustomMetric, DerivedMetric))):
        raise ValueError(f"module {module!r} has no CustomMetric or DerivedMetric named "
                         f"{class_name!r}")
    return cls


class _UserFamily(Family):
    counts_as_weights = False  # a user's add_batch may read the weights in any way

    def __init__(self, stream, user: CustomMetric, identity: tuple):
        super().__init__(stream)
        self.user, self.identity = user, identity

    def group_key(self):
        return super().group_key() + self.identity

    def states(self):
        return {spec.name: spec for spec in self.user.states}

    def add_batch(self, arrays, codes, n_slices):
        got = _call(self.user, "add_batch", arrays.y, arrays.p, arrays.w, codes, n_slices)
        out = {}
        for name, spec in self.states().items():
            value = np.asarray(got.get(name), dtype=np.float64) if name in got else None
            if value is None or value.shape != (n_slices,) + tuple(spec.shape):
                raise EvalbeamError(
                    f"custom metric {type(self.user).__module__}.{type(self.user).__qualname__}: "
                    f"add_batch must return state {name!r} of shape "
                    f"{(n_slices,) + tuple(spec.shape)}, got "
                    f"{None if value is None else value.shape}")
            out[name] = DenseColumn(spec, value)
        return out


def _value_range(cls):
    value_range = cls.value_range
    if value_range is None:
        return None
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not low <= high:
        raise ValueError(f"Expected {cls.__name__}.value_range to be (low, high) with low <= "
                         f"high, got {value_range!r}")
    return low, high


class UserMetric(Metric):
    """A CustomMetric or DerivedMetric instance, run as an evalbeam metric."""

    def __init__(self, name, stream, config, cls, module):
        super().__init__(name, stream, config)
        try:
            self.user = cls(**config)
        except Exception as e:  # noqa: BLE001 - whatever the user's code raises is theirs to see
            raise ValueError(f"{cls.__name__}({config}) raised {_error(e)}"
                             f"{_user_line(e, _module_file(cls))}") from None
        self.info = MetricInfo(higher_is_better=self.user.higher_is_better,
                               value_range=_value_range(cls))
        self.of_metrics = isinstance(self.user, DerivedMetric)
        if not self.of_metrics and any(s.sparse for s in self.user.states):
            raise ValueError(f"{cls.__name__}: custom metrics declare dense states only")
        self._identity = (module, cls.__name__, tuple(sorted(config.items())))

    def families(self):
        return [] if self.of_metrics else [_UserFamily(self.stream, self.user, self._identity)]

    def compute_table(self, stats):
        if self.of_metrics:
            return {}  # computed from the other metrics' values (compute_derived)
        return {self.key: np.asarray(_call(self.user, "result", stats(self.families()[0])),
                                     np.float64)}

    def input_keys(self) -> dict:
        return {n: dataclasses.replace(self.key, name=n) for n in self.user.inputs}

    def compute_derived(self, columns: dict) -> dict:
        values = {n: columns[k] for n, k in self.input_keys().items()}
        return {self.key: np.asarray(_call(self.user, "result", values), np.float64)}
