"""A finished output directory read back into Python objects: :class:`EvalResult`."""
from __future__ import annotations

import json
import os

from apache_beam.io.filesystems import FileSystems
from google.protobuf import json_format

from evalbeam.io import convert
from evalbeam.io.artifacts import CONFIG_FILE, SUMMARY_FILE, VALIDATIONS_FILE
from evalbeam.io.tfrecord import read_records
from evalbeam.proto import config_pb2, metrics_for_slice_pb2, validation_result_pb2


class EvalResult:
    """An output directory read back: validation and summary now; metrics and plots per slice
    when first asked for."""

    def __init__(self, output_dir: str, validation, summary: dict, config):
        self.output_dir = output_dir
        self.validation: validation_result_pb2.ValidationResult = validation
        self.summary = summary
        self.config: config_pb2.EvalConfig = config
        self._metrics = self._omitted = self._plots = self._intervals = self._cross = None

    @property
    def metrics(self) -> dict:
        """slice key -> {MetricKey: value}."""
        if self._metrics is None:
            self._metrics, self._omitted, self._intervals, self._cross = {}, [], {}, {}
            for record in _shard_records(self.output_dir, "metrics", self.summary):
                proto = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
                if proto.HasField("cross_slice_key"):
                    pair = proto.cross_slice_key
                    self._cross[(convert.slice_key_from_proto(pair.baseline_slice_key),
                                 convert.slice_key_from_proto(pair.comparison_slice_key))] = \
                        convert.metrics_from_proto(proto)
                    continue
                key = convert.slice_key_from_proto(proto.slice_key)
                if "__ERROR__" in proto.metrics:
                    self._omitted.append(key)
                    continue
                self._metrics[key] = convert.metrics_from_proto(proto)
                intervals = convert.intervals_from_proto(proto)
                if intervals:
                    self._intervals[key] = intervals
            self._omitted = list(dict.fromkeys(self._omitted))  # once, whatever spec omitted it
        return self._metrics

    @property
    def cross_slice_metrics(self) -> dict:
        """(baseline slice key, comparison slice key) -> {MetricKey: baseline slice value -
        comparison slice value}, for the pairs of the cross-slicing specs."""
        self.metrics  # noqa: B018 - loads them too
        return self._cross

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
            for record in _shard_records(self.output_dir, "plots", self.summary):
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


def _shard_records(output_dir: str, kind: str, summary: dict):
    """Records of the run's ``kind-*`` shards (TFMA's naming), in shard order: the files that
    summary.json lists (an object store may still hold files of an older run), or, for a
    directory written without that list (TFMA, older evalbeam), every ``kind-*`` file."""
    listed = summary.get("files")
    if listed is not None:
        paths = [FileSystems.join(output_dir, n) for n in listed if n.startswith(f"{kind}-")]
    else:
        found = FileSystems.match([FileSystems.join(output_dir, f"{kind}-*")])[0].metadata_list
        paths = [m.path for m in found]
    for path in sorted(paths):
        yield from _records(path)


def _check_is_directory(output_dir: str) -> None:
    from evalbeam.errors import InputError

    if "://" not in output_dir:
        if not os.path.lexists(output_dir):
            raise InputError(f"{output_dir}: no such directory")
        if not os.path.isdir(output_dir):
            raise InputError(f"{output_dir}: is a file, not an evalbeam output directory")
        return
    try:
        found = FileSystems.match([FileSystems.join(output_dir, "**")], [1])[0].metadata_list
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own error types
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"{output_dir}: cannot list it ({reason})") from None
    if not found:
        raise InputError(f"{output_dir}: no such directory (nothing is stored under it)")


def load_result(output_dir: str) -> EvalResult:
    """Read an output directory written by evalbeam (or TFMA) into Python objects."""
    _check_is_directory(output_dir)
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
