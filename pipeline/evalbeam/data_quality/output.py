"""The statistics files of a run: ``statistics.tfrecord`` (the data evaluated) and
``baseline_statistics.tfrecord`` (baseline data read in the same pipeline), each one
``DatasetFeatureStatisticsList`` record with a dataset per slice of every slicing spec.

Slices with fewer rows than ``min_slice_size`` are left out, as their metrics are (the overall
slice never is), and counted in summary.json's ``statistics``. A slice that several slicing
specs make (``country`` and ``country = fr``) is written once. Slices come in the order of
their slicing specs, each spec's in the order of their values.
"""
from __future__ import annotations

import numpy as np

from evalbeam.data_quality.plan import BASELINE, DATA
from evalbeam.data_quality.to_proto import ALL_EXAMPLES, datasets
from evalbeam.io.data_quality import NOT_DESCRIBED
from evalbeam.io.files import BASELINE_STATISTICS_FILE, STATISTICS_FILE
from evalbeam.slicing import slice_sort_key

FILES = {DATA: STATISTICS_FILE, BASELINE: BASELINE_STATISTICS_FILE}


def statistics_of(table, eval_plan) -> tuple:
    """``(serialized DatasetFeatureStatistics per slice kept, slices omitted)`` of one
    slicing spec's merged statistics table."""
    dq = eval_plan.data_quality
    kept = np.ones(len(table), bool)
    if eval_plan.min_slice_size > 1:
        kept = table.counts >= eval_plan.min_slice_size
        overall = table.index.get(())
        if overall is not None:
            kept[overall] = True
    rows = sorted(np.flatnonzero(kept).tolist(), key=lambda i: slice_sort_key(table.keys[i]))
    records = [d.SerializeToString() for d in
               datasets(table, bool(dq.weight_column), dq.shifts, rows, dq.scales)]
    return records, int(len(table) - len(rows))


def statistics_files(eval_plan, per_shard: list) -> dict:
    """``{file name: (serialized DatasetFeatureStatisticsList, summary)}`` from each shard's
    ``{dataset: (records, omitted)}``, in slicing spec order; {} without data quality."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    dq = eval_plan.data_quality
    if dq is None:
        return {}
    wanted = [DATA] + ([BASELINE] if dq.baseline_data else [])
    out = {}
    for dataset in wanted:
        merged = statistics_pb2.DatasetFeatureStatisticsList()
        seen, omitted = set(), 0
        for shard in per_shard:
            records, left_out = shard.get(dataset, ([], 0))
            omitted += left_out
            for record in records:
                one = statistics_pb2.DatasetFeatureStatistics.FromString(record)
                if one.name not in seen:
                    seen.add(one.name)
                    merged.datasets.append(one)
        if not seen:  # no rows at all: an empty overall slice
            merged.datasets.add(name=ALL_EXAMPLES, num_examples=0)
        summary = {"slices": len(merged.datasets), "omitted_below_min_slice_size": omitted}
        if dataset == DATA and dq.undescribed:
            summary[NOT_DESCRIBED] = dict(dq.undescribed)
        overall = next((d for d in merged.datasets if d.name == ALL_EXAMPLES), None)
        if overall is not None:
            summary["rows"] = int(overall.num_examples)
        out[FILES[dataset]] = (merged.SerializeToString(), summary)
    return out


def checked(eval_plan, statistics: dict, slice_keys: dict):
    """The data-quality checks of a run (:func:`~evalbeam.data_quality.checks.check_data_quality`)
    on its ``statistics`` (:func:`statistics_files`), against the plan's schema and the baseline
    (baseline data read in the pipeline, else the baseline statistics file); None when the run
    has nothing to check them against. ``slice_keys``: dataset name -> slice key."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from evalbeam.data_quality.checks import check_data_quality

    dq = eval_plan.data_quality
    if dq is None or STATISTICS_FILE not in statistics:
        return None
    baseline = dq.baseline_statistics
    if BASELINE_STATISTICS_FILE in statistics:
        baseline = statistics_pb2.DatasetFeatureStatisticsList.FromString(
            statistics[BASELINE_STATISTICS_FILE][0])
    if dq.schema is None and baseline is None:
        return None
    data = statistics_pb2.DatasetFeatureStatisticsList.FromString(statistics[STATISTICS_FILE][0])
    return check_data_quality(data, schema=dq.schema, baseline=baseline,
                              drift_thresholds=dq.drift_thresholds,
                              default_drift_threshold=dq.default_drift_threshold,
                              slice_keys=slice_keys)
