"""Beam counters of the rows read, used and dropped, by reason, in namespace ``evalbeam``.

``rows_read``, ``rows_used`` and ``rows_dropped`` (every reason), and one counter per reason
a row is dropped for, named from the reason summary.json gives without its column:
``null label ('label')`` counts in ``rows_dropped_null_label``; so do ``null prediction``
(``rows_dropped_null_prediction``), ``null weight`` (``rows_dropped_null_weight``) and
``null query_key`` (``rows_dropped_null_query_key``). A reason met in several columns (the
labels of two models) sums them in one counter; summary.json keeps them apart. Runners without
Beam metrics (Dask) have none of these: summary.json's accounting travels with the data.
"""
from __future__ import annotations

import re

from apache_beam.metrics import Metrics

NAMESPACE = "evalbeam"


def dropped_counter(reason: str) -> str:
    """The counter of the rows dropped for ``reason`` (an :class:`~evalbeam.extract.Extracted`
    ``dropped`` key): ``"null label ('label')"`` -> ``"rows_dropped_null_label"``."""
    kind = reason.split(" (", 1)[0]
    return "rows_dropped_" + re.sub(r"\W+", "_", kind).strip("_").lower()


def count(rows_read: int, dropped: dict) -> None:
    """Add ``rows_read`` rows, of which ``dropped`` (``{reason: rows}``, as
    :class:`~evalbeam.extract.Extracted` has it) were dropped, to the counters."""
    total = sum(dropped.values())
    Metrics.counter(NAMESPACE, "rows_read").inc(rows_read)
    Metrics.counter(NAMESPACE, "rows_used").inc(rows_read - total)
    Metrics.counter(NAMESPACE, "rows_dropped").inc(total)
    for reason, rows in dropped.items():
        Metrics.counter(NAMESPACE, dropped_counter(reason)).inc(rows)
