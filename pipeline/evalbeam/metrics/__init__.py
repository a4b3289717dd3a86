"""Metric families (accumulators) and the metrics that read them; see ``base`` for the contract
and ``custom`` for metrics of your own."""
from evalbeam.arrays import StreamArrays
from evalbeam.metrics.base import Family, Metric, MetricInfo, Stream
from evalbeam.metrics.custom import CustomMetric, DerivedMetric
from evalbeam.metrics.registry import METRICS
from evalbeam.metrics.state import StateSpec

__all__ = ["CustomMetric", "DerivedMetric", "Family", "Metric", "MetricInfo", "StateSpec",
           "Stream", "StreamArrays", "METRICS"]
