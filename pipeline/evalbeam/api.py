"""The public API: the :class:`Evaluate` PTransform, :func:`run_evaluation` and :func:`load_result`.

Data flow (DESIGN.md)::

    RecordBatch -> ComputePartials        extract, slice, pre-aggregate: (spec, SliceTable)
                   (with query metrics, also documents by query bucket:
                    -> GroupByQuery -> ComputeQueryPartials: (spec, SliceTable) of whole queries)
                -> CombinePerSlicingSpec  FusedCombineFn: one SliceTable per slicing spec
                -> ComputeAndWriteShards  metrics and plots of every slice -> the spec's shard
                -> Gather -> ValidateAndFinish   thresholds, run-level files, atomic rename
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings
from dataclasses import dataclass

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions
from apache_beam.transforms.window import GlobalWindow, GlobalWindows

from evalbeam.combine import PARTIAL_TYPE, FusedCombineFn
from evalbeam.compute import SliceResult, count_intervals, iter_slice_results, select_slices
from evalbeam.config import config_path, read_config, resolve_config
from evalbeam.errors import (ConfigError, EvalbeamError, EvalbeamWarning, InputError,
                             WorkerDied, user_error_message)
from evalbeam.extract import check_columns, with_source
from evalbeam import (cross_slices, local_workers, on_dask, pipeline_flags, regressions,
                      row_counters, run_facts, worker_deaths)
from evalbeam.io import readers
from evalbeam.io.artifacts import (discard, finish_artifacts, staging_dir, write_records_shard,
                                   write_shard)
from evalbeam.io.files import SUMMARY_FILE
from evalbeam.io.output_location import check_output
from evalbeam.io.staging import claim, clear_stale
from evalbeam.io.result import EvalResult, load_result
from evalbeam.metrics.state import SliceTable
from evalbeam.plan import EvalPlan
from evalbeam.preagg import batch_partials
from evalbeam.proto import config_pb2
from evalbeam.queries import query_partials, split_by_query
from evalbeam.read_partials import ReadAndPreAggregate
from evalbeam.task_partials import TaskPartials
from evalbeam.validate import validate
from evalbeam.data_quality.output import checked, statistics_files, statistics_of
from evalbeam.data_quality.schema_file import load_schema
from evalbeam.data_quality.run_plan import (SHIFT_ROWS, batch_schema, data_quality_for,
                                            with_data_quality)
from evalbeam.data_quality.to_proto import slice_name

__all__ = ["Evaluate", "run_evaluation", "evaluate_and_bless", "find_regressions", "load_result",
           "EvalResult", "as_plan"]


def as_plan(config) -> EvalPlan:
    """An EvalPlan from an EvalConfig proto, a config file (``os.PathLike``, or a str that
    names a file: see :func:`evalbeam.config.config_path`), or config text."""
    if isinstance(config, EvalPlan):
        return config
    if isinstance(config, config_pb2.EvalConfig):
        return resolve_config(config)
    if isinstance(config, (str, os.PathLike)):
        return resolve_config(read_config(config))
    raise TypeError(f"Expected config to be an EvalConfig, a path or config text, got {type(config)}")


# with query metrics, ComputePartials' elements say what they are: (_PARTIALS, partial) or
# (_DOCUMENTS, (query bucket, documents)); one output, selected downstream (no tagged outputs,
# which Beam's DaskRunner mixes into the main one)
_PARTIALS, _DOCUMENTS = "partials", "documents"


ROWS_PER_BATCH = 1 << 16  # rows given as dicts are gathered into batches of this many


class _ComputePartials(beam.DoFn):
    """Record batches (or tables) -> partials; rows given as dicts (``beam.io.ReadFromParquet``)
    are gathered into record batches of ``ROWS_PER_BATCH`` first, in ``finish_bundle`` for
    the last ones: ``gathers_rows=False`` (a runner that drops what ``finish_bundle`` emits)
    refuses them instead."""

    def __init__(self, eval_plan, gathers_rows=True):
        self.eval_plan = eval_plan
        self.queries = bool(eval_plan.query_key)
        self.gathers_rows = gathers_rows
        self._rows = []  # rows given as dicts, not yet gathered into a batch

    def start_bundle(self):
        self._rows = []

    def process(self, element, window=beam.DoFn.WindowParam):
        if isinstance(element, dict):
            if not self.gathers_rows:
                raise InputError("Evaluate cannot gather rows given as dicts on this runner "
                                 "(it drops what a DoFn emits at the end of a bundle); give it "
                                 "record batches (beam.io.ReadFromParquetBatched, or "
                                 "pyarrow.RecordBatch.from_pylist) instead")
            if not isinstance(window, GlobalWindow):
                raise InputError("Evaluate gathers rows given as dicts only in the global "
                                 "window; give it record batches (beam.BatchElements and "
                                 "pyarrow.RecordBatch.from_pylist) instead")
            self._rows.append(element)
            if len(self._rows) >= ROWS_PER_BATCH:
                yield from self._compute(self._gathered())
            return
        if isinstance(element, TaskPartials):  # read and pre-aggregated where it was read
            if self.queries:
                for table in element.tables:
                    yield _PARTIALS, table
            else:
                yield from element.tables
            return
        if isinstance(element, pa.Table):
            batches = element.to_batches()
        elif isinstance(element, pa.RecordBatch):
            batches = [element]
        else:
            raise InputError(f"Evaluate takes pyarrow.RecordBatch or pyarrow.Table elements, or "
                             f"rows as dicts; got a {type(element).__module__}."
                             f"{type(element).__qualname__}")
        for batch in batches:
            yield from self._compute(batch)

    def finish_bundle(self):
        if self._rows:
            for out in self._compute(self._gathered()):
                yield GlobalWindows.windowed_value_at_end_of_window(out)

    def _gathered(self) -> pa.RecordBatch:
        rows, self._rows = self._rows, []
        try:
            return with_source(pa.RecordBatch.from_pylist(rows), "rows given as dicts")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"rows given as dicts: cannot make a record batch of them "
                             f"({str(e).splitlines()[0]})") from None

    def _compute(self, batch):
        extracted, partials = batch_partials(batch, self.eval_plan)
        row_counters.count(extracted.rows_read, extracted.dropped)
        if not self.queries:
            yield from partials
            return
        for partial in partials:
            yield _PARTIALS, partial
        for keyed in split_by_query(extracted.batch, self.eval_plan):
            yield _DOCUMENTS, keyed


def _select(element, kind):
    """The value of a ComputePartials element of this kind, else nothing."""
    return [element[1]] if element[0] == kind else []


@dataclass
class _Shard:
    """What the final step needs of one slicing spec once its shard is written."""

    index: int
    checked: list  # slices with a metric some threshold checks (and the overall slice)
    omitted: list  # slice keys below min_slice_size
    slices: int  # slices written
    tally: dict  # rows read / used / dropped (first spec only)
    regressions: list  # the candidate's regressions in this spec's slices
    intervals: dict  # what became of the slices' confidence intervals (count_intervals)
    summary: dict  # the spec's entry of summary.json's "specs"
    # dataset -> (serialized DatasetFeatureStatistics of its slices, slices omitted)
    statistics: dict = dataclasses.field(default_factory=dict)
    statistics_slices: dict = dataclasses.field(default_factory=dict)  # TFDV name -> slice key


def _shard_count(eval_plan) -> int:
    """One shard per slicing spec, and one more for cross-slice metrics when there are any."""
    return len(eval_plan.slice_specs) + bool(cross_slices.cross_specs(eval_plan))


def _write_shard(spec_and_table, eval_plan, staging) -> _Shard:
    """Compute one slicing spec's slices and write its shard as they are produced."""
    index, table = spec_and_table
    checked = eval_plan.checked_keys()
    crosses = cross_slices.cross_specs(eval_plan)
    written, found, interval_counts = 0, [], {}
    finder = regressions.Finder(eval_plan) if eval_plan.baseline is not None else None

    def keep(r):
        nonlocal written
        written += 1
        if eval_plan.resampling is not None:
            count_intervals(interval_counts, r, eval_plan.resampling)
        if finder is not None:
            found.extend(finder(r.slice_key, r.example_count, r.metrics, r.intervals))
        if not r.slice_key or (crosses and cross_slices.involves(crosses, r.slice_key)):
            metrics = r.metrics  # the overall slice, and slices compared across slices
        else:
            metrics = checked and {k: v for k, v in r.metrics.items() if k in checked}
        intervals = {k: v for k, v in r.intervals.items() if k in checked}
        return SliceResult(r.slice_key, r.example_count, metrics, {}, intervals) if metrics else None

    selection = select_slices(table, eval_plan)
    kept = write_shard(staging, index, _shard_count(eval_plan),
                       iter_slice_results(table, eval_plan, selection), selection.omitted,
                       eval_plan.min_slice_size, keep)
    summary = {"spec": eval_plan.slice_specs[index].describe(), "slices": written,
               "omitted_below_min_slice_size": len(selection.omitted),
               "rows_with_null_slicing_feature": table.null_rows,
               "plot_slices": selection.plot_slices, "plot_slices_cut": selection.plot_slices_cut}
    statistics = {dataset: statistics_of(stats, eval_plan)
                  for dataset, stats in table.statistics.items()}
    names = {slice_name(key): key for stats in table.statistics.values() for key in stats.keys}
    return _Shard(index, kept, selection.omitted, written, table.tally, found, interval_counts,
                  summary, statistics, names)


def _gates(dq) -> bool:
    """Whether the data-quality checks can fail: a schema, or a drift threshold."""
    return dq.schema is not None or bool(dq.drift_thresholds) or \
        dq.default_drift_threshold is not None


def _warnings(counts) -> list:
    """What a careful user should hear about the run although it succeeded."""
    read, used = counts.get("rows_read", 0), counts.get("rows_used", 0)
    if not read:
        return ["the input has no rows: every slice is empty (no metric has a value)"]
    if not used:
        return [f"all {read} rows read were dropped (see rows_dropped): every slice is empty"]
    return []


def _finish(shards, eval_plan, staging, output_dir, data_location, file_format, said=(),
            facts=None, report=True):
    shards = list(shards)
    done = {s.index for s in shards}
    for index, spec in enumerate(eval_plan.slice_specs):
        if index not in done:  # no slices in this spec: an empty shard (overall: an empty slice)
            table = SliceTable(eval_plan.fused.state_specs())
            if spec.is_overall:
                table.rows_for([()])
            shards.append(_write_shard((index, table), eval_plan, staging))
    shards.sort(key=lambda s: s.index)
    counts = {}
    for shard in shards:
        for reason, n in shard.tally.items():
            counts[reason] = counts.get(reason, 0) + n
    results = [r for s in shards for r in s.checked]
    # a slice several specs generate (country, and country=fr) is omitted once
    omitted = list(dict.fromkeys(k for s in shards for k in s.omitted))
    cross = cross_slices.compute(eval_plan, results)
    validation = validate(results, omitted, eval_plan, cross)
    if cross_slices.cross_specs(eval_plan):
        write_records_shard(staging, len(eval_plan.slice_specs), _shard_count(eval_plan),
                            cross_slices.records(cross))
    found = None
    if eval_plan.baseline is not None:
        found = regressions.rank([r for s in shards for r in s.regressions])
    intervals = {}
    for shard in shards:
        for what, n in shard.intervals.items():
            intervals[what] = intervals.get(what, 0) + n
    statistics = statistics_files(eval_plan, [s.statistics for s in shards])
    quality = checked(eval_plan, statistics,
                      {name: key for s in shards for name, key in s.statistics_slices.items()})
    if quality is not None and _gates(eval_plan.data_quality):  # thresholds of the data's
        if validation.missing_thresholds:  # the only ones: what they say is the outcome
            validation.missing_thresholds, validation.validation_ok = False, True
        if quality.failures:  # schema anomalies, drift beyond its threshold
            validation.data_quality_failures.extend(quality.failures)
            validation.validation_ok = False
    finish_artifacts(staging, output_dir, eval_plan, results, omitted, validation, counts,
                     sum(s.slices for s in shards), data_location, file_format, found,
                     [*said, *_warnings(counts)], intervals, specs=[s.summary for s in shards],
                     facts=facts, report=report, statistics=statistics, quality=quality)
    return validation.validation_ok


def _typed(tables):
    """(spec, SliceTable) elements get their coder (cheap size estimates) even when
    construction-time type checks, which would infer it from the type hints, are off."""
    tables.element_type = PARTIAL_TYPE
    return tables


class Evaluate(beam.PTransform):
    """PCollection[pyarrow.RecordBatch] -> evaluation artifacts in ``output_dir``.

    Elements may also be ``pyarrow.Table`` (``beam.io.ReadFromParquetBatched``) or rows as
    dicts (``beam.io.ReadFromParquet``), which are gathered into record batches.

    ``input_warnings``: what was said about the input (e.g. files skipped), kept with the
    run's other warnings in summary.json. ``data_location``: where the data came from, a text
    or a list of paths as given (summary.json's ``data``). ``run_name`` and ``data_span``
    (``"2026-11-01..2026-11-07"`` or a ``(start, end)`` pair of ISO dates or date-times; see
    :mod:`evalbeam.run_facts`) are kept in summary.json, which also records when the run was
    evaluated (``evaluated_at``, UTC); ``evalbeam history`` orders runs by them.
    ``report``: also write the run's page, ``report.html`` (:mod:`evalbeam.report`).
    ``models``: models run on the batches for model specs, as :func:`run_evaluation` takes
    them (``{name: path, (path, options) or ModelHandler}``, or one model for the only model
    spec); they are loaded here once to check them against the config, and in the pipeline
    once per worker process by Beam's ``RunInference``. Their features are found in each
    batch (the names a model recorded, else the spec's ``feature_keys``, else every column
    the config does not name); elements must then be record batches or tables. summary.json
    records which model fed which model spec.
    Returns a PCollection with one element: whether validation passed.
    """

    def __init__(self, config, output_dir: str, data_location="<user provided PCollection>",
                 file_format: str = "<unknown>", input_warnings=(), run_name: str | None = None,
                 data_span=None, report: bool = True, models=None):
        super().__init__()
        self.report = report
        self.stage = None  # the models run on the batches (evalbeam.inference), if any
        if models is not None and _is_stage(models):  # prepared by run_evaluation
            self.stage, self.eval_plan = models, as_plan(config)
        elif models:
            from evalbeam.inference.runs import ModelStage

            self.stage = ModelStage(_config_proto(config), models)
            self.eval_plan = resolve_config(self.stage.config)
            self.stage.load(self.eval_plan)
        else:
            self.eval_plan = as_plan(config)  # config errors surface at graph-build time
        check_output(output_dir)  # so do output locations that may not be replaced
        self.output_dir = output_dir
        self.staging = staging_dir(output_dir)  # shards are written here, then moved
        data = [data_location] if isinstance(data_location, str) else list(data_location)
        self.data_location, self.file_format = ",".join(data), file_format
        self.input_warnings = list(input_warnings)
        self.facts = run_facts.summary_facts(
            run_facts.check_run_name(run_name, "run_name"),
            None if data_span is None else run_facts.parse_span(data_span, "data_span"), data,
            self.stage.facts() if self.stage is not None else None)

    def expand(self, batches):
        plan = self.eval_plan
        # what dead runs into the same place left goes; this run's staging is owned by this
        # process, which waits for its workers when the runner is local
        clear_stale(self.output_dir)
        claim(self.staging, local=pipeline_flags.runs_here(batches.pipeline.runner))
        if self.stage is not None and not self.stage.read_here:
            if plan.data_quality is not None and plan.data_quality.baseline_data:
                # the baseline data's statistics, read and pre-aggregated, pass the models by
                done = batches | "ReadPartials" >> beam.Filter(_is_read, True)
                batches = batches | "RowsToPredict" >> beam.Filter(_is_read, False)
                batches = ((batches | "Predict" >> self.stage.transform(), done)
                           | "JoinPredicted" >> beam.Flatten())
            else:
                batches = batches | "Predict" >> self.stage.transform()
        compute = beam.ParDo(_ComputePartials(
            plan, gathers_rows=not on_dask.drops_bundle_output(batches.pipeline.runner)))
        if plan.query_key:
            # a query's documents may be in any batch: group them before computing per query
            outputs = batches | "ComputePartials" >> compute
            row_partials = outputs | "SelectPartials" >> beam.FlatMap(_select, _PARTIALS)
            whole_queries = (outputs
                             | "SelectDocuments" >> beam.FlatMap(_select, _DOCUMENTS)
                             | "GroupByQuery" >> beam.GroupByKey()
                             | "ComputeQueryPartials" >> beam.FlatMapTuple(
                                 lambda _, docs: query_partials(docs, plan)
                             ).with_output_types(PARTIAL_TYPE))
            partials = ((_typed(row_partials), _typed(whole_queries))
                        | "JoinPartials" >> beam.Flatten())
        else:
            partials = batches | "ComputePartials" >> compute.with_output_types(PARTIAL_TYPE)
        combined = _typed(partials) | "CombinePerSlicingSpec" >> beam.CombinePerKey(
            FusedCombineFn(plan))
        shards = (_typed(combined)
                  | "ComputeAndWriteShards" >> beam.Map(_write_shard, plan, self.staging)
                  | "KeyShards" >> beam.Map(lambda shard: (None, shard)))
        # one element even without data, so an empty input still gets its (empty) artifacts
        # (a Create: Beam's DaskRunner cannot start from a bare Impulse)
        start = batches.pipeline | "Start" >> beam.Create([(None, None)], reshuffle=False)
        where = (self.staging, self.output_dir, self.data_location, self.file_format,
                 self.input_warnings, self.facts, self.report)
        return ((start, shards)
                | "Join" >> beam.Flatten()
                | "Gather" >> beam.GroupByKey()
                | "ValidateAndFinish" >> beam.MapTuple(
                    lambda _, shards: _finish([s for s in shards if s is not None], plan, *where)))


def _is_read(element, read: bool) -> bool:
    """Whether ``element`` is (``read``) or is not read and pre-aggregated already."""
    return isinstance(element, TaskPartials) == read


def _is_stage(models) -> bool:
    from evalbeam.inference.runs import ModelStage

    return isinstance(models, ModelStage)


def _config_proto(config) -> config_pb2.EvalConfig:
    """The EvalConfig proto of what :func:`as_plan` takes."""
    if isinstance(config, EvalPlan):
        if config.baseline_metrics is not None:
            raise ConfigError("models cannot be given with a plan holding a baseline result's "
                              "metrics; give the config (run_evaluation takes both)")
        return config.config
    if isinstance(config, config_pb2.EvalConfig):
        return config
    if isinstance(config, (str, os.PathLike)):
        return read_config(config)
    raise TypeError(f"Expected config to be an EvalConfig, a path or config text, got {type(config)}")


def _pipeline_options(pipeline_options) -> PipelineOptions:
    if isinstance(pipeline_options, PipelineOptions):
        return pipeline_options
    flags = list(pipeline_options or [])
    pipeline_flags.check(flags)
    if not any(f.startswith(("--pipeline_type_check", "--no_pipeline_type_check")) for f in flags):
        # Beam re-parses the options for every construction-time type check; our transforms
        # are checked by their tests, so skip that (a user's flag wins)
        flags.append("--no_pipeline_type_check")
    return PipelineOptions(flags)


def baseline_metrics_from(result_dir: str, baseline: str) -> dict:
    """An earlier result's metrics per slice (numbers and arrays of numbers), keyed as the
    baseline model's.

    The result's model is the one named ``baseline``, or its only model.
    """
    metrics = load_result(result_dir).metrics
    names = {k.model_name for values in metrics.values() for k in values if not k.is_diff}
    if baseline in names:
        source = baseline
    elif len(names) == 1:
        source = next(iter(names))
    else:
        raise InputError(f"baseline result {result_dir} has models {sorted(names)}; none is "
                         f"named {baseline!r}")
    return {slice_key: {dataclasses.replace(k, model_name=baseline): v
                        for k, v in values.items()
                        if k.model_name == source and not k.is_diff and (
                            isinstance(v, float) or isinstance(v, np.ndarray))}
            for slice_key, values in metrics.items()}


def baseline_read_tasks(patterns, data_format, schema, said) -> tuple:
    """``(read tasks, CSV column types)`` of the baseline data (statistics only)."""
    from evalbeam.data_quality.plan import BASELINE

    files, fmt = readers.match_files(list(patterns), data_format, said)
    types = readers.CsvTypes.load(schema) if fmt == "csv" else None
    return [dataclasses.replace(t, dataset=BASELINE) for t in readers.read_tasks(files, fmt)], \
        types


def run_evaluation(config, data, output_dir: str, pipeline_options=None, data_format=None,
                   schema=None, batch_size: int = readers.DEFAULT_BATCH_SIZE,
                   baseline_result: str | None = None, report: bool = True,
                   run_name: str | None = None, data_span=None, models=None,
                   data_quality=None) -> EvalResult:
    """Evaluate ``data`` with ``config`` and write the artifacts to ``output_dir``.

    ``data``: a file pattern or list of patterns (Parquet, CSV with a header, TFRecord of
    tf.train.Example; format from the extension or ``data_format``; a folder stands for its
    data files), or rows in memory: a ``pyarrow.Table``, ``pyarrow.RecordBatch`` or list of them,
    or a pandas ``DataFrame`` (its index is not read). ``schema``: a tensorflow-metadata Schema
    (text proto) typing CSV columns. ``pipeline_options``: a PipelineOptions or a list of
    flags (``--runner``, ``--direct_num_workers``, ...). ``baseline_result``: an earlier output
    directory whose metrics stand for the baseline model (it is then not evaluated, and its
    predictions need not be in the data). ``report``: also write ``report.html``, the result's
    page (:mod:`evalbeam.report`), beside the artifacts. ``run_name`` and ``data_span``
    (``START..END`` of ISO dates or date-times, e.g. ``"2026-11-01..2026-11-07"``, or a
    ``(start, end)`` pair) go into summary.json with the data as given and when the run was
    evaluated; ``evalbeam history`` and the report order runs by them. ``models``: models run
    in the pipeline for model specs, ``{name: model}`` (or one model for the only model spec),
    a model being a file's path (.joblib, .pkl, .pickle, .onnx), a ``(path, options)`` pair
    (ONNX: ``input_name``, ``output_name``) or a Beam ``ModelHandler`` (see
    :mod:`evalbeam.inference.runs`). ``data_quality``: a ``DataQuality`` (or a dict of its
    fields) merged into the config's: statistics of the data per slice (``statistics``,
    ``features``), the schema and baseline they are checked against
    (:mod:`evalbeam.data_quality`). Returns the result as read back.
    """
    run_name = run_facts.check_run_name(run_name, "run_name")
    if schema is not None:  # (said as the schema given, before the config's data quality reads it)
        load_schema(schema)
    config_file = config_path(config)
    if data_quality is not None:
        config = with_data_quality(config, data_quality)
    if data_span is not None:
        data_span = run_facts.parse_span(data_span, "data_span")
    stage = None  # the models run in the pipeline (evalbeam.inference), if any
    if models:
        from evalbeam.inference.runs import ModelStage

        stage = ModelStage(_config_proto(config), models)
        eval_plan = resolve_config(stage.config)
    else:
        eval_plan = as_plan(config)
    if schema is None and eval_plan.data_quality is not None and eval_plan.data_quality.schema_path:
        schema = eval_plan.data_quality.schema_path  # it types CSV columns too
    options = _pipeline_options(pipeline_options)
    # with models, every column may be a feature: they are chosen once the schema is known
    columns = None if stage else eval_plan.read_columns()
    in_memory = readers.in_memory_table(data, columns)
    said = []  # what the reader has to say about the files (kept in summary.json)
    files, fmt = ([], "arrow") if in_memory is not None else \
        readers.match_files(data, data_format, said)
    given = [config_file, schema and os.fspath(schema)]  # files the run reads
    check_output(output_dir, [*files, *(p for p in given if p)])
    if baseline_result is not None:
        if eval_plan.baseline is None:
            raise ConfigError("a baseline result was given, but no model spec has "
                              "is_baseline: true")
        if stage and any(r.name == eval_plan.baseline for r in stage.runs):
            raise ConfigError(f"a model was given for the baseline {eval_plan.baseline!r}, and "
                              "a baseline result stands for it: give one or the other")
        eval_plan = eval_plan.with_baseline_metrics(
            baseline_metrics_from(baseline_result, eval_plan.baseline))
    options.view_as(DirectOptions)  # register direct-runner flags
    runner = pipeline_flags.create_runner(options)
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # loaded by now

    local = isinstance(runner, FnApiRunner)
    with contextlib.ExitStack() as cleanup:
        column_types = None
        if in_memory is not None:
            table, full_schema = in_memory
            raw = full_schema.names
            if stage:
                columns = stage.prepare(eval_plan, full_schema, readers.IN_MEMORY)
                table = table.select([c for c in columns if c in table.column_names])
                full_schema = stage.schema(full_schema)
            check_columns(full_schema, eval_plan, readers.IN_MEMORY)
            eval_plan = data_quality_for(eval_plan, batch_schema(full_schema, raw, columns),
                                         readers.IN_MEMORY,
                                         lambda: table.slice(0, SHIFT_ROWS).to_batches(),
                                         full_schema.names)
            location = [readers.in_memory_description(data)]
            # local: memory-mapped from a temporary file; a remote runner's workers cannot
            # see local files, so there the rows travel along
            tasks = readers.read_tasks(
                [cleanup.enter_context(readers.spilled(table, batch_size))], "arrow") \
                if local else None
        else:
            column_types = readers.CsvTypes.load(schema) if fmt == "csv" else None
            file_schema = readers.read_schema(files[0], fmt, columns, column_types)
            raw = file_schema.names
            if stage:
                columns = stage.prepare(eval_plan, file_schema, files[0])
                file_schema = stage.schema(file_schema)
            check_columns(file_schema, eval_plan, files[0])
            location = readers.as_patterns(data)
            tasks = readers.read_tasks(files, fmt)
            eval_plan = data_quality_for(
                eval_plan, batch_schema(file_schema, raw, columns), files[0], lambda: readers.read_task(
                    tasks[0], columns, SHIFT_ROWS, column_types) if tasks else [],
                file_schema.names)
        baseline_tasks = []
        if eval_plan.data_quality is not None and eval_plan.data_quality.baseline_data:
            baseline_tasks, baseline_types = baseline_read_tasks(
                eval_plan.data_quality.baseline_data, data_format, schema, said)
        if stage:  # each model predicts on the first rows: its output is checked now
            rows = stage.sample_rows
            stage.check([with_source(b, readers.IN_MEMORY) for b in
                         table.slice(0, rows).combine_chunks().to_batches()]
                        if in_memory is not None
                        else readers.read_task(tasks[0], columns, rows, column_types))
        processes = 1
        if local and tasks and not local_workers.user_chose(options):  # every core, if it gains
            processes = local_workers.processes_for(tasks, batch_size)
        # models that may run in forked processes (ONNX) predict where the batches are read,
        # on every core; the others run in Beam's RunInference step, after a read in one
        # process (see ModelStage.forks_safely)
        in_reader = (stage is not None and processes > 1 and len(tasks) > 1
                     and not eval_plan.query_key and stage.forks_safely())
        pipeline = beam.Pipeline(runner=runner, options=options)
        if tasks is None:
            batches = pipeline | "ReadBatches" >> beam.Create(
                [with_source(b, readers.IN_MEMORY) for b in
                 table.combine_chunks().to_batches(max_chunksize=batch_size)]
                or [pa.RecordBatch.from_pylist([], schema=table.schema)], reshuffle=False)
        else:
            batches = pipeline | "ReadFiles" >> ReadAndPreAggregate(
                tasks, eval_plan, columns, batch_size, column_types, processes,
                batches_only=stage is not None and not in_reader,
                predict=stage.in_reader() if in_reader else None)
        if baseline_tasks:  # the baseline's statistics, read in the same pipeline
            baseline = pipeline | "ReadBaseline" >> ReadAndPreAggregate(
                baseline_tasks, eval_plan, columns, batch_size, baseline_types)
            batches = (batches, baseline) | "JoinBaseline" >> beam.Flatten()
        evaluate = Evaluate(eval_plan, output_dir, location, fmt, said, run_name, data_span, report,
                            models=stage)
        _ = batches | "Evaluate" >> evaluate
        started = time.time()
        try:
            if on_dask.is_dask(runner):
                on_dask.run(pipeline)
            else:
                with worker_deaths.noticed():
                    pipeline.run().wait_until_finish()
        except KeyboardInterrupt:  # (Ctrl-C) nothing half-written stays behind
            discard(evaluate.staging)
            raise
        except Exception as e:  # noqa: BLE001 - runners wrap worker errors in their own types
            if isinstance(e, WorkerDied) and _finished(evaluate.staging, output_dir, started):
                pass  # it died once the run was complete: the result in place is whole
            else:
                discard(evaluate.staging)
                _raise_as_user_error(e, output_dir)
    result = load_result(output_dir)
    for warning in result.summary.get("warnings", []):
        warnings.warn(f"{output_dir}: {warning}", EvalbeamWarning, stacklevel=2)
    return result


def _raise_as_user_error(e: Exception, output_dir: str):
    """Raise what a run's failure ``e`` means to the user (the runner's own error if it
    means nothing to them)."""
    if _interrupted(e):  # Beam re-raises a step's KeyboardInterrupt as a RuntimeError
        raise KeyboardInterrupt from None
    if isinstance(e, WorkerDied):
        raise WorkerDied(f"{e.message}; the run was stopped and wrote nothing to "
                         f"{output_dir} (running it again may succeed)") from None
    message = None if isinstance(e, EvalbeamError) else user_error_message(e)
    if message is None:
        raise e
    raise InputError(message) from None


def _finished(staging: str, output_dir: str, started: float) -> bool:
    """Whether the run put its complete result in place (its staging moved to a local
    ``output_dir``, whose summary.json, written last, is from after ``started``)."""
    if "://" in output_dir or os.path.lexists(staging):
        return False
    try:
        return os.path.getmtime(os.path.join(output_dir, SUMMARY_FILE)) >= started
    except OSError:
        return False


def _interrupted(e: BaseException) -> bool:
    """Whether ``e`` is a KeyboardInterrupt as a runner re-raised it."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt) or str(e).startswith("KeyboardInterrupt"):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def evaluate_and_bless(data, config, output_dir: str, baseline_result: str | None = None,
                       pipeline_options=None, **kwargs) -> bool:
    """The Evaluator step of a deployment pipeline: evaluate ``data`` with ``config`` into
    ``output_dir`` and return whether the candidate is blessed.

    ``output_dir`` then holds the artifacts and an empty ``BLESSED`` or ``NOT_BLESSED`` file,
    which orchestrators can read without evalbeam. With ``baseline_result`` (the output
    directory of an earlier run, e.g. the production model's last evaluation) the baseline
    model's metrics come from there instead of being recomputed. User errors raise
    :class:`~evalbeam.errors.EvalbeamError`. Other keyword arguments go to
    :func:`run_evaluation`.

    Example, in a plain Python orchestrator step::

        from evalbeam import evaluate_and_bless

        def evaluator_step(ctx):
            blessed = evaluate_and_bless(ctx.data_uri, "eval_config.textproto",
                                         ctx.output_uri + "/evaluation",
                                         baseline_result=ctx.last_blessed_evaluation)
            if blessed:
                ctx.push_model()
    """
    result = run_evaluation(config, data, output_dir, pipeline_options,
                            baseline_result=baseline_result, **kwargs)
    return result.validation.validation_ok


def find_regressions(output_dir: str) -> list:
    """Slices where a candidate is worse than the baseline (beyond the confidence interval when
    one was computed), largest impact first: the records of ``regressions.json``."""
    return regressions.from_result(load_result(output_dir))
