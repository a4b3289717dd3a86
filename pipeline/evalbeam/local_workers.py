"""How many local processes a run uses when no runner flag is given, and the worker process.

The rule: every core (the cores this process may run on) when the input holds at least
``MIN_ROWS`` rows and has at least two read tasks (row groups, files; a Parquet row group of
more than one batch counts two: :func:`evalbeam.task_partials.in_reading_order`), one process
below that (a small input is done before a second process would gain anything; see
``MIN_ROWS``). The
row count comes from the Parquet footers, or is estimated from the file sizes for CSV and
TFRecord (:func:`evalbeam.io.readers.read_tasks`). A runner flag given by the user (``--runner``,
``--direct_num_workers``, ``--direct_running_mode``) always wins.

The workers are processes forked from the command's own (:mod:`evalbeam.worker_pool`) that
read and pre-aggregate the read tasks beside it, inside Beam's in-process runner: they start
at once, import nothing and log nothing.
"""
from __future__ import annotations

import os

from evalbeam import worker_pool

# The input size from which a process per core gains. Measured on 2 cores (B1, benchmarks/b1.py
# with the floor in the same run, runs alternated, at real-time priority so that other load did
# not count): 10M rows in 10 row groups took 3.74-4.07 s in two processes against 4.83-6.50 s in
# one; 1M rows in 4 row groups 2.55-2.72 s against 2.61-3.17 s (no slower, start-up dominates).
MIN_ROWS = 1_000_000
USER_FLAGS = ("runner", "direct_num_workers", "direct_running_mode")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(rows: int, tasks: int, available: int | None = None) -> int:
    """Processes for a run of ``rows`` rows in ``tasks`` read tasks (1: in-process)."""
    available = cores() if available is None else available
    if MIN_ROWS is None or rows < MIN_ROWS or tasks < 2 or not worker_pool.can_fork():
        return 1
    return max(1, min(available, tasks))


def processes_for(tasks, batch_size: int) -> int:
    """:func:`worker_count` for the read tasks ``tasks`` read in batches of ``batch_size``
    rows (a Parquet row group of more than one batch counting two)."""
    from evalbeam.task_partials import pieces

    return worker_count(sum(t.rows for t in tasks), pieces(tasks, batch_size))


def user_chose(options) -> bool:
    """Whether the user's pipeline options name a runner or the direct runner's workers."""
    flags = {f.split("=", 1)[0].lstrip("-").replace("-", "_")
             for f in getattr(options, "_flags", None) or []}
    given = options.get_all_options(drop_default=True)  # (also keyword arguments)
    return any(name in flags or given.get(name) is not None for name in USER_FLAGS)
