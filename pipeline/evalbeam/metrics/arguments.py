"""The checks of a metric's config arguments, made once when the config is read.

Each returns the value the metric uses, or raises ValueError with one line naming the
argument, what is allowed and what was given (``num_thresholds must be a whole number of at
least 1, got 0``); the config names the metric in front of it.
"""
from __future__ import annotations

import math

_MISSING = object()


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value):
    """``value`` as an int if it is a whole number (``3`` or ``3.0``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _allowed_whole(low: int, high: int | None) -> str:
    if high is None:
        return f"a whole number of at least {low}"
    return f"a whole number from {low} to {high}"


def whole_number(config: dict, key: str, default=_MISSING, low: int = 1,
                 high: int | None = None) -> int:
    """``config[key]`` (or ``default``), a whole number in ``[low, high]``."""
    value = config.get(key, default)
    if value is _MISSING:
        raise ValueError(f"{key} is required: {_allowed_whole(low, high)}")
    n = _whole(value)
    if n is None or n < low or (high is not None and n > high):
        raise ValueError(f"{key} must be {_allowed_whole(low, high)}, got {value!r}")
    return n


def whole_numbers(config: dict, key: str, low: int = 1) -> list:
    """``config[key]``: a list of whole numbers of at least ``low`` ([] when absent)."""
    value = config.get(key)
    value = [] if value is None else value
    found = [_whole(v) for v in value] if isinstance(value, list) else [None]
    if any(n is None or n < low for n in found):
        raise ValueError(f"{key} must be a list of whole numbers of at least {low}, "
                         f"got {value!r}")
    return found


def number(config: dict, key: str, default=_MISSING, low: float | None = None,
           high: float | None = None) -> float:
    """``config[key]`` (or ``default``), a number (not NaN) in ``[low, high]`` when given."""
    value = config.get(key, default)
    allowed = _allowed_number(low, high)
    if value is _MISSING:
        raise ValueError(f"{key} is required: {allowed}")
    if not _in_range(value, low, high):
        raise ValueError(f"{key} must be {allowed}, got {value!r}")
    return float(value)


def numbers(config: dict, key: str, default, low: float | None = None,
            high: float | None = None) -> list:
    """``config[key]`` (or ``default``): a number or a non-empty list of numbers, each in
    ``[low, high]`` when given; returned as a list."""
    value = config.get(key, default)
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or not all(_in_range(v, low, high) for v in values):
        raise ValueError(f"{key} must be {_allowed_number(low, high)} or a non-empty list of "
                         f"them, got {value!r}")
    return [float(v) for v in values]


def _in_range(value, low, high) -> bool:
    return (_is_number(value) and not math.isnan(value)
            and (low is None or value >= low) and (high is None or value <= high))


def _allowed_number(low, high) -> str:
    if low is not None and high is not None:
        return f"a number in [{low:g}, {high:g}]"
    if low is not None:
        return f"a number of at least {low:g}"
    if high is not None:
        return f"a number of at most {high:g}"
    return "a number"


def flag(config: dict, key: str, default: bool = False) -> bool:
    """``config[key]`` (or ``default``): true or false (not a string such as ``"false"``)."""
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def text(config: dict, key: str, default=_MISSING, choices: tuple = ()) -> str:
    """``config[key]`` (or ``default``): a non-empty string; one of ``choices`` when given,
    compared regardless of case and returned as the choice is written."""
    value = config.get(key, default)
    allowed = (f"one of {list(choices)}" if choices else "a non-empty string")
    if value is _MISSING:
        raise ValueError(f"{key} is required: {allowed}")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be {allowed}, got {value!r}")
    if choices:
        found = [c for c in choices if c.lower() == value.lower()]
        if not found:
            raise ValueError(f"{key} must be {allowed}, got {value!r}")
        return found[0]
    return value
