"""Reading started before Beam is imported, for the command line's every-core runs.

Importing Beam and building the pipeline take about a second of one core, while the other
cores wait. When a run will share its read tasks out over processes
(:mod:`evalbeam.local_workers`), ``evalbeam evaluate`` forks those processes first: they read
and pre-aggregate while this process imports Beam and builds the pipeline, whose reading step
then finds them at work (:func:`evalbeam.worker_pool.take_ahead`) and does its own share.

It starts only when everything the reading depends on is known without Beam: no pipeline
flags, no models or baseline result, no query metrics, data named as local files (no glob or
folder, which Beam's filesystems list); a data-quality plan is resolved against the data as
the run resolves it. The pipeline takes the processes only when its read
tasks, config, columns and batch size are the same (:func:`evalbeam.task_partials.reading_key`);
otherwise they are stopped and the run reads as it would have. Nothing here says anything:
whatever fails fails again in the run itself, which says it.
"""
from __future__ import annotations

import os

from evalbeam import local_workers, task_partials, worker_pool
from evalbeam.config import read_config, resolve_config
from evalbeam.data_quality import run_plan
from evalbeam.errors import EvalbeamError
from evalbeam.io import readers


def start(config, data, data_format, schema, batch_size: int, data_quality=None) -> None:
    """Forks the run's reading processes now, if it will have several (see the module);
    ``data_quality``: the DataQuality the run merges into the config's."""
    try:
        files = _plain_files(data)
        if not files:
            return
        formats = {data_format or readers.detect_format(path) for path in files}
        if len(formats) != 1:
            return
        fmt = formats.pop()
        config = read_config(config) if data_quality is None else \
            run_plan.with_data_quality(config, data_quality)
        plan = resolve_config(config)
        if plan.query_key or (fmt == "parquet" and any(readers._format_of(p)[1] for p in files)):
            return
        listed = readers.read_tasks(files, fmt)
        processes = local_workers.processes_for(listed, batch_size)
        if processes <= 1:
            return
        tasks = task_partials.in_reading_order(listed, processes, batch_size)
        dq = plan.data_quality
        if schema is None and dq is not None and dq.schema_path:
            schema = dq.schema_path  # (it types CSV columns too)
        columns = plan.read_columns()
        column_types = readers.CsvTypes.load(schema) if fmt == "csv" else None
        if dq is not None:  # resolved as the run resolves it (api.run_evaluation)
            file_schema = readers.read_schema(files[0], fmt, columns, column_types)
            plan = run_plan.data_quality_for(
                plan, run_plan.batch_schema(file_schema, file_schema.names, columns), files[0],
                lambda: readers.read_task(listed[0], columns, run_plan.SHIFT_ROWS, column_types),
                file_schema.names)
    except (EvalbeamError, OSError, ValueError):
        return

    def work(take):
        return task_partials.tasks_partials(take, plan, columns, batch_size, column_types)

    key = task_partials.reading_key(tasks, plan, columns, batch_size, column_types)
    worker_pool.start_ahead(key, tasks, work, processes)


def _plain_files(data) -> list:
    """The data paths if each names a local file as it is (the paths Beam's listing gives
    back for them), else []."""
    paths = [os.fspath(p) for p in (data if isinstance(data, (list, tuple)) else [data])]
    if not paths or any("://" in p or readers._GLOB.search(p) or not os.path.isfile(p)
                        for p in paths):
        return []
    return [p if os.path.dirname(p) else os.path.relpath(os.path.join(".", p)) for p in paths]
