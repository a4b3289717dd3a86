"""Keys that name a slice, a metric and a plot.

A slice key is a tuple of ``(column, value)`` pairs sorted by column name; ``()`` is the
overall slice. Values keep the type they had in the data: ``int``, ``float`` or ``str``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

def slice_name(key: tuple) -> str:
    """A slice as people read it (and ``show --slice`` takes it): ``Overall`` or
    ``country=us, device=mobile``."""
    return ", ".join(f"{c}={v}" for c, v in key) if key else "Overall"


@dataclass(frozen=True, order=True)
class SubKey:
    class_id: int | None = None
    k: int | None = None
    top_k: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.class_id is not None:
            parts.append(f"classId:{self.class_id}")
        if self.k is not None:
            parts.append(f"k:{self.k}")
        if self.top_k is not None:
            parts.append(f"topK:{self.top_k}")
        return " ".join(parts)


@dataclass(frozen=True)
class MetricKey:
    """What a value measures: metric name, model, output, sub key, weighting, diff or not, and
    the aggregation over classes (``micro_average``, ``macro_average``,
    ``weighted_macro_average``) that produced it."""

    name: str
    model_name: str = ""
    output_name: str = ""
    sub_key: SubKey | None = None
    example_weighted: bool = False
    is_diff: bool = False
    aggregation_type: str | None = None

    # Keys are looked up millions of times per run: hash once. The cached hash is not
    # pickled (string hashes differ between processes).
    def __post_init__(self):
        object.__setattr__(self, "_hash", hash((self.name, self.model_name, self.output_name,
                                                self.sub_key, self.example_weighted, self.is_diff,
                                                self.aggregation_type)))

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (MetricKey, (self.name, self.model_name, self.output_name, self.sub_key,
                            self.example_weighted, self.is_diff, self.aggregation_type))

    def qualifier(self) -> str:
        """Model, output, sub key and aggregation, ``/``-joined (empty when none is set)."""
        parts = (self.model_name, self.output_name, str(self.sub_key or ""),
                 self.aggregation_type or "")
        return "/".join(p for p in parts if p)

    def sort_key(self):
        return (self.model_name, self.output_name, str(self.sub_key or ""),
                self.aggregation_type or "", self.name, not self.example_weighted, self.is_diff)


_CAMEL_1 = re.compile(r"(.)([A-Z][a-z0-9]+)")
_CAMEL_2 = re.compile(r"([a-z])([A-Z])")


def default_metric_name(class_name: str) -> str:
    """TFMA's default metric name: snake_case of the class name (``AUC`` -> ``auc``)."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", class_name)).lower()
