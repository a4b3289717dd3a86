"""Read tasks -> one partial table per (read task, slicing spec).

The tasks (:class:`evalbeam.io.readers.ReadTask`: a Parquet row group, a CSV or TFRecord file,
a batch of an in-memory table) are listed before the run and shared out over the workers, one
by one in turn, largest first. Each task's record batches are read and pre-aggregated
(:func:`evalbeam.preagg.batch_partials`) where it is read, and their partials merged there, so
what leaves a worker is one small table per (task, spec), never the rows or a table per batch.
With query metrics a query's documents may be in any task, and models
(:mod:`evalbeam.inference`) add their predictions to the batches first: then the batches go on
as they are (``batches_only``), except for models that may run in forked processes
(``predict``: ONNX files), which predict on each batch where it is read.
"""
from __future__ import annotations

import apache_beam as beam

from evalbeam import progress, row_counters, task_partials, worker_pool
from evalbeam.io import readers
from evalbeam.data_quality.plan import BASELINE


class _ReadAndPreAggregate(beam.DoFn):
    def __init__(self, eval_plan, columns, batch_size, column_types, batches_only=False,
                 predict=None):
        self.eval_plan, self.columns = eval_plan, columns
        self.batches_only = batches_only or bool(eval_plan.query_key)
        self.batch_size, self.column_types = batch_size, column_types
        self.predict = predict
        if predict is not None and self.batches_only:
            raise ValueError("models predicting in the read step need pre-aggregation there")

    def process(self, task):
        if self.batches_only and task.dataset != BASELINE:
            yield from progress.counted(readers.read_task(
                task, self.columns, self.batch_size, self.column_types,
                self.eval_plan.slicing_only_columns()))
            return
        partials, read, dropped = task_partials.task_partials(
            task, self.eval_plan, self.columns, self.batch_size, self.column_types, self.predict)
        row_counters.count(read, dropped)
        yield partials


class _ReadInProcesses(_ReadAndPreAggregate):
    """Every read task (one element: their list), shared out over ``processes`` local
    processes (:mod:`evalbeam.worker_pool`): one ``TaskPartials``, the processes' added up."""

    def __init__(self, eval_plan, columns, batch_size, column_types, processes, predict=None):
        super().__init__(eval_plan, columns, batch_size, column_types, predict=predict)
        self.processes = processes

    def process(self, tasks):
        def work(take):
            return task_partials.tasks_partials(take, self.eval_plan, self.columns,
                                                self.batch_size, self.column_types, self.predict)

        key = None if self.predict is not None else task_partials.reading_key(
            tasks, self.eval_plan, self.columns, self.batch_size, self.column_types)
        shared = worker_pool.take_ahead(key, tasks, self.processes) or worker_pool.start(
            tasks, work, self.processes)
        partials, read, dropped = task_partials.added_up(shared.finish(work))
        row_counters.count(read, dropped)
        yield partials


class ReadAndPreAggregate(beam.PTransform):
    """Read tasks -> ``TaskPartials`` (or record batches, with query metrics or
    ``batches_only``), for :class:`evalbeam.api.Evaluate`. ``predict``: models run on each
    batch where it is read (:class:`evalbeam.inference.runs.ReadPredictor`)."""

    def __init__(self, tasks, eval_plan, columns=None, batch_size=readers.DEFAULT_BATCH_SIZE,
                 column_types=None, processes=1, batches_only=False, predict=None):
        super().__init__()
        self.processes, self.batches_only, self.predict = processes, batches_only, predict
        self.tasks = task_partials.in_reading_order(tasks, processes, batch_size)
        self.eval_plan, self.columns = eval_plan, columns
        self.batch_size, self.column_types = batch_size, column_types

    def expand(self, pbegin):
        if self.tasks and all(t.dataset == BASELINE for t in self.tasks):
            self.batches_only = False  # baseline data: its statistics are computed as read
        if self.processes > 1 and len(self.tasks) > 1 and not (
                self.batches_only or self.eval_plan.query_key):
            return (pbegin | "ListTasks" >> beam.Create([self.tasks], reshuffle=False)
                    | "ReadAndPreAggregate" >> beam.ParDo(_ReadInProcesses(
                        self.eval_plan, self.columns, self.batch_size, self.column_types,
                        self.processes, self.predict)))
        tasks = pbegin | "ListTasks" >> beam.Create(list(enumerate(self.tasks)),
                                                    reshuffle=False)
        if len(self.tasks) > 1:
            tasks = (tasks
                     | "Distribute" >> beam.GroupByKey()
                     | "Tasks" >> beam.FlatMapTuple(lambda _, group: group))
        else:
            tasks = tasks | "Task" >> beam.MapTuple(lambda _, task: task)
        return tasks | "ReadAndPreAggregate" >> beam.ParDo(_ReadAndPreAggregate(
            self.eval_plan, self.columns, self.batch_size, self.column_types, self.batches_only,
            self.predict))
