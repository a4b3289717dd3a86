"""Read tasks -> their partial tables, merged: the work of a process that reads.

Each task's record batches are read and pre-aggregated (:func:`evalbeam.preagg.batch_partials`)
where they are read, and the partials merged there, so what leaves a reading process is one
small table per slicing spec, never the rows or a table per batch. Nothing here imports Beam:
the command line forks its reading processes before Beam is imported
(:mod:`evalbeam.read_ahead`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from evalbeam import progress
from evalbeam.io import readers
from evalbeam.data_quality.plan import BASELINE
from evalbeam.preagg import baseline_partials, batch_partials


@dataclass
class TaskPartials:
    """The merged partials of one or more read tasks: ``[(spec_index, SliceTable)]``."""

    tables: list


def task_partials(task, eval_plan, columns, batch_size, column_types, predict=None):
    """``(TaskPartials, rows read, {reason: rows dropped})`` of one read task."""
    return tasks_partials(iter([task, None]).__next__, eval_plan, columns, batch_size,
                          column_types, predict)


def tasks_partials(take, eval_plan, columns, batch_size, column_types, predict=None):
    """``(TaskPartials, rows read, {reason: rows dropped})`` of the read tasks ``take()``
    gives until it gives None, merged; ``predict``: models' predictions added to each batch
    first."""
    merged, read, dropped = {}, 0, {}
    for task in iter(take, None):
        for batch in progress.counted(readers.read_task(
                task, columns, batch_size, column_types, eval_plan.slicing_only_columns())):
            if task.dataset == BASELINE:  # the baseline's data: its statistics only
                merge_into(merged, baseline_partials(batch, eval_plan))
                continue
            if predict is not None:
                batch = predict(batch)
            extracted, partials = batch_partials(batch, eval_plan)
            read += extracted.rows_read
            add_up(dropped, extracted.dropped)
            merge_into(merged, partials)
    for table in merged.values():
        table.compact()
    return TaskPartials(sorted(merged.items(), key=lambda item: item[0])), read, dropped


def added_up(results) -> tuple:
    """The :func:`tasks_partials` results of several processes as one."""
    merged, read, dropped = {}, 0, {}
    for partials, rows, drops in results:
        merge_into(merged, partials.tables)
        read += rows
        add_up(dropped, drops)
    return TaskPartials(sorted(merged.items(), key=lambda item: item[0])), read, dropped


def merge_into(merged: dict, partials) -> None:
    """Adds ``[(spec_index, SliceTable)]`` into ``merged`` (spec index -> table)."""
    for index, table in partials:
        if index in merged:
            merged[index].merge(table)
        else:
            merged[index] = table


def add_up(counts: dict, more: dict) -> None:
    for reason, n in more.items():
        counts[reason] = counts.get(reason, 0) + n


def in_reading_order(tasks, processes: int = 1, batch_size: int = 0) -> list:
    """Largest first: dealt in turn, to workers that take the next when done. Shared by
    ``processes`` > 1, the last ``processes`` Parquet row groups of more than one batch of
    ``batch_size`` rows are read in two halves (cut at a batch's end, :func:`_halves`), so that
    the processes finish closer together (the last to finish runs on alone for at most half a
    row group), and a single row group is read by two."""
    ordered = sorted(tasks, key=lambda t: -t.rows)
    if processes <= 1 or batch_size <= 0:
        return ordered
    last = max(len(ordered) - processes, 0)
    out = ordered[:last]
    for task in ordered[last:]:
        out += _halves(task, batch_size) or [task]
    return out


def pieces(tasks, batch_size: int) -> int:
    """How many processes the reading of ``tasks`` can be shared out to: a task each, two for
    a Parquet row group of more than one batch (:func:`in_reading_order`)."""
    return sum(1 + (_halves(task, batch_size) is not None) for task in tasks)


def _halves(task, batch_size: int) -> list | None:
    """A Parquet row group of more than one batch as two tasks, the first one of whole
    batches; else None."""
    middle = -(-(task.rows // 2) // batch_size) * batch_size if batch_size > 0 else 0
    if task.format != "parquet" or task.span is not None or not 0 < middle < task.rows:
        return None
    return [dataclasses.replace(task, rows=middle, span=(0, middle)),
            dataclasses.replace(task, rows=task.rows - middle, span=(middle, task.rows))]


def reading_key(tasks, eval_plan, columns, batch_size, column_types) -> tuple | None:
    """What the partials of ``tasks`` depend on: reading started ahead of the pipeline
    (:mod:`evalbeam.read_ahead`) is used only by a run whose key is equal."""
    if eval_plan.baseline_metrics is not None:
        return None  # (never started ahead)
    return (list(tasks), eval_plan.config.SerializeToString(deterministic=True),
            eval_plan.data_quality, list(columns or []), batch_size, column_types)
