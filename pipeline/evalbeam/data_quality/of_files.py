"""The overall statistics of data files, outside an evaluation (``evalbeam infer-schema``).

The files are read and described as an evaluation's statistics are (the same read tasks,
features and accumulators, one slice: the whole data), shared out over the machine's cores as
an evaluation's reading is (:mod:`evalbeam.worker_pool`). Nothing here imports Beam for local
files.
"""
from __future__ import annotations

from tensorflow_metadata.proto.v0 import statistics_pb2

from evalbeam import local_workers, progress, task_partials, worker_pool
from evalbeam.data_quality.plan import BASELINE, DataQualityPlan
from evalbeam.data_quality.to_proto import datasets
from evalbeam.io import readers
from evalbeam.plan import EvalPlan
from evalbeam.preagg import baseline_partials
from evalbeam.proto import config_pb2
from evalbeam.slicing import SliceSpec

SAMPLE_ROWS = 1024  # rows read first for the numeric features' shifts


def statistics_of_files(data, data_format=None, schema=None, features=(),
                        batch_size: int = readers.DEFAULT_BATCH_SIZE):
    """``(DatasetFeatureStatisticsList, {column: type} not described)``: one dataset, "All
    Examples", describing ``features`` (default: every column of a type statistics describe)
    of the files ``data`` names (paths, globs, folders, as
    :func:`evalbeam.io.readers.match_files` takes them); ``schema``: a tensorflow-metadata
    schema typing CSV columns."""
    files, fmt = readers.match_files(data, data_format, [])
    column_types = readers.CsvTypes.load(schema) if fmt == "csv" else None
    file_schema = readers.read_schema(files[0], fmt, None, column_types)
    dq = DataQualityPlan(features=list(features)).for_schema(file_schema, files[0])
    listed = readers.read_tasks(files, fmt)
    processes = local_workers.processes_for(listed, batch_size)
    tasks = task_partials.in_reading_order(listed, processes, batch_size)
    columns = dq.features
    for batch in readers.read_task(tasks[0], columns, SAMPLE_ROWS, column_types):
        dq = dq.with_shifts(batch)
        break
    plan = EvalPlan(config=config_pb2.EvalConfig(), models=[], slice_specs=[SliceSpec()],
                    metrics=[], data_quality=dq)

    def work(take):
        merged = {}
        for task in iter(take, None):
            for batch in progress.counted(readers.read_task(task, columns, batch_size,
                                                            column_types)):
                task_partials.merge_into(merged, baseline_partials(batch, plan))
        return merged

    merged = {}
    for part in worker_pool.share_out(tasks, work, processes):
        task_partials.merge_into(merged, part.items())
    out = statistics_pb2.DatasetFeatureStatisticsList()
    if 0 in merged and BASELINE in merged[0].statistics:
        out.datasets.extend(datasets(merged[0].statistics[BASELINE], False, dq.shifts,
                                     scales=dq.scales))
    if not out.datasets:
        out.datasets.add(name="All Examples", num_examples=0)
    return out, dq.undescribed
