"""Models given for model specs -> what the pipeline runs: :class:`ModelRun` per model, with
the columns it reads and the column its predictions go to, checked against the config and the
data before the pipeline starts; :class:`Predict` chains Beam ``RunInference`` per model, and
:class:`ReadPredictor` runs ONNX models in the read step of the local runner's every-core mode
(:meth:`ModelStage.forks_safely` says why only those). :meth:`ModelRun.fact` is what
summary.json records of each model: paths, names and options, never the model.

A model spec given a model takes its predictions from it: they go to the spec's
``prediction_key`` column (a column of that name in the data is not read), or to
``evalbeam.prediction`` / ``evalbeam.prediction.NAME`` when the spec has no prediction_key.
Its features are, in this order of precedence, the names the model recorded when it was fitted
(``feature_names_in_``), the spec's ``feature_keys``, or every column of the data the config
does not name (labels, predictions, weights, slicing, query and example id columns), in the
data's order.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import apache_beam as beam
import pyarrow as pa

from evalbeam.errors import ConfigError, InputError
from evalbeam.inference.loading import format_of
from evalbeam.proto import config_pb2

PREDICTION_COLUMN = "evalbeam.prediction"
SAMPLE_ROWS = 1000  # rows each model predicts on before the pipeline, to check its output


@dataclass(frozen=True)
class ModelRun:
    """One model spec's model: a file's path or a Beam ``ModelHandler``."""

    name: str  # the model spec's name
    model: object
    column: str  # where its predictions go
    feature_keys: tuple = ()  # the spec's feature_keys
    options: dict = field(default_factory=dict)  # the loader's options (loading.OPTIONS)
    features: tuple = ()  # the columns it reads, in its order (once known)
    rule: object = None  # the FeatureRule finding them (in each batch, when not known before)

    @property
    def is_file(self) -> bool:
        return isinstance(self.model, str)

    def describe(self) -> str:
        what = self.model if self.is_file else f"ModelHandler {type(self.model).__qualname__}"
        return f"model {self.name!r} ({what})" if self.name else f"the model ({what})"

    def handler(self):
        from evalbeam.inference.handler import RecordBatchModelHandler

        return RecordBatchModelHandler(self.model, self.features, self.column, self.describe(),
                                       self.options, self.rule)

    def fact(self, predictor=None) -> dict:
        """What summary.json records of this model (``predictor``: the loaded model file):
        the model spec, the file's path (or the handler's class), its format, loader and kind,
        the options given, the prediction column and where its features came from. Only
        paths, names and options: never the model or what the handler holds."""
        out = {"model_spec": self.name}
        if self.is_file:
            out["path"] = self.model
            out["format"] = format_of(self.model, self.options)
        else:
            out["handler"] = f"{type(self.model).__module__}.{type(self.model).__qualname__}"
        if predictor is not None:
            out["loader"], out["kind"] = predictor.loader, predictor.kind
        out["options"] = {k: v for k, v in sorted(self.options.items()) if k != "format"}
        out["prediction_key"] = self.column
        rule = self.rule
        if rule is not None:
            out["features"] = rule.origin
        if self.features:
            out["n_features"] = len(self.features)
        return out


def _model_value(name: str, value):
    """(model, loader options) of one value of ``models``: a path, a ``(path, options)`` pair
    or a Beam ``ModelHandler``; the options and the file's format are checked here."""
    from apache_beam.ml.inference.base import ModelHandler

    from evalbeam.inference.loading import check_model, check_options

    options = {}
    where = f"models[{name!r}]"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        value, options = value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, ModelHandler):
        if options:
            raise ConfigError(f"{where}: options {sorted(options)} are for model files; a "
                              "ModelHandler takes none")
        return value, {}
    if isinstance(value, str):
        options = check_options(options, where)
        check_model(value, options, where)
        return value, options
    raise ConfigError(f"{where}: expected a model file's path or a Beam ModelHandler, "
                      f"got a {type(value).__module__}.{type(value).__qualname__}")


def given(models) -> dict:
    """``models`` as ``{model spec name: value}``: a dict, or one model (a path or handler)
    standing for the config's only model spec (name "")."""
    if models is None:
        return {}
    if isinstance(models, dict):
        return {str(k): v for k, v in models.items()}
    return {"": models}


def attach(config: config_pb2.EvalConfig, models: dict, flag: str = "--model / models"):
    """(the config with a prediction column for every model spec given a model, [ModelRun]).

    ``flag`` names the setting in messages."""
    config = config_pb2.EvalConfig.FromString(config.SerializeToString())
    specs = {ms.name: ms for ms in config.model_specs}
    runs = []
    for name, value in models.items():
        if name == "" and len(specs) == 1:
            spec = next(iter(specs.values()))
        elif name == "":
            raise ConfigError(f"{flag}: the config has model specs {sorted(specs)}; say which "
                              "one the model is for (--model NAME=PATH, models={NAME: ...})")
        elif name in specs:
            spec = specs[name]
        elif list(specs) == [""]:
            raise ConfigError(f"{flag}: no model spec is named {name!r}: the config's only "
                              "model spec has no name; give the model as --model PATH "
                              "(models={'': ...}) or name the spec")
        else:
            raise ConfigError(f"{flag}: no model spec is named {name!r} (model specs: "
                              f"{', '.join(repr(n) for n in specs) or 'none'})")
        where = f"model_specs ({spec.name!r})" if spec.name else "model_specs"
        if spec.prediction_keys:
            raise ConfigError(f"{where}: a model with several outputs (prediction_keys) cannot "
                              "be run from a model file; give one prediction_key")
        if any(r.name == spec.name for r in runs):
            raise ConfigError(f"{flag}: two models for model spec {spec.name!r}")
        if not spec.prediction_key:
            spec.prediction_key = PREDICTION_COLUMN + (f".{spec.name}" if spec.name else "")
        model, options = _model_value(name, value)
        runs.append(ModelRun(spec.name, model, spec.prediction_key, tuple(spec.feature_keys),
                             options))
    return config, runs


def read_columns(eval_plan, runs) -> list:
    """The columns to read: the config's, less the models' prediction columns, and the models'
    features."""
    made = {r.column for r in runs}
    return list(dict.fromkeys([*(c for c in eval_plan.input_columns() if c not in made),
                               *(f for r in runs for f in r.features)]))


def _numeric(typ) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ)
            or pa.types.is_null(typ))


@dataclass(frozen=True)
class FeatureRule:
    """How a model's feature columns are found in a schema, and checked there: the names the
    model recorded, else the spec's feature_keys, else every column the config does not name
    (``named``). Picklable: a model run inside a pipeline whose schema is known only there
    applies it to each batch's schema."""

    describe: str  # the model, for messages
    recorded: tuple = ()  # the names the model recorded when it was fitted
    feature_keys: tuple = ()
    named: frozenset = frozenset()  # columns the config names, and the models' predictions
    n_features: int | None = None  # what the model takes, when it says

    @property
    def said(self) -> str:
        """Why the columns are the model's features."""
        if self.recorded:
            return "recorded in the model"
        return "feature_keys" if self.feature_keys else "a column the config does not name"

    @property
    def origin(self) -> str:
        """Where the features come from, as summary.json says it."""
        return "the columns the config does not name" if self.said.startswith("a column") \
            else self.said

    def features(self, schema: pa.Schema, source: str) -> tuple:
        if self.recorded or self.feature_keys:
            features = list(self.recorded or self.feature_keys)
        else:
            features = [c for c in schema.names if c not in self.named]
        present, said = schema.names, self.said
        for name in features:
            if name not in present:
                raise InputError(f"{source}: no column {name!r}, a feature of {self.describe} "
                                 f"({said}); columns present: {', '.join(present)}")
            typ = schema.field(name).type
            if not _numeric(typ):
                raise InputError(f"{source}: column {name!r} ({said}, a feature of "
                                 f"{self.describe}) has type {typ}; the model takes numbers "
                                 "(int, float or bool)")
        expected = self.n_features
        if not features or (expected is not None and len(features) != expected):
            raise InputError(f"{self.describe} takes {expected or 'some'} features, but "
                             f"{len(features)} columns are its features ({said}): "
                             f"{', '.join(features) or 'none'}; set feature_keys in its model "
                             "spec")
        return tuple(features)


def feature_rule(run: ModelRun, predictor, eval_plan, runs) -> FeatureRule:
    """The rule that finds ``run``'s features (``predictor``: its loaded model file, or None
    for a ModelHandler); a ConfigError when the spec's feature_keys are not the names the model
    recorded."""
    recorded = predictor.feature_names if predictor is not None else None
    if recorded and run.feature_keys and set(run.feature_keys) != set(recorded):
        raise ConfigError(f"{run.describe()}: feature_keys {list(run.feature_keys)} are not "
                          f"the features the model was fitted with {list(recorded)}")
    named = frozenset(eval_plan.input_columns()) | {r.column for r in runs}
    return FeatureRule(run.describe(), tuple(recorded or ()), tuple(run.feature_keys), named,
                       predictor.n_features if predictor is not None else None)


def _features(run: ModelRun, predictor, eval_plan, runs, schema: pa.Schema, source: str):
    return feature_rule(run, predictor, eval_plan, runs).features(schema, source)


def _check_kind(run: ModelRun, predictor, eval_plan) -> None:
    if predictor is None or predictor.kind != "regressor":
        return
    head = eval_plan.head(run.name, "")
    needs = sorted({*eval_plan.needs(head, "binary_labels"),
                    *eval_plan.needs(head, "probabilities")})
    if needs:
        raise InputError(f"{run.describe()} is a regressor: {', '.join(needs)} need a "
                         "classifier's class scores")


def prepare(runs: list, eval_plan, schema: pa.Schema | None = None, source: str = "") -> list:
    """``[(run with its features, loaded model)]``: each model loaded here once, its features
    found in ``schema`` (of ``source``) and its kind checked against the metrics. Without a
    schema (a pipeline of the user's own) each run keeps the rule that finds its features in
    each batch's schema."""
    prepared = []
    for run in runs:
        handler = run.handler()
        loaded = handler.load_model()
        predictor = loaded if run.is_file else None
        rule = feature_rule(run, predictor, eval_plan, runs)
        if schema is not None:
            run = replace(run, features=rule.features(schema, source))
        run = replace(run, rule=rule)
        _check_kind(run, predictor, eval_plan)
        prepared.append((run, loaded))
    return prepared


def with_predictions(schema: pa.Schema, runs) -> pa.Schema:
    """``schema`` as the models' predictions leave it (for checking the config against it)."""
    for run in runs:
        if run.column in schema.names:
            schema = schema.remove(schema.get_field_index(run.column))
        schema = schema.append(pa.field(run.column, pa.float64()))
    return schema


def check_sample(batch: pa.RecordBatch, prepared: list, eval_plan) -> None:
    """Each model predicts on the first rows of ``batch``, and the config's checks of labels
    and predictions run on them: an output that does not fit the config (class scores for
    fewer classes than the labels hold, scores outside [0, 1] where probabilities are needed)
    is said now, naming the model."""
    from evalbeam.extract import extract, source_of, to_float
    from evalbeam.inference.handler import joined, prediction_array

    batch = batch.slice(0, SAMPLE_ROWS)
    for run, loaded in prepared:
        values = run.handler().predict(batch, loaded)
        label = eval_plan.head(run.name, "").label_key
        labels = to_float(batch.column(label).drop_null(), label, source_of(batch))
        if values.ndim == 2 and labels.ndim == 1 and len(labels) and \
                labels.max() >= values.shape[1]:
            raise InputError(f"{source_of(batch)}: {run.describe()} gives {values.shape[1]} "
                             f"class scores, but column {label!r} (label_key) holds class ids "
                             f"up to {labels.max():g} (in its first rows)")
        batch = joined(batch, run.column, prediction_array(values))
    try:
        extract(batch, eval_plan)
    except InputError as e:
        message = e.message
        for run, _ in prepared:
            said = f"column {run.column!r} (prediction_key)"
            if said in message:
                raise InputError(message.replace(said, f"the predictions of {run.describe()}")
                                 + " (checked on its first rows)") from None
        raise


class ModelStage:
    """The models of one run, planned in the order the run learns what it needs: the config
    (:attr:`config`, with the models' prediction columns), then the data's schema
    (:meth:`prepare`: features, the columns to read), then its first rows (:meth:`check`);
    :meth:`transform` is the step that runs them, and :meth:`facts` what summary.json records
    of them. In a pipeline of the user's own the schema comes with each batch: :meth:`load`
    stands for :meth:`prepare`."""

    sample_rows = SAMPLE_ROWS

    def __init__(self, config: config_pb2.EvalConfig, models):
        self.config, self.runs = attach(config, given(models))
        self.prepared = []
        self.read_here = False  # the read step runs the models (in_reader)

    def prepare(self, eval_plan, schema: pa.Schema, source: str) -> list:
        """Load the models, find their features in ``schema``; the columns to read."""
        self.eval_plan = eval_plan
        self.prepared = prepare(self.runs, eval_plan, schema, source)
        self.runs = [run for run, _ in self.prepared]
        return read_columns(eval_plan, self.runs)

    def load(self, eval_plan) -> None:
        """Load the models and check their kinds; their features are found in each batch."""
        self.eval_plan = eval_plan
        self.prepared = prepare(self.runs, eval_plan)
        self.runs = [run for run, _ in self.prepared]

    def schema(self, schema: pa.Schema) -> pa.Schema:
        return with_predictions(schema, self.runs)

    def check(self, batches) -> None:
        """Each model on the first rows of the first of ``batches``."""
        first = next(iter(batches), None)
        if first is not None and first.num_rows:
            check_sample(first, self.prepared, self.eval_plan)

    def facts(self) -> list:
        """summary.json's ``models``: one entry per model run (:meth:`ModelRun.fact`)."""
        if self.prepared:
            return [run.fact(loaded if run.is_file else None) for run, loaded in self.prepared]
        return [run.fact() for run in self.runs]

    def forks_safely(self) -> bool:
        """Whether every model may run in worker processes forked from this one (the local
        runner's every-core mode, :mod:`evalbeam.worker_pool`): ONNX files only, whose
        sessions compute on the calling thread and are made afresh in each process. A
        scikit-learn-family model may compute with OpenMP threads, and GNU OpenMP hangs in a
        forked child once the parent used its threads (LightGBM, XGBoost,
        HistGradientBoosting); a ModelHandler may hold anything."""
        return bool(self.runs) and all(
            run.is_file and format_of(run.model, run.options) in FORK_SAFE_FORMATS
            for run in self.runs)

    def in_reader(self) -> "ReadPredictor":
        """The models as the read step runs them (every-core mode): :attr:`read_here` then
        says that no later step is to run them."""
        self.read_here = True
        return ReadPredictor(self.runs)

    def transform(self) -> beam.PTransform:
        return Predict(self.runs)


FORK_SAFE_FORMATS = ("onnx",)


class ReadPredictor:
    """``batch -> batch with each model's predictions``, for the read step of the every-core
    mode: each process loads each model once, on its first batch (an ONNX session is made per
    process: none crosses a fork), and predicts once per record batch."""

    def __init__(self, runs):
        self.runs = list(runs)
        self._pid, self._loaded = None, []

    def __getstate__(self):
        return {"runs": self.runs, "_pid": None, "_loaded": []}

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        from evalbeam.inference.handler import joined, prediction_array

        if self._pid != os.getpid():
            handlers = [run.handler() for run in self.runs]
            self._loaded = [(h, h.load_model()) for h in handlers]
            self._pid = os.getpid()
        for run, (handler, model) in zip(self.runs, self._loaded):
            batch = joined(batch, run.column, prediction_array(handler.predict(batch, model)))
        return batch


class Predict(beam.PTransform):
    """PCollection[RecordBatch] -> the same batches with each model's predictions as a column:
    Beam ``RunInference`` per model, one after the other. ``pyarrow.Table`` elements are split
    into their record batches first."""

    def __init__(self, runs):
        super().__init__()
        self.runs = list(runs)

    def expand(self, batches):
        from apache_beam.ml.inference.base import RunInference

        batches = batches | "RecordBatches" >> beam.FlatMap(_record_batches)
        for run in self.runs:
            batches = batches | f"Predict[{run.name or 'model'}]" >> RunInference(run.handler())
        return batches


def _record_batches(element):
    if isinstance(element, pa.RecordBatch):
        return [element]
    if isinstance(element, pa.Table):
        return element.combine_chunks().to_batches()
    raise InputError(f"Evaluate with models takes pyarrow.RecordBatch or pyarrow.Table "
                     f"elements (beam.io.ReadFromParquetBatched gives tables); got a "
                     f"{type(element).__module__}.{type(element).__qualname__}")
