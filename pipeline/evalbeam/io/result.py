"""A finished output directory read back into Python objects: :class:`EvalResult`."""
from __future__ import annotations

import difflib
import json
import math
import os

import numpy as np
from apache_beam.io.filesystems import FileSystems
from google.protobuf import json_format

from evalbeam.errors import ConfigError, InputError
from evalbeam.io import convert
from evalbeam.io.files import (ANOMALIES_FILE, BASELINE_STATISTICS_FILE, CONFIG_FILE,
                               SLICE_ANOMALIES_FILE, STATISTICS_FILE, SUMMARY_FILE,
                               VALIDATIONS_FILE)
from evalbeam.io.tfrecord import read_records
from evalbeam.keys import MetricKey, slice_name
from evalbeam.proto import config_pb2, validation_result_pb2


class EvalResult:
    """An output directory read back: validation and summary now; metrics and plots per slice
    when first asked for."""

    def __init__(self, output_dir: str, validation, summary: dict, config):
        self.output_dir = output_dir
        self.validation: validation_result_pb2.ValidationResult = validation
        self.summary = summary
        self.config: config_pb2.EvalConfig = config
        self._metrics = self._omitted = self._plots = self._intervals = self._cross = None
        self._thresholds = self._slice_specs = self._plan = self._plan_error = None
        self._data_quality = {}  # artifact name -> what it holds, read when first asked for

    @property
    def evaluated_at(self):
        """When the run was evaluated: a timezone-aware UTC ``datetime`` (None for a directory
        written before evalbeam recorded it)."""
        from evalbeam.run_facts import moment

        when = self.summary.get("evaluated_at")
        return None if when is None else moment(when)

    @property
    def run_name(self) -> str | None:
        """The run's name (``--run_name``), or None."""
        return self.summary.get("run_name")

    @property
    def data_span(self) -> tuple | None:
        """``(start, end)`` of the span of time the data covers (``--data_span``), as given
        (ISO dates or date-times), or None."""
        span = self.summary.get("data_span")
        return None if span is None else (span["start"], span["end"])

    @property
    def models(self) -> list:
        """The models run in the pipeline (``--model``, ``models=``), one dict each:
        ``model_spec``, ``path`` (or ``handler``, a ModelHandler's class), ``format``,
        ``loader``, ``kind``, ``options``, ``prediction_key``, ``features`` (where they came
        from), ``n_features`` when known; ``[]`` for a run of stored predictions."""
        return [dict(m) for m in self.summary.get("models", [])]

    @property
    def metrics(self) -> dict:
        """slice key -> {MetricKey: value}."""
        if self._metrics is None:
            self._metrics, self._omitted, self._intervals, self._cross = {}, [], {}, {}
            decoder = convert.MetricsDecoder()
            for record in _shard_records(self.output_dir, "metrics", self.summary):
                key, metrics, intervals, proto = decoder.decode(record)
                if proto is not None and proto.HasField("cross_slice_key"):
                    pair = proto.cross_slice_key
                    self._cross[(convert.slice_key_from_proto(pair.baseline_slice_key),
                                 convert.slice_key_from_proto(pair.comparison_slice_key))] = metrics
                    continue
                if proto is not None and "__ERROR__" in proto.metrics:
                    self._omitted.append(key)
                    continue
                self._metrics[key] = metrics
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
        """slice key -> {MetricKey: (lower, upper)} when confidence intervals were computed
        (arrays of the value's shape for a metric with several values)."""
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
                key, plots = convert.plots_from_record(record)
                if key is not None and plots:
                    self._plots[key] = plots
        return self._plots

    @property
    def thresholds(self) -> dict:
        """{MetricKey: thresholds} of the confusion metrics (several: the value is an array in
        this order), read from the run's config; empty when it cannot be resolved here."""
        self._resolve()
        return self._thresholds

    @property
    def slice_specs(self) -> list:
        """The run's slicing specs (evalbeam.slicing.SliceSpec), in config order."""
        self._resolve()
        return self._slice_specs

    # ------------------------------------------------------------------ data quality
    def _artifact(self, name: str, read):
        """What ``read(path)`` makes of the run's file ``name``; None when the run wrote none
        (summary.json's list of files says which it wrote; without the list, whether it is
        there). Read once, when first asked for."""
        if name not in self._data_quality:
            path = FileSystems.join(self.output_dir, name)
            listed = self.summary.get("files")
            there = name in listed if listed is not None else FileSystems.exists(path)
            self._data_quality[name] = read(path) if there else None
        return self._data_quality[name]

    def has_data_quality(self) -> bool:
        """Whether the run wrote any data-quality artifact (statistics, anomalies) or failed
        a data-quality check."""
        names = (STATISTICS_FILE, BASELINE_STATISTICS_FILE, ANOMALIES_FILE, SLICE_ANOMALIES_FILE)
        listed = self.summary.get("files")
        if listed is not None:
            found = any(n in listed for n in names)
        else:
            found = any(FileSystems.exists(FileSystems.join(self.output_dir, n)) for n in names)
        return found or bool(self.validation.data_quality_failures)

    @property
    def statistics(self):
        """The data's statistics per slice, a tensorflow-metadata
        ``DatasetFeatureStatisticsList`` (statistics.tfrecord: one dataset per slice, named
        as TFDV names slices, ``All Examples`` for the overall slice), or None when the run
        computed none (``evaluate --statistics``, ``data_quality`` in the config)."""
        return self._artifact(STATISTICS_FILE, _statistics_list)

    @property
    def baseline_statistics(self):
        """The baseline data's statistics (baseline_statistics.tfrecord), as
        :attr:`statistics`; None when the run read no baseline data."""
        return self._artifact(BASELINE_STATISTICS_FILE, _statistics_list)

    @property
    def anomalies(self):
        """The overall slice's schema anomalies and drift measurements, a tensorflow-metadata
        ``Anomalies`` (anomalies.pbtxt), or None when the run checked no schema and measured
        no drift."""
        return self._artifact(ANOMALIES_FILE, _anomalies_text)

    @property
    def slice_anomalies(self) -> dict:
        """slice key -> tensorflow-metadata ``Anomalies`` of that slice
        (slice_anomalies.tfrecord); empty when the run wrote none."""
        return self._artifact(SLICE_ANOMALIES_FILE, _slice_anomalies) or {}

    @property
    def data_quality_failures(self) -> list:
        """The data-quality checks that failed (schema anomalies, drift beyond its
        threshold), in the order the run wrote them: :class:`evalbeam.io.data_quality.
        DataQualityFailure` rows with the slice key as :attr:`metrics` spells it (the protos
        are ``validation.data_quality_failures``)."""
        from evalbeam.io.data_quality import DataQualityFailure

        return [DataQualityFailure.from_proto(f) for f in self.validation.data_quality_failures]

    def slice_statistics(self, baseline: bool = False) -> dict:
        """slice key -> the slice's ``DatasetFeatureStatistics`` (of the baseline data with
        ``baseline=True``), the datasets named after the run's slices; a dataset named after
        no slice of the results keeps its name as the key (a str). Empty without statistics."""
        from evalbeam.io.data_quality import slice_keys_by_dataset

        found = self.baseline_statistics if baseline else self.statistics
        if found is None:
            return {}
        keys = slice_keys_by_dataset([()] + list(self.metrics) + list(self.omitted))
        return {keys.get(d.name, d.name): d for d in found.datasets}

    def statistics_frame(self, baseline: bool = False):
        """A pandas DataFrame of the statistics, one row per (slice, feature): ``slice`` (its
        name, as :meth:`to_dataframe` names it), ``dataset`` (TFDV's name), ``num_examples``,
        ``feature``, ``type``, ``stats`` (num, string, bytes, struct), ``count``, ``missing``,
        ``missing_fraction``, ``mean``, ``std_dev``, ``min``, ``median``, ``max``, ``zeros``,
        ``unique``, ``avg_length``, ``min_num_values``, ``max_num_values``,
        ``avg_num_values``, ``tot_num_values`` (NaN where a feature's statistics have no such
        number), ``unique_estimated`` (whether ``unique`` is an estimate; missing for
        numbers). Histograms and top values stay in :attr:`statistics`. Empty (with these
        columns) when the run computed none."""
        import pandas as pd

        from evalbeam.io.data_quality import DIGEST_FIELDS, feature_digest

        rows = []
        for key, dataset in self.slice_statistics(baseline).items():
            name = key if isinstance(key, str) else slice_name(key)
            for feature in dataset.features:
                d = feature_digest(feature, dataset.num_examples)
                rows.append([name, dataset.name, dataset.num_examples, d["feature"], d["type"],
                             d["stats"]] + [d[f] for f in DIGEST_FIELDS] +
                            [d["unique_estimated"]])
        columns = ["slice", "dataset", "num_examples", "feature", "type", "stats",
                   *DIGEST_FIELDS, "unique_estimated"]
        frame = pd.DataFrame(rows, columns=columns)
        for f in DIGEST_FIELDS:
            frame[f] = pd.to_numeric(frame[f], errors="coerce").astype("float64")
        frame["unique_estimated"] = frame["unique_estimated"].astype("boolean")
        return frame

    def eval_plan(self):
        """The run's config resolved here (an :class:`evalbeam.plan.EvalPlan`); a
        ConfigError saying why when it cannot be (e.g. a custom metric's module is not
        importable here)."""
        self._resolve()
        if self._plan is None:
            raise ConfigError(f"{self.output_dir}: its config cannot be resolved here "
                              f"({self._plan_error})")
        return self._plan

    def _resolve(self) -> None:
        if self._thresholds is not None:
            return
        from evalbeam.values import metric_thresholds

        try:
            from evalbeam.config import resolve_config

            plan = resolve_config(self.config)
        except Exception as e:  # noqa: BLE001 - e.g. a custom metric's module not importable
            text = getattr(e, "message", None) or str(e).strip()
            self._plan, self._plan_error = None, text.splitlines()[0] if text else type(e).__name__
            self._thresholds, self._slice_specs = {}, []
        else:
            self._plan, self._plan_error = plan, None
            self._thresholds, self._slice_specs = metric_thresholds(plan.metrics), plan.slice_specs

    def cells(self, slice_key, key) -> list:
        """The numbers of one value as :class:`evalbeam.values.Cell` rows (see
        :func:`evalbeam.values.flatten`)."""
        from evalbeam.values import flatten

        slice_key = _slice(slice_key)
        return flatten(self.metrics[slice_key][key], self.thresholds.get(key),
                       self.intervals.get(slice_key, {}).get(key))

    def rows(self):
        """``(slice key, MetricKey, Cell)`` of every number the metrics hold, keys in order."""
        from evalbeam.values import flatten

        thresholds, intervals, orders = self.thresholds, self.intervals, {}
        for slice_key, metrics in self.metrics.items():
            bounds = intervals.get(slice_key, {})
            keys = tuple(metrics)
            order = orders.get(keys)
            if order is None:
                order = orders[keys] = sorted(keys, key=MetricKey.sort_key)
            for key in order:
                for cell in flatten(metrics[key], thresholds.get(key), bounds.get(key)):
                    yield slice_key, key, cell

    def not_flattened(self) -> list:
        """``(slice key, MetricKey, reason)`` of the values that hold no number."""
        from evalbeam.values import not_flattened

        return [(s, k, reason) for s, metrics in self.metrics.items() for k, v in metrics.items()
                if type(v) is not float and (reason := not_flattened(v)) is not None]

    def _repr_html_(self) -> str:
        """The run's report page inline in a notebook (Jupyter, JupyterLab, VS Code, Colab):
        an iframe holding the whole page, no widget and no kernel round trip."""
        from evalbeam.report import build_report
        from evalbeam.report.notebook import iframe_html

        return iframe_html(build_report(self))

    def report(self, path: str) -> None:
        """Write the run's report page to ``path`` (an HTML file that opens offline)."""
        from evalbeam.report import check_report_path, write_report

        check_report_path(path)
        write_report(self, path)

    def to_dataframe(self):
        """A pandas DataFrame, one row per number: a column per slicing feature (typed as in
        the data, null where the slice does not fix it), ``slice`` (its name), ``model``,
        ``output``, ``sub_key``, ``aggregation``, ``metric``, ``weighted``, ``threshold``
        (NaN when none), ``value``, ``lower``, ``upper`` (NaN without an interval); with
        ``field`` / ``actual_class_id`` / ``predicted_class_id`` when a value is a matrix."""
        from evalbeam.table import dataframe

        return dataframe(self)

    def _plot(self, kind: str, plot_class: str, slice_key, model_name, weighted, output_name,
              skip=lambda key, plot: False):
        """The columns of the plot of ``kind`` in the slice that the arguments pick."""
        found = {key: plot[kind] for key, plot in self.plots.get(_slice(slice_key), {}).items()
                 if kind in plot and not skip(key, plot)}
        key = _choose(found, f"{plot_class} plots", slice_key, self._no_plot(plot_class, slice_key),
                      model_name=model_name, output_name=output_name, weighted=weighted)
        return found[key]

    def _no_plot(self, plot_class: str, slice_key) -> str:
        key = _slice(slice_key)
        if key in self.metrics and key not in self.plots and any(
                s.get("plot_slices_cut") for s in self.summary.get("specs", [])):
            return (f"no plots for slice {_where(slice_key)}: plots were written only for the "
                    "largest slices of each slicing spec (max_plot_slices)")
        return f"no {plot_class} for slice {_where(slice_key)} (configure one)"

    def _matrices(self, slice_key, model_name, weighted, output_name):
        # ScoreDistributionPlot writes matrices too (TFMA's format), but not of the curves
        return self._plot("confusion_matrix_at_thresholds", "ConfusionMatrixPlot", slice_key,
                          model_name, weighted, output_name,
                          lambda key, plot: "score_distribution" in plot
                          or key.name == "score_distribution_plot")

    def roc_curve(self, slice_key=(), model_name=None, weighted=None, output_name=None) -> dict:
        """ROC points of a slice from its ConfusionMatrixPlot: thresholds, fpr, tpr."""
        m = self._matrices(slice_key, model_name, weighted, output_name)
        return {"thresholds": m["threshold"], "fpr": m["false_positive_rate"], "tpr": m["recall"]}

    def pr_curve(self, slice_key=(), model_name=None, weighted=None, output_name=None) -> dict:
        """Precision-recall points of a slice from its ConfusionMatrixPlot."""
        m = self._matrices(slice_key, model_name, weighted, output_name)
        return {"thresholds": m["threshold"], "recall": m["recall"], "precision": m["precision"]}

    def gain_curve(self, slice_key=(), model_name=None, weighted=None, output_name=None) -> dict:
        """Cumulative gain of a slice from its GainCurve: population_fraction, gain."""
        return self._plot("gain_curve", "GainCurve", slice_key, model_name, weighted, output_name)

    def lift_curve(self, slice_key=(), model_name=None, weighted=None, output_name=None) -> dict:
        """Lift of a slice from its LiftCurve: population_fraction, lift."""
        return self._plot("lift_curve", "LiftCurve", slice_key, model_name, weighted, output_name)

    def score_distribution(self, slice_key=(), model_name=None, weighted=None,
                           output_name=None) -> dict:
        """Weighted negatives and positives between consecutive thresholds, from the slice's
        ScoreDistributionPlot (lower_threshold_exclusive, upper_threshold_inclusive, ...)."""
        return self._plot("score_distribution", "ScoreDistributionPlot", slice_key, model_name,
                          weighted, output_name)

    def calibration(self, slice_key=(), model_name=None, weighted=None, output_name=None) -> dict:
        """The buckets of a slice's CalibrationPlot: TFMA's fields (bucket edges and the sums
        ``num_weighted_examples``, ``total_weighted_label``,
        ``total_weighted_refined_prediction``) and the means per bucket, ``mean_label`` and
        ``mean_prediction`` (NaN for a bucket without weight)."""
        buckets = dict(self._plot("calibration_histogram_buckets", "CalibrationPlot", slice_key,
                                  model_name, weighted, output_name))
        weight = buckets["num_weighted_examples"]
        with np.errstate(divide="ignore", invalid="ignore"):
            for mean, total in (("mean_label", "total_weighted_label"),
                                ("mean_prediction", "total_weighted_refined_prediction")):
                buckets[mean] = np.where(weight > 0, buckets[total] / weight, np.nan)
        return buckets

    def predicted_vs_true(self, slice_key=(), model_name=None, weighted=None,
                          output_name=None) -> dict:
        """Per prediction bucket of a slice's PredictedVsTrue: num_weighted_examples,
        mean_prediction, mean_label (and the bucket edges)."""
        return self._plot("predicted_vs_true", "PredictedVsTrue", slice_key, model_name,
                          weighted, output_name)

    def residual_histogram(self, slice_key=(), model_name=None, weighted=None,
                           output_name=None) -> dict:
        """Weighted examples per residual bucket of a slice's ResidualHistogram."""
        return self._plot("residual_histogram", "ResidualHistogram", slice_key, model_name,
                          weighted, output_name)

    def _key(self, name, slice_key, diff, **given):
        slice_key = _slice(slice_key)
        metrics = self.metrics.get(slice_key)
        if metrics is None:
            raise KeyError(f"no slice {_where(slice_key)} in {self.output_dir}"
                           + ("" if slice_key not in self.omitted else
                              " (omitted: fewer examples than min_slice_size)"))
        found = [k for k in metrics if k.name == name and k.is_diff == diff]
        if not found:
            names = sorted({k.name for k in metrics})
            close = difflib.get_close_matches(name, names, 3)
            raise KeyError(f"no metric {name!r}{' diff' if diff else ''} in slice "
                           f"{_where(slice_key)}; "
                           + (f"did you mean {', '.join(close)}?" if close else
                              f"metrics: {', '.join(names)}"))
        return _choose(found, f"values of {name!r}", slice_key, "", **given)

    def _cell(self, name, slice_key, threshold, diff, given):
        """The key ``name`` and the arguments pick, and its cells at ``threshold`` (None when
        no threshold is asked for)."""
        key = self._key(name, slice_key, diff, **given)
        if threshold is None:
            return key, None
        from evalbeam.values import format_threshold

        def near(t):
            return t is not None and math.isclose(t, threshold, rel_tol=1e-9, abs_tol=1e-12)

        cells = self.cells(slice_key, key)
        own = self.thresholds.get(key, ())
        if len(cells) == 1 and cells[0].threshold is None and len(own) == 1 and near(own[0]):
            return key, cells  # a metric at one threshold: a number
        found = [c for c in cells if near(c.threshold)]
        if not found:
            at = sorted({c.threshold for c in cells if c.threshold is not None} | set(own))
            if not at:
                raise KeyError(f"{name!r} in slice {_where(slice_key)} is not a value at "
                               "thresholds: leave out threshold=")
            raise KeyError(f"{name!r} in slice {_where(slice_key)} has no value at threshold "
                           f"{threshold}; thresholds: {', '.join(map(format_threshold, at))}")
        return key, found

    def value(self, name: str, slice_key=(), model_name: str | None = None,
              weighted: bool | None = None, diff: bool = False, threshold: float | None = None,
              output_name: str | None = None, sub_key=None, aggregation: str | None = None):
        """The value of metric ``name`` in ``slice_key`` (a tuple of ``(column, value)`` pairs
        or a dict; ``()`` is the overall slice). The other arguments pick one value when
        several match (a KeyError names the arguments that tell them apart): ``weighted``,
        ``model_name``, ``output_name``, ``sub_key`` (e.g. ``"classId:1"``), ``aggregation``
        (e.g. ``"macro_average"``); ``diff=True`` gives the candidate-minus-baseline value.
        A metric at several thresholds is an array in the config's threshold order;
        ``threshold=0.3`` gives the number at one (a matrix at thresholds: {field: number})."""
        given = dict(model_name=model_name, output_name=output_name, sub_key=sub_key,
                     aggregation=aggregation, weighted=weighted)
        key, cells = self._cell(name, slice_key, threshold, diff, given)
        if cells is None:
            return self.metrics[_slice(slice_key)][key]
        if len(cells) == 1 and cells[0].field is None:
            return cells[0].value
        return {c.field + (str(list(c.classes)) if c.classes else ""): c.value for c in cells}

    def interval(self, name: str, slice_key=(), model_name: str | None = None,
                 weighted: bool | None = None, diff: bool = False,
                 threshold: float | None = None, output_name: str | None = None,
                 sub_key=None, aggregation: str | None = None) -> tuple:
        """``(lower, upper)`` of the metric's confidence interval (arguments as for
        :meth:`value`; KeyError if it has none)."""
        given = dict(model_name=model_name, output_name=output_name, sub_key=sub_key,
                     aggregation=aggregation, weighted=weighted)
        key, cells = self._cell(name, slice_key, threshold, diff, given)
        bounds = self.intervals.get(_slice(slice_key), {}).get(key)
        if cells is not None:
            bounds = (cells[0].lower, cells[0].upper) if cells[0].lower is not None else None
        if bounds is None:
            why = ("" if any(self.intervals.values()) else
                   " (the run computed none: options.compute_confidence_intervals)")
            at = "" if threshold is None else f" at threshold {threshold}"
            raise KeyError(f"no confidence interval for {name!r}{at} in slice "
                           f"{_where(slice_key)}{why}")
        return bounds


_CHOICES = {  # argument -> the key's value it picks
    "model_name": lambda k: k.model_name, "output_name": lambda k: k.output_name,
    "sub_key": lambda k: str(k.sub_key or ""), "aggregation": lambda k: k.aggregation_type or "",
    "weighted": lambda k: k.example_weighted}


def _choose(keys, what: str, slice_key, none: str, **given):
    """The one key of ``keys`` that the given arguments (None: any) pick; else a KeyError that
    names the arguments and the values that tell the candidates apart (``none`` when there
    are no keys at all)."""
    if not keys:
        raise KeyError(none)
    given = {arg: (str(v) if arg == "sub_key" else v) for arg, v in given.items()
             if v is not None}
    found = [k for k in keys if all(_CHOICES[arg](k) == v for arg, v in given.items())]
    if len(found) == 1:
        return found[0]

    def choices(candidates, args):
        return [f"{arg}={' or '.join(repr(v) for v in sorted(set(values)))}" for arg in args
                if len(set(values := [_CHOICES[arg](k) for k in candidates])) > 1
                or arg in given]

    if not found:
        asked = ", ".join(f"{arg}={v!r}" for arg, v in given.items())
        raise KeyError(f"no {what} in slice {_where(slice_key)} with {asked}; there: "
                       + ", ".join(choices(keys, given)))
    apart = choices(found, [arg for arg in _CHOICES if arg not in given])
    if not apart:  # e.g. plots that differ only by name: the first, in key order
        return min(found, key=MetricKey.sort_key)
    raise KeyError(f"{len(found)} {what} in slice {_where(slice_key)}: pick one with "
                   + ", ".join(apart))


def _slice(slice_key) -> tuple:
    """A slice key as the results hold it: ``(column, value)`` pairs sorted by column."""
    items = slice_key.items() if isinstance(slice_key, dict) else slice_key
    return tuple(sorted((str(c), v) for c, v in items))


def _where(slice_key) -> str:
    return slice_name(_slice(slice_key))


def _records(path: str):
    with FileSystems.open(path) as f:
        yield from read_records(f, path)


def _statistics_list(path: str):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    records = list(_records(path))
    if len(records) != 1:
        raise InputError(f"{path}: expected one DatasetFeatureStatisticsList record, found "
                         f"{len(records)}")
    return _parse(statistics_pb2.DatasetFeatureStatisticsList, records[0], path)


def _parse(message_class, data: bytes, path: str):
    from google.protobuf.message import DecodeError

    try:
        return message_class.FromString(data)
    except DecodeError:
        raise InputError(f"{path}: not a {message_class.DESCRIPTOR.name}") from None


def _anomalies_text(path: str):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    with FileSystems.open(path) as f:
        text = f.read().decode("utf-8")
    try:
        return text_format.Parse(text, anomalies_pb2.Anomalies())
    except text_format.ParseError as e:
        raise InputError(f"{path}: not an Anomalies in text format ({e})") from None


def _slice_anomalies(path: str) -> dict:
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    from evalbeam.proto import data_quality_pb2

    out = {}
    for record in _records(path):
        entry = _parse(data_quality_pb2.SliceAnomalies, record, path)
        out[convert.slice_key_from_proto(entry.slice_key)] = _parse(
            anomalies_pb2.Anomalies, entry.anomalies, path)
    return out


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
        raise InputError(f"{output_dir}: not an evalbeam output directory (no {SUMMARY_FILE})")
    validation = validation_result_pb2.ValidationResult.FromString(
        next(_records(FileSystems.join(output_dir, VALIDATIONS_FILE))))
    with FileSystems.open(FileSystems.join(output_dir, SUMMARY_FILE)) as f:
        summary = json.loads(f.read().decode())
    with FileSystems.open(FileSystems.join(output_dir, CONFIG_FILE)) as f:
        run = json_format.Parse(f.read().decode(), config_pb2.EvalRun(), ignore_unknown_fields=True)
    return EvalResult(output_dir, validation, summary, run.eval_config)
