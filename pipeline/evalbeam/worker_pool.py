"""Work shared out over processes forked from this one: the local runner's every-core mode.

:func:`share_out` runs ``work(take)`` in this process and in ``processes - 1`` forked ones.
``take()`` hands out the next item of one common list (None when none is left), so a process
that finishes early takes more; each process returns one result (read tasks' partials merged
where they were computed, so one small table per process and spec comes back, not one per
task). Forked processes start at once (nothing to import, the work and its inputs are
inherited) and die with this process.

A process that raises sends its error back, and it is raised here; a process that dies
(killed, out of memory) stops the run with :class:`~evalbeam.errors.WorkerDied`. Either way
the other processes are stopped: no result is made of part of the items.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import signal
from multiprocessing.connection import wait

from evalbeam.errors import EvalbeamError, WorkerDied
from evalbeam.worker_deaths import how_it_ended


def can_fork() -> bool:
    """Whether this platform forks processes (Linux, macOS; not Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def share_out(items: list, work, processes: int) -> list:
    """``[work(take), ...]``: one result per process (this one's first)."""
    return start(items, work, processes).finish(work)


class Shared:
    """Items being shared out: the forked processes already at work on them, and this
    process's share still to do (:meth:`finish`)."""

    def __init__(self, items: list, counter, children: list):
        self.items, self.counter, self.children = items, counter, children

    def finish(self, work) -> list:
        """``work(take)`` here, then each forked process's result: this one's first."""
        try:
            results = [work(_taker(self.items, self.counter))]
            results.extend(_results(self.children))
            return results
        finally:
            self.stop()

    def stop(self) -> None:
        """Stops the forked processes (those still at work are killed)."""
        for child, receive in self.children:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
        self.children = []


def start(items: list, work, processes: int) -> Shared:
    """Forks ``processes - 1`` processes (fewer for fewer items) that run ``work(take)`` on
    ``items`` now; :meth:`Shared.finish` does this process's share and gathers the results."""
    if processes <= 1 or len(items) <= 1:
        return Shared(items, None, [])
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)  # the next item to take, shared
    shared = Shared(items, counter, [])
    try:
        for _ in range(min(processes, len(items)) - 1):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(work, items, counter, send),
                                    daemon=True)
            child.start()
            send.close()
            shared.children.append((child, receive))
    except BaseException:
        shared.stop()
        raise
    return shared


# Work started ahead of the pipeline step that will take it (evalbeam.read_ahead): at most
# one [key, Shared]
_AHEAD = []


def start_ahead(key, items: list, work, processes: int) -> None:
    """:func:`start` now; the step that later shares out the same work under an equal ``key``
    (:func:`take_ahead`) finds these processes at work."""
    stop_ahead()
    _AHEAD[:] = [key, start(items, work, processes)]


def take_ahead(key, items: list, processes: int) -> Shared | None:
    """The work started ahead under a key equal to ``key`` for these items and processes, if
    any (once); work started for anything else is stopped."""
    shared = None
    if key is not None and _AHEAD and _AHEAD[0] == key:
        shared = _AHEAD.pop()
        _AHEAD.clear()
    stop_ahead()
    if shared is not None and shared.items == items and \
            len(shared.children) == min(processes, len(items)) - 1:
        return shared
    if shared is not None:
        shared.stop()
    return None


def stop_ahead() -> None:
    """Stops work started ahead that no step took."""
    if _AHEAD:
        _AHEAD.pop().stop()
        _AHEAD.clear()


def _taker(items: list, counter):
    if counter is None:
        it = iter(items)
        return lambda: next(it, None)

    def take():
        with counter.get_lock():
            index = counter.value
            counter.value = index + 1
        return items[index] if index < len(items) else None

    return take


def _child(work, items, counter, send) -> None:
    _die_with_parent()
    try:
        outcome = ("result", work(_taker(items, counter)))
    except BaseException as e:  # noqa: BLE001 - sent back and raised by the parent
        outcome = ("error", e)
    try:
        send.send(outcome)
    except Exception as e:  # noqa: BLE001 - an error that does not pickle: its text
        send.send(("error", EvalbeamError(f"{type(outcome[1]).__name__}: {outcome[1]}"
                                          if outcome[0] == "error" else str(e))))
    send.close()
    os._exit(0)  # (no clean-up of what was inherited from the parent)


def _results(children) -> list:
    """Each child's result, in turn: it sent one, or it ended without (:class:`WorkerDied`)."""
    results = []
    for child, receive in children:
        outcome = None
        if receive in wait([receive, child.sentinel]) or receive.poll():
            try:
                outcome = receive.recv()
            except (EOFError, OSError, pickle.UnpicklingError):  # it died while sending
                pass
        if outcome is None:
            child.join()
            raise WorkerDied(f"a worker process of the run {how_it_ended(child.exitcode)}")
        kind, value = outcome
        if kind == "error":
            raise value
        results.append(value)
    return results


NAME = b"evalbeam-worker"  # the worker processes' name (``ps``, ``top``)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when its parent dies, and name it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        libc.prctl(15, NAME)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass
