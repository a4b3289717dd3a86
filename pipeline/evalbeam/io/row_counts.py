"""How many rows data files hold, told before reading them (the progress line's total): the
read tasks' row counts (:func:`evalbeam.io.readers.read_tasks`), exact from Parquet footers,
estimated for CSV and TFRecord from each file's size and the rows in its first megabyte."""
from __future__ import annotations

from evalbeam.io import readers


def total_rows(data, data_format):
    """(rows, exact) the data holds: exact from Parquet metadata, else estimated."""
    files, fmt = readers.match_files(data, data_format)
    rows = sum(task.rows for task in readers.read_tasks(files, fmt))
    return rows, fmt == "parquet"
