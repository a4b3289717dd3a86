"""Multi-class and multi-label outputs: binary views of class scores, and metrics that read
whole score vectors.

A multi-class output has a vector of K class scores per example (a list column) and a label
that is a class id (sparse) or a one-hot / multi-hot vector of K (dense). A binary output
(one score ``p``) is read as the two classes ``[1 - p, p]``.

Binary metrics read one binary problem from it, chosen by their stream (TFMA's ``binarize``
and micro ``aggregate``); the views are made once per batch and shared by every family:

- sub key ``classId:c``: one-vs-rest, the label is ``class == c``, the prediction ``score[c]``;
- sub key ``k:k``: the k-th highest score and whether its class is labelled;
- sub key ``topK:k``: every (example, class) pair, scores outside the example's top k set to
  ``-inf`` (so at the default threshold ``-inf`` the top k are the predicted positives);
- micro average (or no view on a multi-class output): every (example, class) pair pooled,
  weighted by the example weight times the class weight.

The macro averages are a metric over the per-class metrics (:class:`MacroAverage`).
"""
from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from evalbeam.arrays import StreamArrays
from evalbeam.keys import SubKey
from evalbeam.metrics import arguments
from evalbeam.metrics.base import NON_NEGATIVE, UNIT, Metric, MetricInfo, divide
from evalbeam.metrics.sums import _EPS, LABEL, WEIGHT, ExampleSums, Sums


def scores(a: StreamArrays) -> np.ndarray:
    """The (N, K) class scores (a binary output's ``p`` as ``[1 - p, p]``)."""
    return a.derived("class_scores", lambda b: b.p if b.p.ndim == 2 else np.stack([1.0 - b.p, b.p], axis=1))


def label_matrix(a: StreamArrays) -> np.ndarray:
    """The (N, K) labels: dense labels as given, class ids one-hot encoded."""
    def make(b):
        if b.y.ndim == 2:
            return b.y
        return (b.y[:, None] == np.arange(scores(b).shape[1])).astype(np.float64)

    return a.derived("class_labels", make)


def label_ids(a: StreamArrays) -> np.ndarray:
    """The labelled class of each example: the class id, or the argmax of a dense label."""
    return a.derived("class_ids", lambda b: (b.y if b.y.ndim == 1 else b.y.argmax(axis=1)).astype(np.int64))


def top_k_mask(p: np.ndarray, k: int) -> np.ndarray:
    """True for each example's k highest scores (ties at the boundary broken by position)."""
    if k >= p.shape[1]:
        return np.ones(p.shape, bool)
    top = np.argpartition(-p, k - 1, axis=1)[:, :k]
    mask = np.zeros(p.shape, bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def binary_view(base: StreamArrays, stream) -> StreamArrays:
    """The binary problem ``stream`` reads from the output's arrays ``base``."""
    if stream.sub_key is None and stream.micro_average is None and base.p.ndim == 1:
        return base  # a binary output read as it is
    if not len(base.w):  # no rows: no class to view (an empty list column has no width)
        empty = np.zeros(0)
        return StreamArrays(empty, empty, empty, base.hashes)
    name = f"view/{stream.sub_key!r}/{stream.micro_average!r}"
    return base.derived(name, lambda a: _make_view(a, stream.sub_key or SubKey(),
                                                   stream.micro_average), weighted=True)


def _make_view(a: StreamArrays, sub: SubKey, micro: tuple | None) -> StreamArrays:
    p, y = scores(a), label_matrix(a)
    if sub.top_k is not None:
        p = np.where(top_k_mask(p, sub.top_k), p, -np.inf)
    if sub.class_id is not None:
        out = StreamArrays(y[:, sub.class_id], p[:, sub.class_id], a.w, a.hashes)
    elif sub.k is not None:
        pick = np.argsort(-p, axis=1, kind="stable")[:, sub.k - 1:sub.k]
        out = StreamArrays(np.take_along_axis(y, pick, 1)[:, 0],
                           np.take_along_axis(p, pick, 1)[:, 0], a.w, a.hashes)
    else:  # every (example, class) pair, example-major
        n_classes = p.shape[1]
        class_weights = np.ones(n_classes)
        if micro:
            class_weights = np.zeros(n_classes)
            for class_id, weight in micro:
                if class_id < n_classes:
                    class_weights[class_id] = weight
        out = StreamArrays(y.ravel(), p.ravel(), (a.w[:, None] * class_weights).ravel(), None,
                           per_row=n_classes)
    out.examples = weakref.ref(a)
    return out


def pools_classes(stream) -> bool:
    """Whether the stream's view of a multi-class output lays out every (example, class)
    pair (micro average, top k, or no view) rather than one value per example."""
    sub = stream.sub_key
    return sub is None or (sub.class_id is None and sub.k is None)


def needs_classes(stream) -> int:
    """How many class scores the stream's view needs (0: any number)."""
    sub = stream.sub_key
    if sub is None:
        return 0
    return max((sub.class_id + 1) if sub.class_id is not None else 0, sub.k or 0)


# -- metrics of whole score vectors -------------------------------------------------------

def _in_top_k(a, k: int) -> np.ndarray:
    """1 where the labelled class is among the k highest scores (Keras' in_top_k: a class tied
    with the k-th score counts as in)."""
    p, ids = scores(a), label_ids(a)
    target = np.take_along_axis(p, ids[:, None], 1)
    return ((p > target).sum(axis=1) < k).astype(np.float64)


def _crossentropy(a, sparse: bool, from_logits: bool, label_smoothing: float) -> np.ndarray:
    """Keras' categorical / sparse categorical cross-entropy per example.

    Probabilities: the categorical form normalises the scores to sum to one, then clips them to
    [1e-7, 1 - 1e-7]; the sparse form clips, then normalises. Logits: log-softmax.
    """
    p = scores(a)
    if from_logits:
        shifted = p - p.max(axis=1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    elif sparse:
        clipped = np.clip(p, _EPS, 1.0 - _EPS)
        log_q = np.log(clipped / clipped.sum(axis=1, keepdims=True))
    else:
        log_q = np.log(np.clip(p / p.sum(axis=1, keepdims=True), _EPS, 1.0 - _EPS))
    y = label_matrix(a)
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + label_smoothing / y.shape[1]
    return -(y * log_q).sum(axis=1)


class ClassSums(ExampleSums):
    """Weighted per-example quantities of whole score vectors, summed per slice."""

    reads_classes = True

    @staticmethod
    def quantity(stat: tuple):
        if stat == WEIGHT:
            return None
        kind, *args = stat
        if kind == "accuracy" and not args:
            return lambda a: (scores(a).argmax(axis=1) == label_ids(a)).astype(np.float64)
        if kind == "top_k_accuracy" and len(args) == 1:  # (k,)
            return lambda a: _in_top_k(a, *args)
        if kind in ("cce", "scce") and len(args) == 2:  # (label_smoothing, from_logits)
            smoothing, logits = args
            return lambda a: _crossentropy(a, kind == "scce", logits, smoothing)
        raise ValueError(f"unknown statistic {stat!r}")


class _ClassMean(Metric):
    """sum(w * quantity) / sum(w) over examples, the quantity read from the score vector."""

    info = MetricInfo(per_class=False, higher_is_better=True, value_range=UNIT)
    stat: tuple = ()

    def families(self):
        return [ClassSums(self.stream, (WEIGHT, self.stat))]

    def compute_table(self, stats):
        family = self.families()[0]
        s = family.values(stats(family))
        return {self.key: divide(s[self.stat], s[WEIGHT])}


class SparseCategoricalAccuracy(_ClassMean):
    """Share of examples whose highest score is the labelled class (first highest on ties)."""

    stat = ("accuracy",)


class CategoricalAccuracy(SparseCategoricalAccuracy):
    """As SparseCategoricalAccuracy; a dense label's class is its argmax."""


class TopKAccuracy(_ClassMean):
    """Share of examples whose labelled class is among the ``k`` (default 5) highest scores;
    a class tied with the k-th score counts as in the top k (as Keras)."""

    info = MetricInfo(config_keys=("k",), per_class=False, higher_is_better=True,
                      value_range=UNIT)

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        k = arguments.whole_number(config, "k", 5, low=1)
        self.stat = ("top_k_accuracy", k)


class TopKCategoricalAccuracy(TopKAccuracy):
    """Keras' name of TopKAccuracy (dense labels)."""


class SparseTopKCategoricalAccuracy(TopKAccuracy):
    """Keras' name of TopKAccuracy (class id labels)."""


class _CategoricalCrossentropy(_ClassMean):
    info = MetricInfo(config_keys=("from_logits", "label_smoothing"), per_class=False,
                      higher_is_better=False, value_range=NON_NEGATIVE)
    sparse = False

    def __init__(self, name, stream, config):
        super().__init__(name, stream, config)
        smoothing = arguments.number(config, "label_smoothing", 0.0, low=0.0, high=1.0)
        logits = arguments.flag(config, "from_logits")
        self.stat = ("scce" if self.sparse else "cce", smoothing, logits)


class CategoricalCrossentropy(_CategoricalCrossentropy):
    """Keras' categorical cross-entropy, weighted mean over examples."""


class SparseCategoricalCrossentropy(_CategoricalCrossentropy):
    """Keras' sparse categorical cross-entropy, weighted mean over examples."""

    sparse = True


# -- macro averages -----------------------------------------------------------------------

class MacroAverage(Metric):
    """A binary metric averaged over classes: sum(weight_c * metric_c) / sum(weight_c).

    ``class_weights`` ((class id, weight), ...) name the classes. With ``weighted`` (TFMA's
    weighted_macro_average) each class' weight is also multiplied by its share of the labels,
    sum(w * y_c) / sum(w), per slice. A class whose metric is NaN makes the average NaN.
    """

    def __init__(self, name, stream, make, class_weights: tuple, weighted: bool):
        super().__init__(name, stream, {})
        self.per_class = [(weight, make(dataclasses.replace(stream, sub_key=SubKey(class_id=c))))
                          for c, weight in class_weights]
        self.weighted = weighted
        self.inner = self.per_class[0][1]
        self.info = self.inner.info
        self.key = dataclasses.replace(
            self.key, aggregation_type="weighted_macro_average" if weighted else "macro_average")

    @property
    def class_name(self) -> str:
        return self.inner.class_name

    def _shares(self, metric):
        return Sums(metric.stream, (WEIGHT, LABEL))

    def families(self):
        out = [f for _, m in self.per_class for f in m.families()]
        if self.weighted:
            out += [self._shares(m) for _, m in self.per_class]
        return out

    def compute_table(self, stats):
        total = weights = 0.0
        for weight, metric in self.per_class:
            value = metric.compute_table(stats)[metric.key]
            if self.weighted:
                shares = self._shares(metric)
                s = shares.values(stats(shares))
                weight = weight * divide(s[LABEL], s[WEIGHT])
                weight = np.reshape(weight, weight.shape + (1,) * (value.ndim - 1))
            total = total + weight * value
            weights = weights + weight * np.ones_like(value)
        return {self.key: divide(total, weights)}
