"""How many local processes a run uses when no runner flag is given, and the worker process.

The rule: every core (the cores this process may run on) when the input holds at least
``MIN_ROWS`` rows and has at least two read tasks (row groups, files), one process below that
(starting worker processes costs more than it gains on a small input). ``MIN_ROWS`` is None
for now: no input size has been measured to gain (see its comment), so runs stay in one
process. The row count comes from the Parquet footers, or is estimated from the file sizes
for CSV and TFRecord
(:func:`evalbeam.io.readers.read_tasks`). A runner flag given by the user (``--runner``,
``--direct_num_workers``, ``--direct_running_mode``) always wins.

Workers are Beam's SDK worker processes, started as ``python -m evalbeam.local_workers`` so
that their start-up and INFO logging stays off stderr (warnings and errors still show).
"""
from __future__ import annotations

import copy
import logging
import os
import sys
import warnings

# The input size from which a worker per core gains, or None: no size is known to gain yet, so
# every run stays in one process. Measured with B1 10M rows in 10 row groups on 2 cores
# (benchmarks/b1.py, the floor in the same run, three alternated pairs on a quiet machine):
# two worker processes 6.89-9.17 s (1.35-1.46x the floor) and 1.46-1.48 GB summed, one process
# 6.50-8.55 s (1.16-1.31x) and 0.48-0.49 GB: the workers' start-up and the partials they send
# cost more than the second core saves once coarse specs are rolled up (evalbeam.rollup).
MIN_ROWS = None
USER_FLAGS = ("runner", "direct_num_workers", "direct_running_mode")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(rows: int, tasks: int, available: int | None = None) -> int:
    """Processes for a run of ``rows`` rows in ``tasks`` read tasks (1: in-process)."""
    available = cores() if available is None else available
    if MIN_ROWS is None or rows < MIN_ROWS or tasks < 2:
        return 1
    return max(1, min(available, tasks))


def user_chose(options) -> bool:
    """Whether the user's pipeline options name a runner or the direct runner's workers."""
    flags = {f.split("=", 1)[0].lstrip("-").replace("-", "_")
             for f in getattr(options, "_flags", None) or []}
    given = options.get_all_options(drop_default=True)  # (also keyword arguments)
    return any(name in flags or given.get(name) is not None for name in USER_FLAGS)


def runner(workers: int, options):
    """(runner, options): Beam's in-process runner, sharing its bundles out over ``workers``
    worker processes (none for one); the options are the caller's, or a copy of them saying
    how many workers."""
    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner, fn_runner
    from apache_beam.transforms import environments

    if workers <= 1:
        return FnApiRunner(), options
    options = copy.deepcopy(options)
    options.view_as(DirectOptions).direct_num_workers = workers
    # --direct_running_mode=multi_processing would start Beam's own worker command: the
    # environment is given instead, and Beam's warning that the mode is not set is not said
    logging.getLogger(fn_runner.__name__).addFilter(_mode_not_set)
    command = f"{sys.executable} -m evalbeam.local_workers"
    return FnApiRunner(default_environment=environments.SubprocessSDKEnvironment
                       .from_command_string(command)), options


def _mode_not_set(record) -> bool:
    return not str(record.msg).startswith("If direct_num_workers is not equal to 1")


def main() -> None:
    """A Beam SDK worker whose own logging shows warnings and errors only."""
    quiet = logging.StreamHandler()
    quiet.setLevel(logging.WARNING)
    logging.getLogger().addHandler(quiet)
    # importing Beam's I/O modules warns of optional Google Cloud libraries it lacks, and the
    # harness of a folder for state kept between runs, which local workers do not keep
    logging.getLogger().addFilter(lambda record: "apitools" not in record.getMessage())
    logging.getLogger("apache_beam.runners.worker.sdk_worker_main").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    from apache_beam.runners.worker import sdk_worker_main

    from evalbeam.worker_deaths import end_with_the_run

    end_with_the_run()

    sdk_worker_main.main(sys.argv)


if __name__ == "__main__":
    main()
