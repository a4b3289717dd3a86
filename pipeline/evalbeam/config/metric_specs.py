"""The metrics_specs -> metric instances: each spec's models and outputs in scope, weightings and
class views, each metric config's class, name and arguments, and the thresholds they ask for.

A metric that repeats one of an earlier spec is computed once; any other metric writing a key
already written is an error.
"""
from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass

from evalbeam.config.class_views import ClassViews, class_metrics, class_views
from evalbeam.config.thresholds import metric_config_thresholds, metrics_spec_thresholds
from evalbeam.errors import ConfigError
from evalbeam.keys import default_metric_name
from evalbeam.metrics.base import Stream
from evalbeam.metrics.custom import UserMetric, load_class
from evalbeam.metrics.registry import METRICS


def resolve_metrics_specs(metrics_specs, models: list, baseline) -> tuple[list, list]:
    """The metrics to compute (each once) and the thresholds to check, spec by spec."""
    metrics, thresholds, seen, query_key = [], [], {}, ""
    for si, spec in enumerate(metrics_specs):
        where_spec = f"metrics_specs[{si}]"
        query_key = _query_key(spec, query_key, where_spec)
        scope = _spec_scope(spec, models, where_spec)
        spec_metrics, spec_thresholds = _resolve_metrics_spec(si, spec, scope, models, baseline,
                                                              seen)
        metrics += spec_metrics
        thresholds += spec_thresholds
    if not metrics:
        raise ConfigError("metrics_specs: no metrics configured")
    return metrics, thresholds


@dataclass(frozen=True)
class _SpecScope:
    """What the metrics of one metrics_spec are computed over."""

    where: str
    query_key: str  # the spec's own ("" for metrics over rows)
    heads: list  # the model outputs
    weightings: list  # [example_weighted]
    class_views: ClassViews
    top_k_list: list  # the k of query metrics (binarize.top_k_list of a spec with query_key)


def _query_key(spec, earlier: str, where_spec: str) -> str:
    """The query column of this and the earlier specs: one per evaluation."""
    if spec.query_key and earlier and spec.query_key != earlier:
        raise ConfigError(f"{where_spec}: query_key {spec.query_key!r} differs from "
                          f"{earlier!r} of an earlier metrics_spec; one query column "
                          "per evaluation")
    return spec.query_key or earlier


def _spec_scope(spec, models: list, where_spec: str) -> _SpecScope:
    if spec.query_key:
        views, top_k_list = ClassViews(), _query_top_k(spec, where_spec)
    else:
        views, top_k_list = class_views(spec, where_spec), []
    heads = _heads_in_scope(spec, models, where_spec)
    return _SpecScope(where_spec, spec.query_key, heads, _weightings(spec, heads), views,
                      top_k_list)


def _heads_in_scope(spec, models: list, where_spec: str) -> list:
    """The model outputs the spec's metrics are computed for (model_names, output_names)."""
    names = [m.name for m in models]
    unknown = [m for m in spec.model_names if m not in names]
    if unknown:
        raise ConfigError(f"{where_spec}: model_names {unknown} match no model spec "
                          f"(models: {names})")
    heads = []
    for model in models:
        if spec.model_names and model.name not in spec.model_names:
            continue
        outputs = [h.output for h in model.heads]
        missing = sorted(set(spec.output_names) - set(outputs))
        if missing:
            raise ConfigError(f"{where_spec}: output_names {missing} are not outputs of model "
                              f"{model.name!r} (outputs: {outputs})")
        heads += [h for h in model.heads if not spec.output_names or h.output in spec.output_names]
    return heads


def _weightings(spec, heads: list) -> list:
    """Weighted and/or unweighted: as example_weights says, else weighted where a weight
    column is configured."""
    if spec.HasField("example_weights"):
        return [w for w, on in ((True, spec.example_weights.weighted),
                                (False, spec.example_weights.unweighted)) if on]
    return [any(h.example_weight_key for h in heads)]


def _resolve_metrics_spec(si, spec, scope, models, baseline, seen: dict) -> tuple[list, list]:
    """The spec's metrics not computed already and its thresholds (``seen``: updated)."""
    metrics, thresholds, spec_metrics = [], [], []
    for mi, mc in enumerate(spec.metrics):
        where = f"{scope.where}.metrics[{mi}] ({mc.class_name or 'no class_name'})"
        for head, metric in _metric_instances(mc, scope, models, baseline, where):
            if not _repeats(metric, seen, si, where, head):
                metrics.append(metric)
            spec_metrics.append(metric)
            thresholds += metric_config_thresholds(mc, metric, baseline, where)
    thresholds += metrics_spec_thresholds(spec, spec_metrics, baseline, scope.where)
    return metrics, thresholds


def _metric_instances(mc, scope: _SpecScope, models: list, baseline, where: str):
    """``(head, metric)`` for each output, weighting and class view of the metric config."""
    kwargs = _metric_config(mc, where)
    if mc.module:
        cls, name = _user_metric_class(mc, kwargs, scope, where)
    else:
        cls, name = _known_metric_class(mc, kwargs, scope, where)
    compared = not mc.module and cls.info.compares_baseline
    heads = (_compared_heads(scope.heads, models, baseline, mc.class_name, where)
             if compared else scope.heads)
    for head in heads:
        for weighted in scope.weightings:
            stream = Stream(head.model, head.output, weighted, query_key=scope.query_key)
            # compared example by example with the baseline's output of the same name
            extra = {"baseline": Stream(baseline, head.output, weighted)} if compared else {}
            for metric in class_metrics(cls, name, stream, kwargs, extra, scope.class_views, where):
                yield head, metric


def _user_metric_class(mc, kwargs: dict, scope: _SpecScope, where: str):
    """A metric of the user's own (``module``) and its name (``name`` leaves ``kwargs``)."""
    try:
        user_cls = load_class(mc.module, mc.class_name)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    if scope.query_key:
        raise ConfigError(f"{where}: metrics of your own are not computed per "
                          "query; put them in a metrics_spec without query_key")
    cls = functools.partial(UserMetric, cls=user_cls, module=mc.module)
    return cls, kwargs.pop("name", None) or default_metric_name(mc.class_name)


def _known_metric_class(mc, kwargs: dict, scope: _SpecScope, where: str):
    """A metric of evalbeam's and its name, its config keys checked (``name`` leaves
    ``kwargs``; a query spec's top_k_list joins the metric's own)."""
    cls = METRICS.get(mc.class_name)
    if cls is None:
        raise ConfigError(f"{where}: unknown metric class_name {mc.class_name!r}"
                          f"{_closest_metrics(mc.class_name)} (or give the module "
                          "of a metric of your own)")
    name = kwargs.pop("name", None) or cls.info.default_name or default_metric_name(
        mc.class_name)
    extra = sorted(set(kwargs) - set(cls.info.config_keys))
    if extra:
        raise ConfigError(f"{where}: unknown config key(s) {extra}; {mc.class_name} "
                          f"takes {sorted(cls.info.config_keys) + ['name']}")
    _check_query_use(cls, scope.query_key, where)
    given = kwargs.get("top_k_list", [])
    if scope.top_k_list and "top_k_list" in cls.info.config_keys and isinstance(given, list):
        kwargs["top_k_list"] = given + scope.top_k_list  # else the metric says what it is
    return cls, name


def _metric_config(mc, where: str) -> dict:
    """The metric config's ``config``: a JSON object, its braces optional."""
    text = mc.config.strip()
    if not text:
        return {}
    if not text.startswith("{"):
        text = "{" + text + "}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}: config is not valid JSON ({e.msg} at column {e.colno}): "
                          f"{mc.config!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: config must be a JSON object, got {mc.config!r}")
    return value


def _query_top_k(spec, where_spec) -> list:
    """A query metrics_spec's ``binarize.top_k_list`` (the k of the query metrics)."""
    if spec.HasField("aggregate"):
        raise ConfigError(f"{where_spec}: aggregate averages over classes; it does not apply to "
                          "query metrics (query_key)")
    if not spec.HasField("binarize"):
        return []
    b = spec.binarize
    if b.HasField("class_ids") or b.HasField("k_list"):
        raise ConfigError(f"{where_spec}: with query_key, binarize takes top_k_list only (the k "
                          "of the query metrics)")
    return list(b.top_k_list.values)


def _repeats(metric, seen: dict, spec_index: int, where: str, head) -> bool:
    """Whether ``metric`` repeats one of an earlier metrics_spec (the same class, stream and
    config, e.g. the per-class values under a macro and a micro average of the same classes,
    or an ExampleCount in both specs): it is then computed once. Any other metric writing a
    key already written is an error. ``seen``: key -> (spec index, where, metric), updated."""
    keys = metric.keys()
    earlier = [seen[k] for k in keys if k in seen]
    if not earlier:
        seen.update({k: (spec_index, where, metric) for k in keys})
        return False
    first_spec, first_where, first = earlier[0]
    same = (first_spec != spec_index and len(earlier) == len(keys) and
            type(first) is type(metric) and first.stream == metric.stream and
            first.config == metric.config and first.keys() == keys)
    if not same:
        clash = next(k for k in keys if k in seen)
        raise ConfigError(f"{where}: metric {clash.name!r} is configured twice for "
                          f"{head.describe()} (also in {first_where})")
    return True


def _closest_metrics(name: str) -> str:
    """'; did you mean ...?' with the known metric names nearest ``name`` (ignoring case)."""
    by_lower = {}
    for known in sorted(METRICS):
        by_lower.setdefault(known.lower(), []).append(known)
    close = ([name.lower()] if name.lower() in by_lower else
             difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6))
    if not close:
        return f"; no known metric is close (the {len(METRICS)} known ones are in the README)"
    return f"; did you mean {' or '.join(n for c in close for n in by_lower[c])}?"


def _compared_heads(in_scope, models, baseline, class_name, where) -> list:
    """The candidate outputs a metric comparing with the baseline (``compares_baseline``) is
    computed for: every output in scope but the baseline's own, each of which the baseline
    must also have."""
    if baseline is None:
        raise ConfigError(f"{where}: {class_name} compares a candidate's predictions with the "
                          "baseline's, but no model spec has is_baseline: true")
    heads = [h for h in in_scope if h.model != baseline]
    if not heads:
        raise ConfigError(f"{where}: {class_name} is computed for candidate models, but the "
                          f"metrics_spec's model_names name only the baseline {baseline!r}")
    outputs = [h.output for m in models if m.name == baseline for h in m.heads]
    for head in heads:
        if head.output not in outputs:
            raise ConfigError(f"{where}: {class_name} compares output {head.output!r} of model "
                              f"{head.model!r} with the baseline's, but the baseline "
                              f"{baseline!r} has no such output (outputs: {outputs})")
    return heads


def _check_query_use(cls, query_key: str, where: str) -> None:
    """Query metrics need a query_key; with one, only metrics over queries are allowed."""
    use = cls.info.query
    if use == "required" and not query_key:
        raise ConfigError(f"{where}: {cls.__name__} ranks the documents of a query; set "
                          "query_key on its metrics_spec")
    if use == "never" and query_key:
        query_metrics = sorted(n for n, c in METRICS.items() if c.info.query != "never")
        raise ConfigError(f"{where}: {cls.__name__} is not computed per query; a metrics_spec "
                          f"with query_key takes {', '.join(query_metrics)} (put the others in "
                          "a metrics_spec without query_key)")

