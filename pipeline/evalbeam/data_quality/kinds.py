"""A feature's kind from its Arrow type: integers and booleans are INT, floating point (and
decimals) FLOAT, strings STRING and binary BYTES; lists (of any list type) of those have list
statistics too. Any other type is a :class:`~evalbeam.errors.ConfigError` naming the column.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from evalbeam.errors import ConfigError

INT, FLOAT, STRING, BYTES = "INT", "FLOAT", "STRING", "BYTES"
NUMERIC = (INT, FLOAT)


@dataclass(frozen=True)
class Kind:
    """A feature's statistics type and whether its values are lists."""

    type: str  # INT, FLOAT, STRING, BYTES; "" for a column of nulls only (a null type)
    is_list: bool = False

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC


def kind_of(typ: pa.DataType, column: str = "", where: str = "data_quality.features") -> Kind:
    """The :class:`Kind` of an Arrow type (dictionaries by their values)."""
    if pa.types.is_dictionary(typ):
        return kind_of(typ.value_type, column, where)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or \
            pa.types.is_fixed_size_list(typ) or pa.types.is_list_view(typ):
        inner = kind_of(typ.value_type, column, where)
        if inner.is_list:
            raise ConfigError(f"{where}: column {column!r} has type {typ}; nested lists are "
                              "not described (expected numbers, strings, bytes or lists of them)")
        return Kind(inner.type, True)
    if pa.types.is_null(typ):
        return Kind("")
    if pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        return Kind(INT)
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return Kind(FLOAT)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return Kind(STRING)
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or \
            pa.types.is_fixed_size_binary(typ) or pa.types.is_binary_view(typ):
        return Kind(BYTES)
    raise ConfigError(f"{where}: column {column!r} has type {typ}, which statistics do not "
                      "describe (expected numbers, booleans, strings, bytes or lists of them)")
