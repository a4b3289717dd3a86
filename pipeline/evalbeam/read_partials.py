"""Read tasks -> one partial table per (read task, slicing spec).

The tasks (:class:`evalbeam.io.readers.ReadTask`: a Parquet row group, a CSV or TFRecord file,
a batch of an in-memory table) are listed before the run and shared out over the workers, one
by one in turn, largest first. Each task's record batches are read and pre-aggregated
(:func:`evalbeam.preagg.batch_partials`) where it is read, and their partials merged there, so
what leaves a worker is one small table per (task, spec), never the rows or a table per batch.
With query metrics a query's documents may be in any task: the batches go on to
:class:`evalbeam.api.Evaluate` as they are.
"""
from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam

from evalbeam import progress, row_counters
from evalbeam.io import readers
from evalbeam.preagg import batch_partials


@dataclass
class TaskPartials:
    """The merged partials of one read task: ``[(spec_index, SliceTable)]``."""

    tables: list


class _ReadAndPreAggregate(beam.DoFn):
    def __init__(self, eval_plan, columns, batch_size, column_types):
        self.eval_plan, self.columns = eval_plan, columns
        self.batch_size, self.column_types = batch_size, column_types

    def process(self, task):
        batches = progress.counted(
            readers.read_task(task, self.columns, self.batch_size, self.column_types))
        if self.eval_plan.query_key:
            yield from batches
            return
        merged = {}
        for batch in batches:
            extracted, partials = batch_partials(batch, self.eval_plan)
            row_counters.count(extracted)
            for index, table in partials:
                if index in merged:
                    merged[index].merge(table)
                else:
                    merged[index] = table
        for table in merged.values():
            table.compact()
        yield TaskPartials(sorted(merged.items(), key=lambda item: item[0]))


class ReadAndPreAggregate(beam.PTransform):
    """Read tasks -> ``TaskPartials`` (or record batches, with query metrics), for
    :class:`evalbeam.api.Evaluate`."""

    def __init__(self, tasks, eval_plan, columns=None, batch_size=readers.DEFAULT_BATCH_SIZE,
                 column_types=None):
        super().__init__()
        # largest first, dealt in turn: the runner gives grouped keys to its workers in turn
        self.tasks = sorted(tasks, key=lambda t: -t.rows)
        self.eval_plan, self.columns = eval_plan, columns
        self.batch_size, self.column_types = batch_size, column_types

    def expand(self, pbegin):
        tasks = pbegin | "ListTasks" >> beam.Create(list(enumerate(self.tasks)),
                                                    reshuffle=False)
        if len(self.tasks) > 1:
            tasks = (tasks
                     | "Distribute" >> beam.GroupByKey()
                     | "Tasks" >> beam.FlatMapTuple(lambda _, group: group))
        else:
            tasks = tasks | "Task" >> beam.MapTuple(lambda _, task: task)
        return tasks | "ReadAndPreAggregate" >> beam.ParDo(_ReadAndPreAggregate(
            self.eval_plan, self.columns, self.batch_size, self.column_types))
