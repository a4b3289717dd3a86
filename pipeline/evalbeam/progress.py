"""The progress line ``evaluate`` draws on a terminal: rows read of the total, rows per second,
elapsed time and ETA.

The count travels through a file. Before the pipeline runs, the command creates an empty file
and names it in the environment (``EVALBEAM_PROGRESS``); the processes that read the data (the
command itself, or the local runner's worker processes, which inherit its environment) append
one line ``ROWS\\n`` to it per record batch read. An append to a file opened with ``O_APPEND``
is one atomic write, so processes and threads never mix their lines. A thread of the command
reads what was appended four times a second and redraws the line. A process without the
variable, or on a machine without the file (a remote worker), counts nothing.

The total comes from the caller (:func:`evalbeam.io.row_counts.total_rows`: exact for Parquet,
an estimate drawn with ``~`` for CSV and TFRecord).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time

ENV = "EVALBEAM_PROGRESS"
POLL = 0.25  # seconds between redraws
DELAY = 0.5  # seconds before the line first shows (a run failing at once draws nothing)


# -- Counting (where batches are read) --------------------------------------------------------
def counted(batches):
    """The batches, each counted into the progress file when the command draws a line."""
    path = os.environ.get(ENV)
    for batch in batches:
        if path:
            _append(path, batch.num_rows)
        yield batch


def _append(path: str, rows: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # never created: a missing file is a no-op
    except OSError:
        return
    try:
        os.write(fd, b"%d\n" % rows)
    finally:
        os.close(fd)


# -- The line ---------------------------------------------------------------------------------
# about 80 columns for millions of rows (a narrower terminal cuts the end off)
_UNKNOWN = "read {n:,} rows | {rate_fmt} | {elapsed} elapsed"
_KNOWN = ("read {n:,} of %s{total:,} rows ({percentage:.0f}%%) | {rate_fmt} | "
          "{elapsed} elapsed, ETA {remaining}")
_READ = "read all {n:,} rows | {elapsed} elapsed; computing the metrics"
_DONE = "read {n:,} rows in {elapsed} ({rate_fmt})"
_NONE = "read no rows in {elapsed}"


class _Line:
    """Threads finding the total and redrawing the line from the progress file until
    stopped; the line shows DELAY seconds after the start."""

    def __init__(self, stream, total, path):
        self.stream, self.path, self.offset, self.pending = stream, path, 0, b""
        self.rows, self.total, self.found, self.exact, self.bar = 0, None, None, None, None
        self.started = time.time()
        self.stopping = threading.Event()
        threading.Thread(target=self._find, args=(total,), name="evalbeam-total",
                         daemon=True).start()
        self.thread = threading.Thread(target=self._run, name="evalbeam-progress", daemon=True)
        self.thread.start()

    def _find(self, total):
        try:
            self.found = total()
        except Exception:  # noqa: BLE001 - the run itself says what is wrong with the data
            pass

    def _run(self):
        try:
            while not self.stopping.wait(POLL):
                self._draw()
        except (OSError, ValueError):  # the file is gone: the run is over
            pass

    def _count(self):
        """Add the rows appended since the last look."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            new = f.read()
        self.offset += len(new)
        lines = (self.pending + new).split(b"\n")
        self.pending = lines.pop()  # a line still being written
        self.rows += sum(int(line) for line in lines)

    def _draw(self):
        self._count()
        if self.bar is None and time.time() < self.started + DELAY:
            return
        if self.found is not None and self.exact is None:
            self.total, self.exact = self.found
        if self.exact is False:
            self.total = max(self.total, self.rows)  # more rows than estimated
        layout = _UNKNOWN if self.exact is None else _KNOWN % ("" if self.exact else "~")
        if self.exact and self.rows >= self.total:
            layout = _READ  # what is left is computing and writing
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, file=self.stream, bar_format=layout,
                            unit=" rows", unit_scale=True, mininterval=0, miniters=1,
                            ncols=_width(self.stream), nrows=20)  # one line: rows do not matter
            self.bar.start_t = self.bar.last_print_t = self.started
        bar = self.bar
        bar.total, bar.bar_format = self.total, layout
        bar.ncols = _width(self.stream)  # the terminal may have been resized
        if self.rows > bar.n:
            bar.update(self.rows - bar.n)
        else:
            bar.refresh()  # the elapsed time goes on

    def stop(self, succeeded: bool):
        """Stop redrawing; leave the final count on success, clear the line otherwise."""
        self.stopping.set()
        self.thread.join()
        if self.bar is None:  # a run shorter than DELAY: nothing was drawn
            return
        if succeeded:
            self._count()
            self.bar.n = self.rows
            self.bar.bar_format = _DONE if self.rows else _NONE  # the rate over the whole run
        else:
            self.bar.leave = False
        self.bar.close()


def _width(stream):
    """The columns the line may fill (the last one left free, so it never wraps); when the
    terminal does not say (0: some pseudo-terminals), so many that it is never cut."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns - 1 if columns > 1 else 1 << 16


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def shown(total, wanted: bool = True, stream=None):
    """Draw the progress line on ``stream`` (stderr) while the block runs an evaluation, if
    ``wanted`` and the stream is a terminal. ``total()``: (rows, exact) or None, called on a
    thread of its own (its errors are left to the run to say)."""
    stream = sys.stderr if stream is None else stream
    if not wanted or not _is_terminal(stream):
        yield
        return
    try:
        fd, path = tempfile.mkstemp(prefix="evalbeam-progress-")
    except OSError:  # no writable temporary folder: no line
        yield
        return
    os.close(fd)  # appended to by path
    before = os.environ.get(ENV)
    os.environ[ENV] = path
    succeeded = False
    try:
        line = _Line(stream, total, path)
        try:
            yield
            succeeded = True
        finally:
            line.stop(succeeded)
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
        os.remove(path)
