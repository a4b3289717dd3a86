"""The output directory: write it atomically, read it back.

Files (TFMA's names, so TFMA's loaders read them too)::

    eval_config.json                     EvalRun (the config, versions, data location)
    metrics-SSSSS-of-NNNNN.tfrecord      MetricsForSlice records, one shard per slicing spec
    plots-SSSSS-of-NNNNN.tfrecord        PlotsForSlice records, one shard per slicing spec
    validations.tfrecord                 one ValidationResult
    summary.json                         rows read / used / dropped by reason, slices, headline metrics
    BLESSED or NOT_BLESSED               empty; whether validation passed (TFX Evaluator's marker)
    regressions.json                     with a baseline: where the candidate is worse, by impact

Everything is written into a hidden sibling staging directory (the shards by the workers that
compute them, the run-level files last) that is renamed into place at the end, so a failed run
never leaves a directory that looks complete.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import uuid

from apache_beam.io.filesystems import FileSystems
from google.protobuf import json_format

from evalbeam.io import convert
from evalbeam.io.tfrecord import read_records, write_records
from evalbeam.keys import MetricKey
from evalbeam.proto import config_pb2, metrics_for_slice_pb2, validation_result_pb2

VALIDATIONS_FILE = "validations.tfrecord"
CONFIG_FILE = "eval_config.json"
SUMMARY_FILE = "summary.json"
BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"
REGRESSIONS_FILE = "regressions.json"  # (evalbeam.regressions) with a baseline


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
    if "://" not in staging:
        os.makedirs(staging, exist_ok=True)
    return FileSystems.create(FileSystems.join(staging, name))


def write_shard(staging: str, index: int, count: int, results, omitted, min_slice_size: int,
                keep=lambda result: result) -> list:
    """Write the metrics and plots records of one slicing spec (shard ``index`` of ``count``)
    as ``results`` are produced; return ``keep(result)`` of each (None: keep nothing).

    Rewriting a shard replaces it, so a retried bundle leaves the same files.
    """
    kept, encoder = [], convert.MetricsEncoder()
    with _create(staging, _shard("metrics", index, count)) as metrics, \
            _create(staging, _shard("plots", index, count)) as plots:
        for r in results:
            write_records(metrics, [encoder.encode(r)])
            write_records(plots, [convert.plots_for_slice(r.slice_key, r.plots)])
            kept.append(keep(r))
        for key in omitted:
            write_records(metrics, [convert.omitted_metrics_for_slice(key, min_slice_size)
                                    .SerializeToString()])
            write_records(plots, [convert.plots_for_slice(key, {})])
    return [k for k in kept if k is not None]


def finish_artifacts(staging: str, output_dir: str, eval_plan, results, omitted, validation,
                     counts, slices: int, data_location: str, file_format: str,
                     regressions: list | None = None) -> None:
    """Write the run-level files next to the shards, then move everything into ``output_dir``."""
    run = config_pb2.EvalRun(version=f"evalbeam {_version()}", data_location=data_location,
                             file_format=file_format)
    run.eval_config.CopyFrom(eval_plan.config)
    run.model_locations[""] = "<unknown>"
    overall = next((r for r in results if r.slice_key == ()), None)
    summary = {
        "rows_read": counts.get("rows_read", 0),
        "rows_used": counts.get("rows_used", 0),
        "rows_dropped": {k[len("dropped:"):]: v for k, v in sorted(counts.items())
                         if k.startswith("dropped:")},
        "slices": slices,
        "slices_omitted_below_min_slice_size": len(omitted),
        "validation_ok": validation.validation_ok,
        "blessed": validation.validation_ok,
        "validation_failures": sum(len(s.failures) for s in validation.metric_validations_per_slice),
        "overall": {} if overall is None else {
            _metric_label(k): _json_value(v) for k, v in sorted(
                overall.metrics.items(), key=lambda kv: MetricKey.sort_key(kv[0]))
            if isinstance(v, float)},
        "version": _version(),
    }
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
    with _create(staging, SUMMARY_FILE) as f:
        f.write((json.dumps(summary, indent=2) + "\n").encode())
    if "://" not in output_dir:
        _replace_dir(staging, output_dir)
    else:  # object stores: move file by file; summary.json, last, marks completion
        names = [m.path.rsplit("/", 1)[1] for m in
                 FileSystems.match([FileSystems.join(staging, "*")])[0].metadata_list]
        names = sorted(n for n in names if n != SUMMARY_FILE) + [SUMMARY_FILE]
        FileSystems.rename([FileSystems.join(staging, n) for n in names],
                           [FileSystems.join(output_dir, n) for n in names])


def discard(staging: str) -> None:
    """Remove a staging directory left by a failed run."""
    if "://" not in staging:
        shutil.rmtree(staging, ignore_errors=True)
    elif FileSystems.exists(staging):
        FileSystems.delete([staging])


def _metric_label(key: MetricKey) -> str:
    prefix = key.qualifier()
    name = key.name + ("" if key.example_weighted else " (unweighted)")
    return f"{prefix}/{name}" if prefix else name


def _replace_dir(tmp: str, output_dir: str) -> None:
    old = None
    if os.path.exists(output_dir):
        old = f"{tmp}.old"
        os.rename(output_dir, old)
    os.rename(tmp, output_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


class EvalResult:
    """An output directory read back: validation and summary now; metrics and plots per slice
    when first asked for."""

    def __init__(self, output_dir: str, validation, summary: dict, config):
        self.output_dir = output_dir
        self.validation: validation_result_pb2.ValidationResult = validation
        self.summary = summary
        self.config: config_pb2.EvalConfig = config
        self._metrics = self._omitted = self._plots = self._intervals = None

    @property
    def metrics(self) -> dict:
        """slice key -> {MetricKey: value}."""
        if self._metrics is None:
            self._metrics, self._omitted, self._intervals = {}, [], {}
            for record in _shard_records(self.output_dir, "metrics"):
                proto = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
                key = convert.slice_key_from_proto(proto.slice_key)
                if "__ERROR__" in proto.metrics:
                    self._omitted.append(key)
                    continue
                self._metrics[key] = convert.metrics_from_proto(proto)
                intervals = convert.intervals_from_proto(proto)
                if intervals:
                    self._intervals[key] = intervals
        return self._metrics

    @property
    def intervals(self) -> dict:
        """slice key -> {MetricKey: (lower, upper)} when confidence intervals were computed."""
        self.metrics  # noqa: B018 - loads both
        return self._intervals

    @property
    def omitted(self) -> list:
        """Keys of the slices omitted by min_slice_size."""
        self.metrics  # noqa: B018 - loads both
        return self._omitted

    @property
    def plots(self) -> dict:
        """slice key -> {MetricKey: plot}; a plot maps each kind to columns of numpy arrays."""
        if self._plots is None:
            self._plots = {}
            for record in _shard_records(self.output_dir, "plots"):
                proto = metrics_for_slice_pb2.PlotsForSlice.FromString(record)
                key = convert.slice_key_from_proto(proto.slice_key)
                if proto.plot_keys_and_values:
                    self._plots[key] = convert.plots_from_proto(proto)
        return self._plots

    def _plot(self, kind: str, plot_class: str, slice_key, model_name,
              skip=lambda key, plot: False):
        """The columns of the first plot of ``kind`` in the slice, for the model."""
        for key, plot in self.plots.get(tuple(slice_key), {}).items():
            if key.model_name == model_name and kind in plot and not skip(key, plot):
                return plot[kind]
        raise KeyError(f"no {plot_class} for slice {slice_key!r} (configure one)")

    def _matrices(self, slice_key, model_name):
        # ScoreDistributionPlot writes matrices too (TFMA's format), but not of the curves
        return self._plot("confusion_matrix_at_thresholds", "ConfusionMatrixPlot", slice_key,
                          model_name, lambda key, plot: "score_distribution" in plot
                          or key.name == "score_distribution_plot")

    def roc_curve(self, slice_key=(), model_name: str = "") -> dict:
        """ROC points of a slice from its ConfusionMatrixPlot: thresholds, fpr, tpr."""
        m = self._matrices(slice_key, model_name)
        return {"thresholds": m["threshold"], "fpr": m["false_positive_rate"], "tpr": m["recall"]}

    def pr_curve(self, slice_key=(), model_name: str = "") -> dict:
        """Precision-recall points of a slice from its ConfusionMatrixPlot."""
        m = self._matrices(slice_key, model_name)
        return {"thresholds": m["threshold"], "recall": m["recall"], "precision": m["precision"]}

    def gain_curve(self, slice_key=(), model_name: str = "") -> dict:
        """Cumulative gain of a slice from its GainCurve: population_fraction, gain."""
        return self._plot("gain_curve", "GainCurve", slice_key, model_name)

    def lift_curve(self, slice_key=(), model_name: str = "") -> dict:
        """Lift of a slice from its LiftCurve: population_fraction, lift."""
        return self._plot("lift_curve", "LiftCurve", slice_key, model_name)

    def score_distribution(self, slice_key=(), model_name: str = "") -> dict:
        """Weighted negatives and positives between consecutive thresholds, from the slice's
        ScoreDistributionPlot (lower_threshold_exclusive, upper_threshold_inclusive, ...)."""
        return self._plot("score_distribution", "ScoreDistributionPlot", slice_key, model_name)

    def calibration(self, slice_key=(), model_name: str = "") -> dict:
        """The buckets of a slice's CalibrationPlot (TFMA's fields)."""
        return self._plot("calibration_histogram_buckets", "CalibrationPlot", slice_key,
                          model_name)

    def predicted_vs_true(self, slice_key=(), model_name: str = "") -> dict:
        """Per prediction bucket of a slice's PredictedVsTrue: num_weighted_examples,
        mean_prediction, mean_label (and the bucket edges)."""
        return self._plot("predicted_vs_true", "PredictedVsTrue", slice_key, model_name)

    def residual_histogram(self, slice_key=(), model_name: str = "") -> dict:
        """Weighted examples per residual bucket of a slice's ResidualHistogram."""
        return self._plot("residual_histogram", "ResidualHistogram", slice_key, model_name)

    def _key(self, name, slice_key, model_name, weighted, diff):
        found = [k for k in self.metrics.get(tuple(slice_key), {})
                 if k.name == name and k.model_name == model_name and k.is_diff == diff and
                 (weighted is None or k.example_weighted == weighted)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} values of {name!r} in slice {slice_key!r}")
        return found[0]

    def value(self, name: str, slice_key=(), model_name: str = "", weighted: bool | None = None,
              diff: bool = False):
        """The value of metric ``name`` in ``slice_key`` (the only match, else KeyError);
        ``diff=True`` gives the candidate-minus-baseline value."""
        key = self._key(name, slice_key, model_name, weighted, diff)
        return self.metrics[tuple(slice_key)][key]

    def interval(self, name: str, slice_key=(), model_name: str = "",
                 weighted: bool | None = None, diff: bool = False) -> tuple:
        """``(lower, upper)`` of the metric's confidence interval (KeyError if it has none)."""
        key = self._key(name, slice_key, model_name, weighted, diff)
        return self.intervals[tuple(slice_key)][key]


def _records(path: str):
    with FileSystems.open(path) as f:
        yield from read_records(f, path)


def _shard_records(output_dir: str, kind: str):
    """Records of every ``kind-*`` shard (TFMA's naming), in shard order."""
    found = FileSystems.match([FileSystems.join(output_dir, f"{kind}-*")])[0].metadata_list
    for path in sorted(m.path for m in found):
        yield from _records(path)


def load_result(output_dir: str) -> EvalResult:
    """Read an output directory written by evalbeam (or TFMA) into Python objects."""
    if not FileSystems.exists(FileSystems.join(output_dir, SUMMARY_FILE)):
        from evalbeam.errors import InputError

        raise InputError(f"{output_dir}: not an evalbeam output directory (no {SUMMARY_FILE})")
    validation = validation_result_pb2.ValidationResult.FromString(
        next(_records(FileSystems.join(output_dir, VALIDATIONS_FILE))))
    with FileSystems.open(FileSystems.join(output_dir, SUMMARY_FILE)) as f:
        summary = json.loads(f.read().decode())
    with FileSystems.open(FileSystems.join(output_dir, CONFIG_FILE)) as f:
        run = json_format.Parse(f.read().decode(), config_pb2.EvalRun(), ignore_unknown_fields=True)
    return EvalResult(output_dir, validation, summary, run.eval_config)
