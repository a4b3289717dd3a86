"""The output directory: write it atomically, read it back.

Files (TFMA's names, so TFMA's loaders read them too)::

    eval_config.json                     EvalRun (the config, versions, data location)
    metrics-SSSSS-of-NNNNN.tfrecord      MetricsForSlice records, one shard per slicing spec
    plots-SSSSS-of-NNNNN.tfrecord        PlotsForSlice records, one shard per slicing spec
    validations.tfrecord                 one ValidationResult
    summary.json                         rows read / used / dropped by reason, slices, headline metrics
    BLESSED or NOT_BLESSED               empty; whether validation passed (TFX Evaluator's marker)
    regressions.json                     with a baseline: where the candidate is worse, by impact

Read back by :mod:`evalbeam.io.result`. Everything is written into a hidden sibling staging
directory (the shards by the workers that compute them, the run-level files last, summary.json
with the list of the run's files at the very end) that takes the output's place once complete
(:mod:`evalbeam.io.output_location`), so a failed run never leaves a directory that looks
complete. Its owner record beside it lets the next run clear what a killed one left
(:mod:`evalbeam.io.staging`).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import uuid

from apache_beam.io.filesystems import FileSystems
from google.protobuf import json_format, text_format

from evalbeam.errors import OutputError
from evalbeam.io import convert
from evalbeam.io.files import (ANOMALIES_FILE, BLESSED_FILE, CONFIG_FILE, NOT_BLESSED_FILE,
                               REGRESSIONS_FILE, SLICE_ANOMALIES_FILE,
                               REPORT_FILE, SUMMARY_FILE, VALIDATIONS_FILE)
from evalbeam.io import output_location
from evalbeam.io.staging import owner_gone, release
from evalbeam.io.result import load_result
from evalbeam.io.tfrecord import write_records
from evalbeam.keys import MetricKey
from evalbeam.proto import config_pb2
from evalbeam.report import write_report
from evalbeam.run_facts import now
from evalbeam.values import flatten, is_class_matrix, label, metric_thresholds, not_flattened


def _version() -> str:
    from evalbeam import __version__

    return __version__


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def staging_dir(output_dir: str) -> str:
    """A fresh hidden sibling of ``output_dir`` (same filesystem, so renaming is atomic)."""
    base = output_dir.rstrip("/")
    parent, name = base.rsplit("/", 1) if "/" in base else (".", base)
    return f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:12]}"


def _shard(kind: str, index: int, count: int) -> str:
    return f"{kind}-{index:05d}-of-{count:05d}.tfrecord"


def _create(staging: str, name: str):
    if "://" not in staging and not os.path.isdir(staging):  # never made anew: see io.staging
        raise OutputError(f"the staging directory {staging} is gone: removed while the run "
                          "was writing it")
    return FileSystems.create(FileSystems.join(staging, name))


def write_shard(staging: str, index: int, count: int, results, omitted, min_slice_size: int,
                keep=lambda result: result) -> list:
    """Write the metrics and plots records of one slicing spec (shard ``index`` of ``count``)
    as ``results`` are produced; return ``keep(result)`` of each (None: keep nothing). A slice
    whose plots were cut (``max_plot_slices``) or that is omitted (``min_slice_size``) has no
    plots record.

    Rewriting a shard replaces it, so a retried bundle leaves the same files.
    """
    kept, encoder = [], convert.MetricsEncoder()
    with _create(staging, _shard("metrics", index, count)) as metrics, \
            _create(staging, _shard("plots", index, count)) as plots:
        for r in results:
            write_records(metrics, [encoder.encode(r)])
            if not r.plots_cut:
                write_records(plots, [convert.plots_for_slice(r.slice_key, r.plots)])
            kept.append(keep(r))
        for key in omitted:
            write_records(metrics, [convert.omitted_metrics_for_slice(key, min_slice_size)
                                    .SerializeToString()])
    return [k for k in kept if k is not None]


def write_records_shard(staging: str, index: int, count: int, records) -> None:
    """A metrics shard of serialized MetricsForSlice ``records`` (cross-slice metrics), with
    its (empty) plots shard so the set of shards stays complete."""
    with _create(staging, _shard("metrics", index, count)) as metrics:
        write_records(metrics, records)
    with _create(staging, _shard("plots", index, count)):
        pass


def finish_artifacts(staging: str, output_dir: str, eval_plan, results, omitted, validation,
                     counts, slices: int, data_location: str, file_format: str,
                     regressions: list | None = None, warnings: list = (),
                     intervals: dict | None = None, specs: list | None = None,
                     facts: dict | None = None, report: bool = True,
                     statistics: dict | None = None, quality=None) -> None:
    """Write the run-level files next to the shards, then move everything into ``output_dir``.

    ``specs``: per slicing spec, in config order, its slice counts for summary.json.
    ``facts``: the run's name, data span and data as given
    (:func:`evalbeam.run_facts.summary_facts`); summary.json also says when the run was
    evaluated (``evaluated_at``: now, UTC). ``report``: the run's page (``report.html``) is
    built from the staged files and moves in with them. ``statistics``: ``{file name:
    (serialized DatasetFeatureStatisticsList, summary)}``, written as one record each, their
    summaries in summary.json's ``statistics``. ``quality``: the data-quality checks
    (:class:`~evalbeam.data_quality.checks.DataQualityOutcome`), written as anomalies.pbtxt
    (the overall slice) and slice_anomalies.tfrecord, summarised in ``data_quality``."""
    run = config_pb2.EvalRun(version=f"evalbeam {_version()}", data_location=data_location,
                             file_format=file_format)
    run.eval_config.CopyFrom(eval_plan.config)
    models = (facts or {}).get("models") or []
    for model in models:  # the model files run in the pipeline, by model spec
        run.model_locations[model["model_spec"]] = model.get("path") or \
            f"ModelHandler {model.get('handler', '?')}"
    if not models:
        run.model_locations[""] = "<unknown>"
    overall = next((r for r in results if r.slice_key == ()), None)
    summary = {
        "evaluated_at": now(),
        **(facts if facts is not None else {"data": [data_location]}),
        "rows_read": counts.get("rows_read", 0),
        "rows_used": counts.get("rows_used", 0),
        "rows_dropped": {k[len("dropped:"):]: v for k, v in sorted(counts.items())
                         if k.startswith("dropped:")},
        "slices": slices,
        "slices_omitted_below_min_slice_size": len(omitted),
        "specs": specs or [],
        "validation_ok": validation.validation_ok,
        "blessed": validation.validation_ok,
        "validation_failures": sum(len(s.failures) for s in validation.metric_validations_per_slice),
        "data_quality_failures": len(validation.data_quality_failures),
        **_overall(overall, metric_thresholds(eval_plan.metrics)),
        "warnings": list(warnings),
        "version": _version(),
    }
    if eval_plan.resampling is not None:
        summary["intervals"] = eval_plan.resampling.summary(intervals or {})
    if statistics:
        summary["statistics"] = {name: what for name, (_, what) in statistics.items()}
        for name, (record, _) in statistics.items():
            with _create(staging, name) as f:
                write_records(f, [record])
    if quality is not None:
        summary["data_quality"] = quality.summary()
        if quality.overall is not None:
            with _create(staging, ANOMALIES_FILE) as f:
                f.write(text_format.MessageToString(quality.overall).encode())
        with _create(staging, SLICE_ANOMALIES_FILE) as f:
            write_records(f, [r.SerializeToString() for r in quality.slice_records])
    with _create(staging, VALIDATIONS_FILE) as f:
        write_records(f, [validation.SerializeToString()])
    with _create(staging, CONFIG_FILE) as f:
        f.write(json_format.MessageToJson(run, indent=2).encode())
    if regressions is not None:
        with _create(staging, REGRESSIONS_FILE) as f:
            clean = [{k: _json_value(v) for k, v in r.items()} for r in regressions]
            f.write((json.dumps(clean, indent=1) + "\n").encode())
    with _create(staging, BLESSED_FILE if validation.validation_ok else NOT_BLESSED_FILE):
        pass  # an orchestrator's gate: the file's name is the outcome
    # the manifest: readers read exactly these files (an object store may hold an older run's)
    files = sorted(m.path.rsplit("/", 1)[-1] for m in
                   FileSystems.match([FileSystems.join(staging, "*")])[0].metadata_list)
    summary["files"] = files
    _write_summary(staging, summary)
    if report:
        _add_report(staging, output_dir, summary)

    if owner_gone(staging):  # a worker outliving its killed run: nothing is put in place
        raise OutputError(f"the run owning {staging} is gone; its result is not put in place")
    output_location.put_in_place(staging, output_dir, summary["files"])
    release(staging)


def _write_summary(staging: str, summary: dict) -> None:
    with _create(staging, SUMMARY_FILE) as f:
        f.write((json.dumps(summary, indent=2) + "\n").encode())


def _add_report(staging: str, output_dir: str, summary: dict) -> None:
    """The run's page, built from the staged artifacts, joins them and their manifest. A
    page that cannot be built does not cost the evaluation: summary.json says why."""
    try:
        write_report(load_result(staging), FileSystems.join(staging, REPORT_FILE),
                     shown_dirs=[output_dir])
    except Exception as e:  # noqa: BLE001 - said in the warnings, which every view shows
        reason = (str(e).strip().splitlines() or [""])[0]
        summary["warnings"].append(f"{REPORT_FILE} was not written: {type(e).__name__}: "
                                   f"{reason}")
    else:
        summary["files"] = sorted(summary["files"] + [REPORT_FILE])
    _write_summary(staging, summary)


def plot_cut_lines(summary: dict) -> list:
    """One line per slicing spec whose plots were cut by ``max_plot_slices``."""
    return [f"plots written for {s['plot_slices']:,} of {s['plot_slices'] + s['plot_slices_cut']:,}"
            f" slices of {s['spec']} (max_plot_slices)"
            for s in summary.get("specs", []) if s.get("plot_slices_cut")]


def discard(staging: str) -> None:
    """Remove a staging directory left by a failed run (on object stores: its objects), then
    its owner record."""
    if "://" not in staging:
        shutil.rmtree(staging, ignore_errors=True)
    else:
        found = FileSystems.match([FileSystems.join(staging, "**")])[0].metadata_list
        if found:
            FileSystems.delete([m.path for m in found])
    release(staging)


def _overall(result, thresholds: dict) -> dict:
    """summary.json's ``overall``: every number of the overall slice by its label
    (``precision@0.3``, ``m/auc_diff (unweighted)``, ...); values it cannot list (a
    class-by-class matrix, a value without a number) are named in ``overall_not_listed``."""
    listed, not_listed = {}, {}
    metrics = {} if result is None else result.metrics
    for key in sorted(metrics, key=MetricKey.sort_key):
        value = metrics[key]
        if is_class_matrix(value):
            not_listed[label(key)] = ("a class-by-class matrix per threshold: "
                                      "evalbeam.load_result(DIR).value(...) reads it")
            continue
        cells = flatten(value, thresholds.get(key))
        if not cells:
            not_listed[label(key)] = not_flattened(value)
        for cell in cells:
            listed[label(key, cell)] = _json_value(cell.value)
    return {"overall": listed, **({"overall_not_listed": not_listed} if not_listed else {})}
