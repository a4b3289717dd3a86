"""Read tasks -> one partial table per (read task, slicing spec).

The tasks (:class:`evalbeam.io.readers.ReadTask`: a Parquet row group, a CSV or TFRecord file,
a batch of an in-memory table) are listed before the run and shared out over the workers, one
by one in turn, largest first. Each task's record batches are read and pre-aggregated
(:func:`evalbeam.preagg.batch_partials`) where it is read, and their partials merged there, so
what leaves a worker is one small table per (task, spec), never the rows or a table per batch.
With query metrics a query's documents may be in any task, and models
(:mod:`evalbeam.inference`) add their predictions to the batches first: then the batches go on
as they are (``batches_only``).
"""
from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam

from evalbeam import progress, row_counters, worker_pool
from evalbeam.io import readers
from evalbeam.data_quality.plan import BASELINE
from evalbeam.preagg import baseline_partials, batch_partials


@dataclass
class TaskPartials:
    """The merged partials of one read task: ``[(spec_index, SliceTable)]``."""

    tables: list


class _ReadAndPreAggregate(beam.DoFn):
    def __init__(self, eval_plan, columns, batch_size, column_types, batches_only=False):
        self.eval_plan, self.columns = eval_plan, columns
        self.batches_only = batches_only or bool(eval_plan.query_key)
        self.batch_size, self.column_types = batch_size, column_types

    def process(self, task):
        if self.batches_only and task.dataset != BASELINE:
            yield from progress.counted(readers.read_task(
                task, self.columns, self.batch_size, self.column_types,
                self.eval_plan.slicing_only_columns()))
            return
        partials, read, dropped = task_partials(task, self.eval_plan, self.columns,
                                                self.batch_size, self.column_types)
        row_counters.count(read, dropped)
        yield partials


def task_partials(task, eval_plan, columns, batch_size, column_types):
    """``(TaskPartials, rows read, {reason: rows dropped})`` of one read task."""
    return tasks_partials(iter([task, None]).__next__, eval_plan, columns, batch_size,
                          column_types)


def tasks_partials(take, eval_plan, columns, batch_size, column_types):
    """``(TaskPartials, rows read, {reason: rows dropped})`` of the read tasks ``take()``
    gives until it gives None, merged."""
    merged, read, dropped = {}, 0, {}
    for task in iter(take, None):
        for batch in progress.counted(readers.read_task(
                task, columns, batch_size, column_types, eval_plan.slicing_only_columns())):
            if task.dataset == BASELINE:  # statistics only
                partials = baseline_partials(batch, eval_plan)
            else:
                extracted, partials = batch_partials(batch, eval_plan)
                read += extracted.rows_read
                for reason, rows in extracted.dropped.items():
                    dropped[reason] = dropped.get(reason, 0) + rows
            for index, table in partials:
                if index in merged:
                    merged[index].merge(table)
                else:
                    merged[index] = table
    for table in merged.values():
        table.compact()
    return TaskPartials(sorted(merged.items(), key=lambda item: item[0])), read, dropped


class _ReadInProcesses(_ReadAndPreAggregate):
    """Every read task (one element: their list), shared out over ``processes`` local
    processes (:mod:`evalbeam.worker_pool`): one ``TaskPartials`` per process."""

    def __init__(self, eval_plan, columns, batch_size, column_types, processes):
        super().__init__(eval_plan, columns, batch_size, column_types)
        self.processes = processes

    def process(self, tasks):
        def work(take):
            return tasks_partials(take, self.eval_plan, self.columns, self.batch_size,
                                  self.column_types)

        for partials, read, dropped in worker_pool.share_out(tasks, work, self.processes):
            row_counters.count(read, dropped)
            yield partials


class ReadAndPreAggregate(beam.PTransform):
    """Read tasks -> ``TaskPartials`` (or record batches, with query metrics or
    ``batches_only``), for :class:`evalbeam.api.Evaluate`."""

    def __init__(self, tasks, eval_plan, columns=None, batch_size=readers.DEFAULT_BATCH_SIZE,
                 column_types=None, processes=1, batches_only=False):
        super().__init__()
        self.processes, self.batches_only = processes, batches_only
        # largest first, dealt in turn: the runner gives grouped keys to its workers in turn
        self.tasks = sorted(tasks, key=lambda t: -t.rows)
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
                        self.processes)))
        tasks = pbegin | "ListTasks" >> beam.Create(list(enumerate(self.tasks)),
                                                    reshuffle=False)
        if len(self.tasks) > 1:
            tasks = (tasks
                     | "Distribute" >> beam.GroupByKey()
                     | "Tasks" >> beam.FlatMapTuple(lambda _, group: group))
        else:
            tasks = tasks | "Task" >> beam.MapTuple(lambda _, task: task)
        return tasks | "ReadAndPreAggregate" >> beam.ParDo(_ReadAndPreAggregate(
            self.eval_plan, self.columns, self.batch_size, self.column_types, self.batches_only))
