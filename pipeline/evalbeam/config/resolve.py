"""An EvalConfig -> the :class:`~evalbeam.plan.EvalPlan` the pipeline runs: models, slicing specs,
metric instances, thresholds and options, each checked in turn.

Every problem is a :class:`~evalbeam.errors.ConfigError` with one line naming the setting,
what is allowed and what was given, raised before any data is read.
"""
from __future__ import annotations

from evalbeam.config.metric_specs import resolve_metrics_specs
from evalbeam.config.models import baseline_name, resolve_models
from evalbeam.config.thresholds import check_change_baselines, resolve_cross_slice_spec
from evalbeam.data_quality.plan import load_inputs, resolve_data_quality
from evalbeam.errors import ConfigError
from evalbeam.metrics.resampling import JACKKNIFE, POISSON_BOOTSTRAP, Resampling
from evalbeam.plan import EvalPlan
from evalbeam.proto import config_pb2
from evalbeam.slicing import SliceSpec, resolve_slice_spec


def resolve_config(config: config_pb2.EvalConfig) -> EvalPlan:
    """Check ``config`` and turn it into an :class:`EvalPlan`."""
    models = resolve_models(config.model_specs)
    baseline = baseline_name(models)
    slice_specs = _slice_specs(config.slicing_specs)
    cross_specs = [resolve_cross_slice_spec(c, f"cross_slicing_specs[{i}]")
                   for i, c in enumerate(config.cross_slicing_specs)]
    metrics, thresholds = resolve_metrics_specs(config.metrics_specs, models, baseline)
    computed = {k for m in metrics for k in m.keys()}
    _check_derived_inputs(metrics, computed)
    check_change_baselines(thresholds, computed, baseline)
    resampling = _resampling(config.options)
    min_size, max_plots = _slice_limits(config.options)
    slice_specs += _compared_slices(slice_specs, cross_specs, thresholds)
    data_quality = resolve_data_quality(config, [h for m in models for h in m.heads])
    if data_quality is not None:
        data_quality = load_inputs(data_quality)
    return EvalPlan(config, models, slice_specs, metrics, thresholds, min_size, max_plots,
                    resampling=resampling, cross_specs=cross_specs, data_quality=data_quality)


def _slice_specs(slicing_specs) -> list:
    """The config's slicing specs (the overall slice when none is given), each listed once."""
    specs = [resolve_slice_spec(s) for s in slicing_specs] or [SliceSpec()]
    if len(set(specs)) != len(specs):
        raise ConfigError("slicing_specs: the same slicing spec is listed twice")
    return specs


def _check_derived_inputs(metrics: list, computed: set) -> None:
    """Every metric computed from other metrics finds them configured."""
    for m in metrics:
        if m.of_metrics:
            missing = [n for n, k in m.input_keys().items() if k not in computed]
            if missing:
                raise ConfigError(f"derived metric {m.name!r} needs metrics {missing} for "
                                  f"{m.key.model_name or 'the model'!s}, which are not configured")


def _resampling(options) -> Resampling | None:
    """Confidence interval options -> a Resampling (None when intervals are off).

    As TFMA: the method defaults to the jackknife, with 20 samples (``num_samples``, our
    addition, changes that)."""
    if not (options.HasField("compute_confidence_intervals") and
            options.compute_confidence_intervals.value):
        return None
    ci = options.confidence_intervals
    method = {ci.POISSON_BOOTSTRAP: POISSON_BOOTSTRAP}.get(ci.method, JACKKNIFE)
    samples = ci.num_samples or 20
    if samples < 2:
        raise ConfigError(f"options.confidence_intervals.num_samples must be at least 2, got {samples}")
    return Resampling(method, samples, ci.example_id_key)


def _slice_limits(options) -> tuple[int, int]:
    """``(min_slice_size, max_plot_slices)``: 0 and 1000 unless set."""
    min_size = options.min_slice_size.value if options.HasField("min_slice_size") else 0
    max_plots = options.max_plot_slices.value if options.HasField("max_plot_slices") else 1000
    if max_plots < 0:
        raise ConfigError(f"options.max_plot_slices must be at least 0 (0: no limit), got "
                          f"{max_plots}")
    return min_size, max_plots


def _compared_slices(slice_specs: list, cross_specs: list, thresholds: list) -> list:
    """The slicing specs cross-slice comparisons read besides ``slice_specs``: they are
    computed too (as TFMA does)."""
    added = []
    for cross in cross_specs + [c for t in thresholds for c in t.cross_specs or []]:
        for spec in (cross.baseline,) + cross.comparisons:
            if spec not in slice_specs and spec not in added:
                added.append(spec)
    return added
