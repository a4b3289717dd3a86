"""A metrics_spec's ``binarize`` and ``aggregate`` -> the class views of its binary metrics: the
metric once per class id, per k-th highest score or top k, pooled as a micro average, and the
macro averages over classes (:mod:`evalbeam.metrics.classes` computes them)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from evalbeam.errors import ConfigError
from evalbeam.keys import SubKey
from evalbeam.metrics import arguments
from evalbeam.metrics.base import Metric, MetricInfo
from evalbeam.metrics.classes import MacroAverage


@dataclass(frozen=True)
class ClassViews:
    """What a metrics_spec's binarize and aggregate ask of each binary metric: the streams'
    class views ``(sub key, micro average)`` and the macro averages ``(class weights,
    weighted)``."""

    views: tuple = ()
    macro: tuple | None = None

    def __bool__(self):
        return bool(self.views) or self.macro is not None


def class_views(spec, where: str) -> ClassViews:
    views = []
    if spec.HasField("binarize"):
        b = spec.binarize
        for name, make in (("class_ids", lambda v: SubKey(class_id=v)),
                           ("k_list", lambda v: SubKey(k=v)),
                           ("top_k_list", lambda v: SubKey(top_k=v))):
            values = list(getattr(b, name).values)
            low = 0 if name == "class_ids" else 1
            if any(v < low for v in values):
                raise ConfigError(f"{where}.binarize.{name}: expected values >= {low}, got {values}")
            views += [(make(v), None) for v in dict.fromkeys(values)]
        if not views:
            raise ConfigError(f"{where}.binarize: give class_ids, k_list or top_k_list")
    macro = None
    if spec.HasField("aggregate"):
        a = spec.aggregate
        kind = a.WhichOneof("type")
        if kind is None:
            raise ConfigError(f"{where}.aggregate: set micro_average, macro_average or "
                              "weighted_macro_average")
        weights = tuple(sorted((int(c), float(w)) for c, w in a.class_weights.items()))
        if any(c < 0 or w < 0 for c, w in weights):
            raise ConfigError(f"{where}.aggregate.class_weights: expected class ids and weights "
                              f">= 0, got {dict(weights)}")
        top_k = list(a.top_k_list.values)
        if kind == "micro_average":
            views += [(SubKey(top_k=k) if k else None, weights) for k in top_k or [None]]
        elif top_k:
            raise ConfigError(f"{where}.aggregate.top_k_list works with micro_average only")
        else:
            if not weights:  # the binarized classes, equally weighted
                ids = list(spec.binarize.class_ids.values) if spec.HasField("binarize") else []
                weights = tuple((int(c), 1.0) for c in sorted(set(ids)))
            if not weights:
                raise ConfigError(f"{where}.aggregate.{kind} needs the classes to average: give "
                                  "class_weights (or binarize.class_ids)")
            macro = (weights, kind == "weighted_macro_average")
    return ClassViews(tuple(views), macro)


def class_metrics(cls, name, stream, kwargs, extra, views: ClassViews, where) -> list:
    """The metric on each class view of ``views`` (just ``stream`` when there is none)."""
    own_keys = getattr(cls, "info", MetricInfo()).config_keys
    own = {k: kwargs[k] for k in ("class_id", "top_k") if k in kwargs and k in own_keys}
    if own:
        if views:
            raise ConfigError(f"{where}: class_id / top_k in the metric's config cannot be "
                              "combined with the metrics_spec's binarize or aggregate")
        kwargs = {k: v for k, v in kwargs.items() if k not in own}
        try:
            own = {k: arguments.whole_number(own, k, low=int(k == "top_k")) for k in own}
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
        stream = dataclasses.replace(stream, sub_key=SubKey(**own))

    def make(s):
        try:
            return cls(name, s, kwargs, **extra)
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None

    probe = make(stream)
    if not views or not probe.info.per_class:
        return [probe]
    out = [make(dataclasses.replace(stream, sub_key=sub, micro_average=micro))
           for sub, micro in views.views]
    if views.macro is not None and not probe.info.plot:
        if probe.of_metrics or type(probe).compute_table is Metric.compute_table:
            raise ConfigError(f"{where}: {probe.class_name} cannot be macro-averaged (it is "
                              "not computed for all slices at once)")
        weights, weighted = views.macro
        out.append(MacroAverage(name, stream, make, weights, weighted))
    return out
