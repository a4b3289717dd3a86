"""Data quality per slice: statistics of the data computed in the same pass as the metrics
(:mod:`~evalbeam.data_quality.accumulate`, written as ``statistics.tfrecord`` by
:mod:`~evalbeam.data_quality.to_proto`), checked against a tensorflow-metadata schema and the
baseline's statistics (:mod:`~evalbeam.data_quality.checks`: anomalies, drift), and schemas
inferred from them (:mod:`~evalbeam.data_quality.infer_schema`)."""
from __future__ import annotations


def load_statistics(path):
    """A tensorflow-metadata ``DatasetFeatureStatisticsList`` from ``path``: evalbeam's
    ``statistics.tfrecord`` or TFDV's own files (a TFRecord of the list, a binary ``.pb``, a
    text ``.pbtxt``)."""
    from evalbeam.data_quality.load import load_statistics as load

    return load(path)


def __getattr__(name):
    if name == "DataQualityPlan":
        from evalbeam.data_quality.plan import DataQualityPlan

        return DataQualityPlan
    raise AttributeError(name)


__all__ = ["load_statistics", "DataQualityPlan"]
