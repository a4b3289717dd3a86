"""The configuration stage: read an EvalConfig (:mod:`~evalbeam.config.parse`), check it and
resolve it into the :class:`~evalbeam.plan.EvalPlan` the pipeline runs
(:mod:`~evalbeam.config.resolve`): models (:mod:`~evalbeam.config.models`), the metrics of the
metrics_specs (:mod:`~evalbeam.config.metric_specs`) with their class views
(:mod:`~evalbeam.config.class_views`) and thresholds (:mod:`~evalbeam.config.thresholds`)."""
from evalbeam.config.models import Head, ModelInfo
from evalbeam.config.parse import EvalConfig, config_path, load_config, parse_config, read_config
from evalbeam.config.resolve import resolve_config
from evalbeam.config.thresholds import CrossSliceSpec, Threshold

__all__ = ["CrossSliceSpec", "EvalConfig", "Head", "ModelInfo", "Threshold", "config_path",
           "load_config", "parse_config", "read_config", "resolve_config"]
