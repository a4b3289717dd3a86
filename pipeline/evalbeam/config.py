"""Load and check an EvalConfig (text proto or JSON, TFMA's vocabulary) and resolve it into
what the pipeline runs: models, slicing specs, metric instances and thresholds.

Every problem is a :class:`~evalbeam.errors.ConfigError` with one line naming the setting,
what is allowed and what was given, raised before any data is read.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
from dataclasses import dataclass, field

from google.protobuf import json_format, text_format

from evalbeam.errors import ConfigError
from evalbeam.keys import MetricKey, SubKey, default_metric_name
from evalbeam.metrics import arguments
from evalbeam.metrics.base import FusedFamilies, Metric, MetricInfo, Stream
from evalbeam.metrics.classes import MacroAverage
from evalbeam.metrics.custom import UserMetric, load_class
from evalbeam.metrics.registry import METRICS
from evalbeam.proto import config_pb2
from evalbeam.slicing import SliceSpec, resolve as resolve_slice_spec

EvalConfig = config_pb2.EvalConfig


def parse_config(text: str, source: str = "config") -> config_pb2.EvalConfig:
    """Parse a config given as text proto or JSON (TFMA's ``eval_config.json`` works too)."""
    config = config_pb2.EvalConfig()
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            data = json.loads(text)
            if "evalConfig" in data or "eval_config" in data:  # an EvalRun (eval_config.json)
                data = data.get("evalConfig", data.get("eval_config"))
            json_format.ParseDict(data, config)
        else:
            text_format.Parse(text, config)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source}: line {e.lineno} column {e.colno}: {e.msg}") from None
    except (text_format.ParseError, json_format.ParseError) as e:
        raise ConfigError(f"{source}: {e}".replace("\n", " ")) from None
    return config


def load_config(path) -> config_pb2.EvalConfig:
    """Read and parse the config file at ``path`` (a str or ``os.PathLike``)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path}: is a folder, not a file") from None
    except PermissionError:
        raise ConfigError(f"config file {path}: permission denied") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {e.start})") from None
    return parse_config(text, path)


_CONFIG_EXTENSIONS = (".textproto", ".pbtxt", ".prototxt", ".json", ".txt")


def config_path(config) -> str | None:
    """The file a config argument names, or None when it is config text.

    An ``os.PathLike`` is always a path, and so is a str of one line that names an existing
    file or looks like a path (it ends in a config extension, or holds a path separator and no
    brace): a missing file is then said to be missing, rather than parsed as config text.
    Any other str is config text.
    """
    if isinstance(config, os.PathLike):
        return os.fspath(config)
    if not isinstance(config, str):
        return None
    name = config.strip()
    if "\n" in name or "\0" in name:
        return None
    if os.path.isfile(name) or name.lower().endswith(_CONFIG_EXTENSIONS):
        return name
    if any(sep in name for sep in {os.sep, "/"}) and not any(c in name for c in "{}"):
        return name
    return None


def read_config(config) -> config_pb2.EvalConfig:
    """An EvalConfig from a path (``os.PathLike``, or a str naming a file) or config text."""
    path = config_path(config)
    return load_config(path) if path is not None else parse_config(config)


@dataclass(frozen=True)
class Head:
    """One output of one model: the columns of its labels, predictions and weights."""

    model: str
    output: str
    label_key: str
    prediction_key: str
    example_weight_key: str = ""

    def describe(self) -> str:
        return f"model {self.model!r}" + (f" output {self.output!r}" if self.output else "")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    heads: tuple  # Head per output ("" for a single-output model)
    is_baseline: bool = False

    def head(self, output: str) -> Head:
        return next(h for h in self.heads if h.output == output)


def _model_info(ms, where: str) -> ModelInfo:
    """A model spec's outputs: ``prediction_keys`` per output, or one ``prediction_key``;
    ``label_keys`` / ``example_weight_keys`` per output, else the single key for all."""
    if ms.prediction_keys and ms.prediction_key:
        raise ConfigError(f"{where}: set prediction_key or prediction_keys, not both")
    outputs = sorted(ms.prediction_keys) or [""]
    for name in ("label_keys", "example_weight_keys"):
        stray = sorted(set(getattr(ms, name)) - set(outputs))
        if stray:
            raise ConfigError(f"{where}: {name} {stray} name no output of prediction_keys "
                              f"(outputs: {outputs})")
    heads = []
    for output in outputs:
        prediction = ms.prediction_keys[output] if ms.prediction_keys else ms.prediction_key
        label = ms.label_keys.get(output, ms.label_key)
        if not prediction or not label:
            what = f"output {output!r}: " if output else ""
            raise ConfigError(f"{where}: {what}label_key and prediction_key are required "
                              "(evalbeam evaluates predictions stored in the data)")
        heads.append(Head(ms.name, output, label, prediction,
                          ms.example_weight_keys.get(output, ms.example_weight_key)))
    return ModelInfo(ms.name, tuple(heads), ms.is_baseline)


@dataclass
class Threshold:
    """One check of one metric key, for every slice or for the slices of given specs.

    A value threshold checks ``key``'s value against ``lower``/``upper``. A change threshold
    checks ``key``, the diff metric (candidate - baseline), against the baseline's value of
    ``baseline_key`` (TFMA's GenericChangeThreshold).
    """

    key: MetricKey
    proto: config_pb2.MetricThreshold
    slice_specs: list | None = None  # None: every slice
    baseline_key: MetricKey | None = None  # set for change thresholds
    cross_specs: list | None = None  # set for cross-slice thresholds: [CrossSliceSpec]

    @property
    def is_change(self) -> bool:
        return self.baseline_key is not None

    @property
    def lower(self) -> float:
        vt = self.proto.value_threshold
        return vt.lower_bound.value if vt.HasField("lower_bound") else -math.inf

    @property
    def upper(self) -> float:
        vt = self.proto.value_threshold
        return vt.upper_bound.value if vt.HasField("upper_bound") else math.inf


@dataclass(frozen=True)
class CrossSliceSpec:
    """Pairs of slices to compare: each slice of ``baseline`` with each slice of the
    ``comparisons`` (or, if none are given, with every slice ``baseline`` does not produce)."""

    baseline: SliceSpec
    comparisons: tuple = ()


def _resolve_cross(proto, where) -> CrossSliceSpec:
    if not proto.HasField("baseline_spec"):
        raise ConfigError(f"{where}: a cross_slicing_spec needs a baseline_spec")
    return CrossSliceSpec(resolve_slice_spec(proto.baseline_spec),
                          tuple(resolve_slice_spec(s) for s in proto.slicing_specs))


@dataclass
class EvalPlan:
    """A checked configuration, ready to run."""

    config: config_pb2.EvalConfig
    models: list
    slice_specs: list
    metrics: list
    thresholds: list = field(default_factory=list)
    min_slice_size: int = 0
    max_plot_slices: int = 1000  # plots for at most this many slices per spec (0: all)
    fused: FusedFamilies = None
    # The baseline's metrics read from an earlier result instead of computed from the data:
    # slice key -> {MetricKey (of the baseline model): value}.
    baseline_metrics: dict | None = None
    resampling: object = None  # metrics.resampling.Resampling when intervals are computed
    cross_specs: list = field(default_factory=list)  # the config's CrossSliceSpecs

    def __post_init__(self):
        self.fused = FusedFamilies.build(self.metrics, self.resampling)

    @property
    def baseline(self) -> str | None:
        """Name of the baseline model, if one is configured."""
        return next((m.name for m in self.models if m.is_baseline), None)

    def checked_keys(self) -> set:
        """Metric keys the thresholds read (diffs with the candidate's and the baseline's
        values they compare)."""
        keys = {t.key for t in self.thresholds}
        for t in self.thresholds:
            if t.is_change:
                keys |= {t.baseline_key, dataclasses.replace(t.key, is_diff=False)}
        return keys

    def streams(self) -> list:
        """The streams read from each batch: the outputs' (class views are made from them),
        and the baseline's where a family compares with it."""
        streams = {f.stream.base for f in self.fused.families} | {
            f.baseline for f in self.fused.families if f.baseline is not None}
        return sorted(streams, key=lambda s: (s.model, s.output, s.weighted, s.query_key))

    def stream_pairs(self) -> list:
        """``(candidate stream, baseline stream)`` of every family comparing the two."""
        return sorted({f.source() for f in self.fused.families if f.baseline is not None},
                      key=str)

    @property
    def query_key(self) -> str:
        """The column that groups documents into queries ("" when no metric reads queries)."""
        return next((m.stream.query_key for m in self.metrics if m.stream.query_key), "")

    @property
    def counts_queries(self) -> bool:
        """Whether every metric reads queries: slice sizes (``min_slice_size``) count queries."""
        return all(m.stream.query_key for m in self.metrics)

    def head(self, model: str, output: str) -> Head:
        return next(m for m in self.models if m.name == model).head(output)

    def heads(self) -> list:
        """The model outputs read from the data."""
        return [h for m in self.evaluated_models() for h in m.heads]

    def needs(self, head: Head, what: str) -> list:
        """Class names of metrics on ``head`` that need binary labels / probabilities."""
        return sorted({m.class_name for m in self.metrics
                       if (m.stream.model, m.stream.output) == (head.model, head.output)
                       and getattr(m.info, what)})

    def evaluated_models(self) -> list:
        """The models whose predictions are read from the data."""
        return [m for m in self.models if not (m.is_baseline and self.baseline_metrics is not None)]

    def with_baseline_metrics(self, baseline_metrics: dict) -> "EvalPlan":
        """This plan with the baseline's metrics taken from ``baseline_metrics`` (by slice)."""
        if self.baseline is None:
            raise ConfigError("a baseline result was given, but no model spec has is_baseline: true")
        paired = sorted({type(m).__name__ for m in self.metrics if m.info.compares_baseline})
        if paired:
            raise ConfigError(f"{', '.join(paired)}: flip rates compare each example's "
                              "predictions with the baseline's, which a baseline result does not "
                              "hold; evaluate the baseline from the data (no baseline result) or "
                              "remove them")
        kept = [m for m in self.metrics if m.stream.model != self.baseline]
        return dataclasses.replace(self, metrics=kept, baseline_metrics=baseline_metrics)

    def input_columns(self) -> list:
        cols = []
        for h in self.heads():
            cols += [h.label_key, h.prediction_key] + ([h.example_weight_key] if h.example_weight_key else [])
        for spec in self.slice_specs:
            cols += spec.columns
        if self.query_key:
            cols.append(self.query_key)
        cols += self.query_columns()
        return list(dict.fromkeys(cols))

    def query_columns(self) -> list:
        """Per-document columns that query metrics read besides labels and predictions."""
        return list(dict.fromkeys(c for m in self.metrics for c in m.columns()))


def _metric_config(mc, where: str) -> dict:
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


@dataclass(frozen=True)
class ClassViews:
    """What a metrics_spec's binarize and aggregate ask of each binary metric: the streams'
    class views ``(sub key, micro average)`` and the macro averages ``(class weights,
    weighted)``."""

    views: tuple = ()
    macro: tuple | None = None

    def __bool__(self):
        return bool(self.views) or self.macro is not None


def _class_views(spec, where: str) -> ClassViews:
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


def _class_metrics(cls, name, stream, kwargs, extra, class_views, where) -> list:
    """The metric on each class view of ``class_views`` (just ``stream`` when there is none)."""
    own_keys = getattr(cls, "info", MetricInfo()).config_keys
    own = {k: kwargs[k] for k in ("class_id", "top_k") if k in kwargs and k in own_keys}
    if own:
        if class_views:
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
    if not class_views or not probe.info.per_class:
        return [probe]
    out = [make(dataclasses.replace(stream, sub_key=sub, micro_average=micro))
           for sub, micro in class_views.views]
    if class_views.macro is not None and not probe.info.plot:
        if probe.of_metrics or type(probe).compute_table is Metric.compute_table:
            raise ConfigError(f"{where}: {probe.class_name} cannot be macro-averaged (it is "
                              "not computed for all slices at once)")
        weights, weighted = class_views.macro
        out.append(MacroAverage(name, stream, make, weights, weighted))
    return out


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


def resolve(config: config_pb2.EvalConfig) -> EvalPlan:
    """Check ``config`` and turn it into an :class:`EvalPlan`."""
    if not config.model_specs:
        raise ConfigError("model_specs: at least one model spec with label_key and prediction_key "
                          "is needed")
    models = []
    for i, ms in enumerate(config.model_specs):
        where = f"model_specs[{i}]" + (f" ({ms.name!r})" if ms.name else "")
        models.append(_model_info(ms, where))
    names = [m.name for m in models]
    baselines = [m.name for m in models if m.is_baseline]
    if len(baselines) > 1:
        raise ConfigError(f"model_specs: only one model can be the baseline (is_baseline), got "
                          f"{baselines}")
    if baselines and len(models) == 1:
        raise ConfigError(f"model_specs: baseline {baselines[0]!r} needs a candidate model to "
                          "compare with")
    baseline = baselines[0] if baselines else None
    if len(set(names)) != len(names):
        raise ConfigError(f"model_specs: model names must be distinct, got {names}")
    if len(models) > 1 and "" in names:
        raise ConfigError("model_specs: with several models every model spec needs a name")

    slice_specs = [resolve_slice_spec(s) for s in config.slicing_specs] or [SliceSpec()]
    if len(set(slice_specs)) != len(slice_specs):
        raise ConfigError("slicing_specs: the same slicing spec is listed twice")
    cross_specs = [_resolve_cross(c, f"cross_slicing_specs[{i}]")
                   for i, c in enumerate(config.cross_slicing_specs)]

    metrics, thresholds, seen, query_key = [], [], {}, ""
    for si, spec in enumerate(config.metrics_specs):
        where_spec = f"metrics_specs[{si}]"
        if spec.query_key:
            if query_key and spec.query_key != query_key:
                raise ConfigError(f"{where_spec}: query_key {spec.query_key!r} differs from "
                                  f"{query_key!r} of an earlier metrics_spec; one query column "
                                  "per evaluation")
            query_key = spec.query_key
            class_views, top_k_list = ClassViews(), _query_top_k(spec, where_spec)
        else:
            class_views, top_k_list = _class_views(spec, where_spec), []
        unknown = [m for m in spec.model_names if m not in names]
        if unknown:
            raise ConfigError(f"{where_spec}: model_names {unknown} match no model spec "
                              f"(models: {names})")
        in_scope = []  # the model outputs this spec's metrics are computed for
        for model in models:
            if spec.model_names and model.name not in spec.model_names:
                continue
            outputs = [h.output for h in model.heads]
            missing = sorted(set(spec.output_names) - set(outputs))
            if missing:
                raise ConfigError(f"{where_spec}: output_names {missing} are not outputs of model "
                                  f"{model.name!r} (outputs: {outputs})")
            in_scope += [h for h in model.heads
                         if not spec.output_names or h.output in spec.output_names]
        if spec.HasField("example_weights"):
            weightings = [w for w, on in ((True, spec.example_weights.weighted),
                                          (False, spec.example_weights.unweighted)) if on]
        else:
            weightings = [any(h.example_weight_key for h in in_scope)]
        spec_metrics = []
        for mi, mc in enumerate(spec.metrics):
            where = f"{where_spec}.metrics[{mi}] ({mc.class_name or 'no class_name'})"
            kwargs = _metric_config(mc, where)
            if mc.module:
                try:
                    user_cls = load_class(mc.module, mc.class_name)
                except ValueError as e:
                    raise ConfigError(f"{where}: {e}") from None
                if spec.query_key:
                    raise ConfigError(f"{where}: metrics of your own are not computed per "
                                      "query; put them in a metrics_spec without query_key")
                cls = functools.partial(UserMetric, cls=user_cls, module=mc.module)
                name = kwargs.pop("name", None) or default_metric_name(mc.class_name)
            else:
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
                _check_query_use(cls, spec.query_key, where)
                given = kwargs.get("top_k_list", [])
                if top_k_list and "top_k_list" in cls.info.config_keys and isinstance(given, list):
                    kwargs["top_k_list"] = given + top_k_list  # else the metric says what it is
            compared = not mc.module and cls.info.compares_baseline
            heads = (_compared_heads(in_scope, models, baseline, mc.class_name, where)
                     if compared else in_scope)
            for head in heads:
                for weighted in weightings:
                    stream = Stream(head.model, head.output, weighted, query_key=spec.query_key)
                    # compared example by example with the baseline's output of the same name
                    extra = {"baseline": Stream(baseline, head.output, weighted)} if compared else {}
                    for metric in _class_metrics(cls, name, stream, kwargs, extra, class_views,
                                                 where):
                        if not _repeats(metric, seen, si, where, head):
                            metrics.append(metric)
                        spec_metrics.append(metric)
                        thresholds += _thresholds(mc, metric, baseline, where)
        thresholds += _spec_thresholds(spec, spec_metrics, baseline, where_spec)
    if not metrics:
        raise ConfigError("metrics_specs: no metrics configured")
    computed = {k for m in metrics for k in m.keys()}
    for m in metrics:
        if m.of_metrics:
            missing = [n for n, k in m.input_keys().items() if k not in computed]
            if missing:
                raise ConfigError(f"derived metric {m.name!r} needs metrics {missing} for "
                                  f"{m.key.model_name or 'the model'!s}, which are not configured")
    for t in thresholds:
        if t.is_change and t.baseline_key not in computed:
            raise ConfigError(f"change_threshold on {t.key.name} of model {t.key.model_name!r}: "
                              f"the baseline {baseline!r} does not compute {t.key.name} (list it "
                              "in that metrics_spec's model_names)")
    options = config.options
    resampling = _resampling(options)
    min_size = options.min_slice_size.value if options.HasField("min_slice_size") else 0
    max_plots = options.max_plot_slices.value if options.HasField("max_plot_slices") else 1000
    if max_plots < 0:
        raise ConfigError(f"options.max_plot_slices must be at least 0 (0: no limit), got "
                          f"{max_plots}")
    # the slices that cross-slice comparisons read are computed too (as TFMA does)
    for cross in cross_specs + [c for t in thresholds for c in t.cross_specs or []]:
        for spec in (cross.baseline,) + cross.comparisons:
            if spec not in slice_specs:
                slice_specs.append(spec)
    return EvalPlan(config, models, slice_specs, metrics, thresholds, min_size, max_plots,
                    resampling=resampling, cross_specs=cross_specs)


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


def _spec_thresholds(spec, spec_metrics, baseline, where_spec) -> list:
    """The metrics_spec's threshold maps (keyed by metric name): every weighting of the name."""
    out = []
    for kind in ("thresholds", "per_slice_thresholds", "cross_slice_thresholds"):
        for metric_name, value in getattr(spec, kind).items():
            matching = [m for m in spec_metrics if m.name == metric_name]
            if not matching:
                raise ConfigError(f"{where_spec}.{kind}: no metric named {metric_name!r} in "
                                  "this metrics_spec")
            for metric in matching:
                if kind == "thresholds":
                    out += _thresholds_for(metric, value, None, baseline, where_spec)
                elif kind == "per_slice_thresholds":
                    for pst in value.thresholds:
                        specs = [resolve_slice_spec(s) for s in pst.slicing_specs]
                        out += _thresholds_for(metric, pst.threshold, specs, baseline, where_spec)
                else:
                    for cst in value.thresholds:
                        out += _cross_thresholds(metric, cst, baseline, where_spec)
    return out


def _resampling(options):
    """Confidence interval options -> a Resampling (None when intervals are off).

    As TFMA: the method defaults to the jackknife, with 20 samples (``num_samples``, our
    addition, changes that)."""
    from evalbeam.metrics.resampling import JACKKNIFE, POISSON_BOOTSTRAP, Resampling

    if not (options.HasField("compute_confidence_intervals") and
            options.compute_confidence_intervals.value):
        return None
    ci = options.confidence_intervals
    method = {ci.POISSON_BOOTSTRAP: POISSON_BOOTSTRAP}.get(ci.method, JACKKNIFE)
    samples = ci.num_samples or 20
    if samples < 2:
        raise ConfigError(f"options.confidence_intervals.num_samples must be at least 2, got {samples}")
    return Resampling(method, samples)


def _thresholds(mc, metric, baseline, where) -> list:
    out = []
    if mc.HasField("threshold"):
        out += _thresholds_for(metric, mc.threshold, None, baseline, where)
    for pst in mc.per_slice_thresholds:
        specs = [resolve_slice_spec(s) for s in pst.slicing_specs]
        out += _thresholds_for(metric, pst.threshold, specs, baseline, where)
    for cst in mc.cross_slice_thresholds:
        out += _cross_thresholds(metric, cst, baseline, where)
    return out


def _cross_thresholds(metric, cst, baseline, where) -> list:
    """A value threshold on (baseline slice value - comparison slice value)."""
    if cst.threshold.HasField("change_threshold"):
        raise ConfigError(f"{where}: cross_slice_thresholds take a value_threshold on the gap "
                          "between slices; change thresholds there are not supported")
    if not cst.cross_slicing_specs:
        raise ConfigError(f"{where}: a cross_slice_threshold needs cross_slicing_specs")
    crosses = [_resolve_cross(c, where) for c in cst.cross_slicing_specs]
    out = _thresholds_for(metric, cst.threshold, None, baseline, where)
    return [dataclasses.replace(t, cross_specs=crosses) for t in out]


def _thresholds_for(metric, threshold, slice_specs, baseline, where) -> list:
    """The checks ``threshold`` asks of ``metric`` (none for the baseline model's metrics)."""
    if not (threshold.HasField("value_threshold") or threshold.HasField("change_threshold")):
        return []
    if metric.info.plot:
        raise ConfigError(f"{where}: a threshold on a plot ({metric.name}) cannot be checked")
    names = sorted({k.name for k in metric.keys()})
    if len(names) > 1:  # one value per k (sub keys) is fine: each is checked
        raise ConfigError(f"{where}: {metric.name} gives several values ({', '.join(names)}); "
                          "put the threshold on a metric that gives one")
    if baseline is not None and metric.stream.model == baseline:
        return []  # the baseline's own values are not checked (TFMA)
    out = []
    if threshold.HasField("value_threshold"):
        vt = threshold.value_threshold
        if vt.HasField("lower_bound") and vt.HasField("upper_bound") and \
                vt.lower_bound.value > vt.upper_bound.value:
            raise ConfigError(f"{where}: value_threshold lower_bound {vt.lower_bound.value} is "
                              f"above upper_bound {vt.upper_bound.value}")
        value_only = config_pb2.MetricThreshold(value_threshold=vt)
        out += [Threshold(key, value_only, slice_specs) for key in metric.keys()]
    if threshold.HasField("change_threshold"):
        ct = threshold.change_threshold
        if metric.key.is_diff:
            raise ConfigError(f"{where}: {metric.name} already compares the candidate with the "
                              "baseline; give it a value_threshold, not a change_threshold")
        if baseline is None:
            raise ConfigError(f"{where}: change_threshold compares with a baseline, but no model "
                              "spec has is_baseline: true")
        if ct.direction == config_pb2.UNKNOWN:
            raise ConfigError(f"{where}: change_threshold needs direction HIGHER_IS_BETTER or "
                              "LOWER_IS_BETTER")
        if not (ct.HasField("absolute") or ct.HasField("relative")):
            raise ConfigError(f"{where}: change_threshold needs absolute and/or relative")
        change_only = config_pb2.MetricThreshold(change_threshold=ct)
        out += [Threshold(dataclasses.replace(key, is_diff=True), change_only, slice_specs,
                          dataclasses.replace(key, model_name=baseline)) for key in metric.keys()]
    return out
