"""Metric families (accumulators) and the metrics that read them; see ``base`` for the contract."""
from evalbeam.metrics.base import Family, Metric, MetricInfo, Plan, Stream, StreamArrays
from evalbeam.metrics.registry import METRICS

__all__ = ["Family", "Metric", "MetricInfo", "Plan", "Stream", "StreamArrays", "METRICS"]
