"""User-facing errors: one line, naming the file, column or setting and what was expected.

Errors raised inside pipeline workers travel through the runner as text, so every message
starts with a fixed marker that :func:`user_error_message` finds again in whatever the
runner re-raised.
"""
from __future__ import annotations

import re

MARKER = "evalbeam error: "


class EvalbeamError(ValueError):
    """A problem with the user's input or configuration (CLI exit code 2)."""

    exit_code = 2

    def __init__(self, message: str):
        # Beam re-raises an error from a step as type(e)(e.args[0] + " [while running ...]"):
        # keep the message ours (one marker, no step name).
        message = _STEP.sub("", message.removeprefix(MARKER))
        super().__init__(MARKER + message)
        self.message = message


class ConfigError(EvalbeamError):
    """The EvalConfig is malformed or asks for something unsupported."""


class InputError(EvalbeamError):
    """The data does not fit the configuration (missing column, bad values, ...)."""


class OutputError(EvalbeamError):
    """The output location may not take the run's artifacts (a folder of other files, a file,
    the current directory, a place that cannot be written)."""


class WorkerDied(EvalbeamError):
    """A worker process of a local run died (killed, or out of memory): the run was stopped and
    wrote nothing (CLI exit code 4: running it again may succeed)."""

    exit_code = 4


class EvalbeamWarning(UserWarning):
    """The run succeeded, but its result needs a second look (e.g. the input had no rows)."""


_FOUND = re.compile(re.escape(MARKER) + r"([^\n]*)")
_STEP = re.compile(r" \[while running '[^']*'\]$")


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message of an EvalbeamError, also when a runner wrapped it in its own error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, EvalbeamError):
            return exc.message
        match = _FOUND.search(str(exc))
        if match:
            return match.group(1).rstrip("'\" ")
        exc = exc.__cause__ or exc.__context__
    return None


def first_line(e: BaseException) -> str:
    """An exception in one line, for messages: its type and the first line of its text."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
