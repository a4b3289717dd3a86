"""The accumulator contract and the metric contract.

A :class:`Family` is one accumulator: a set of per-slice statistics declared as
:class:`~evalbeam.metrics.state.StateSpec` (so create, merge and serialisation are derived)
and one vectorised ``add_batch`` that computes them for every slice of a batch at once from
group ids (``codes``), as Arrow's hash-aggregate kernels do.

A :class:`Metric` is a thin view: it names the families it reads and turns one slice's
statistics into values in ``compute``. Several metrics that read the same statistics share
one family instance (the planner fuses equal families), so each statistic is accumulated once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalbeam.arrays import StreamArrays
from evalbeam.keys import MetricKey, SubKey
from evalbeam.metrics.state import StateSpec


@dataclass(frozen=True)
class Stream:
    """The labels, predictions and weights a metric reads: which model, output and weighting,
    and for multi-class outputs which binary view of the class scores
    (:mod:`evalbeam.metrics.classes`): a sub key (one class, the k-th highest score, the top
    k) and/or the pooled micro average with its class weights. With a ``query_key`` its
    examples are queries (documents grouped by the value of that column) rather than rows."""

    model: str = ""
    output: str = ""
    weighted: bool = False
    sub_key: SubKey | None = None
    # set for a micro average: ((class id, weight), ...) sorted, or () for every class at 1
    micro_average: tuple | None = None
    query_key: str = ""

    @property
    def base(self) -> "Stream":
        """The stream of the output as read from the data (no class view)."""
        if self.sub_key is None and self.micro_average is None:
            return self
        return Stream(self.model, self.output, self.weighted, query_key=self.query_key)


class Family:
    """One accumulator: declared per-slice states plus a vectorised ``add_batch``.

    ``add_batch`` gets its stream's binary view of the data (labels, predictions and weights as
    1-D arrays, :func:`evalbeam.metrics.classes.binary_view`), or with ``vectors`` the output as
    read: score vectors (N, K) and class ids (N,) or label vectors (N, K). ``reads_classes``:
    it reads a class id or label vector per example (a binary output's labels must then be 0/1).
    A family that compares the candidate with the baseline model example by example sets
    ``baseline`` (the baseline's stream) and reads :class:`PairedArrays` instead.
    """

    vectors = False
    reads_classes = False
    max_classes = None  # the most classes its state can hold (None: any number)
    baseline: Stream | None = None
    # Weighting an example by k gives the same state as repeating it k times (every state a
    # sum, linear in the weights): the Poisson bootstrap may then weight each drawn example by
    # its count instead of repeating it. Families with a min or max state never are.
    counts_as_weights = True

    def __init__(self, stream: Stream):
        self.stream = stream

    def source(self):
        """Key of the arrays ``add_batch`` reads among a batch's: the output's stream (a class
        view is made from it), or the pair ``(stream, baseline)``."""
        return self.stream.base if self.baseline is None else (self.stream, self.baseline)

    def group_key(self) -> tuple:
        """Families with the same group key are fused into one (see :meth:`fuse`)."""
        return (type(self).__name__, self.stream)

    def fuse(self, other: "Family") -> "Family":
        return self

    def for_replicates(self) -> "Family":
        """The family to accumulate per resample for confidence intervals (e.g. coarser)."""
        return self

    def buckets_as(self, asked: "Family"):
        """For a family made by :meth:`for_replicates` of ``asked``: each bucket of its sparse
        states -> the bucket of ``asked``'s with the same left edge (increasing), so a metric
        reads the resamples in the buckets it asked for; None when they are the same."""
        return None

    def states(self) -> dict[str, StateSpec]:
        raise NotImplementedError

    def add_batch(self, arrays: StreamArrays, codes: np.ndarray, n_slices: int) -> dict:
        """State columns (leading axis ``n_slices``) for the examples of one batch."""
        raise NotImplementedError


@dataclass
class MetricInfo:
    """What the configuration layer needs to know about a metric class."""

    config_keys: tuple = ()
    binary_labels: bool = False  # labels must be 0 or 1
    probabilities: bool = False  # predictions must lie in [0, 1]
    plot: bool = False
    default_name: str | None = None
    intervals: bool = True  # gets a confidence interval when they are computed
    # (low, high): every value lies in it (None: unbounded); interval bounds are clipped to it
    value_range: tuple | None = None
    compares_baseline: bool = False  # reads the baseline model's predictions of each example
    higher_is_better: bool | None = None  # None: no better direction (counts, means)
    # binarize / aggregate make one per class view (False: computed once per output)
    per_class: bool = True
    query: str = "never"  # in a metrics_spec with query_key: "never", "allowed" or "required"


# Ranges of values (MetricInfo.value_range)
UNIT = (0.0, 1.0)  # rates, shares, areas
SIGNED_UNIT = (-1.0, 1.0)  # correlations
NON_NEGATIVE = (0.0, float("inf"))  # losses, counts, ratios of counts


class Metric:
    """A metric or plot: reads families, computes values for one slice."""

    info = MetricInfo()
    of_metrics = False  # computed from other metrics' values (compute_derived), not from data

    def __init__(self, name: str, stream: Stream, config: dict):
        self.name = name
        self.stream = stream
        self.config = config
        self.key = MetricKey(name, stream.model, stream.output, stream.sub_key, stream.weighted,
                             aggregation_type=None if stream.micro_average is None
                             else "micro_average")

    @property
    def class_name(self) -> str:
        """The metric's class name as configured."""
        return type(self).__name__

    def families(self) -> list[Family]:
        raise NotImplementedError

    def keys(self) -> list[MetricKey]:
        """Every key the metric writes (several for sub keys or several statistics)."""
        return [self.key]

    def columns(self) -> list[str]:
        """Data columns the metric reads besides its stream's labels, predictions, weights."""
        return []

    def compute_table(self, stats) -> dict | None:
        """Values for every slice of a table at once, ``{MetricKey: array over slices}``.

        ``stats(family)`` gives that family's states with a leading slice axis (sparse states
        as their column). Metrics that can only work one slice at a time return None and
        implement :meth:`compute`.
        """
        return None

    def compute(self, stats) -> dict:
        """Values for one slice; ``stats(family)`` gives that slice's state arrays by name."""
        raise NotImplementedError


def divide(num, den, undefined: float = np.nan):
    """num / den elementwise, ``undefined`` where the denominator is not positive.

    The policy for undefined values: a metric whose denominator is 0 (an empty slice, a rate
    of a class the slice lacks) is NaN, never a guessed 0 or 1. Only a curve's convention for
    its end points passes another value (:func:`evalbeam.metrics.confusion.matrices`).
    """
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), undefined)
