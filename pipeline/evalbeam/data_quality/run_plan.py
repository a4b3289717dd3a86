"""The data-quality part of a run's plan: the config's ``data_quality`` with the caller's
merged in, resolved against the data (its columns and kinds, the numeric features' shifts from
the first rows). Nothing here imports Beam: the command line's reading ahead
(:mod:`evalbeam.read_ahead`) makes the same plan as the run.
"""
from __future__ import annotations

import dataclasses

import pyarrow as pa

from evalbeam.config import read_config
from evalbeam.errors import ConfigError
from evalbeam.plan import EvalPlan
from evalbeam.proto import config_pb2


def with_data_quality(config, data_quality) -> config_pb2.EvalConfig:
    """An EvalConfig of ``config`` (a plan, proto, path or text) with ``data_quality`` (a
    DataQuality or a dict of its fields) merged into its own."""
    from google.protobuf import json_format

    if isinstance(data_quality, dict):
        try:
            data_quality = json_format.ParseDict(data_quality, config_pb2.DataQuality())
        except json_format.ParseError as e:
            raise ConfigError(f"data_quality: {e}".replace("\n", " ")) from None
    if isinstance(config, EvalPlan):
        config = config.config
    proto = config_pb2.EvalConfig()
    proto.CopyFrom(config if isinstance(config, config_pb2.EvalConfig) else read_config(config))
    proto.data_quality.MergeFrom(data_quality)
    return proto


SHIFT_ROWS = 1024  # rows read before the run for the numeric features' shifts


def data_quality_for(eval_plan, schema, source: str, first_batches, present=None) -> EvalPlan:
    """``eval_plan`` with its data-quality features resolved against the data's ``schema``
    (the batches' columns: every one when none is named; kinds checked) and their shifts
    taken from the first rows (``first_batches()``); ``present``: the columns the data has,
    named when a feature is not among them."""
    dq = eval_plan.data_quality
    if dq is None:
        return eval_plan
    dq = dq.for_schema(schema, source, present)
    for batch in first_batches():
        dq = dq.with_shifts(batch)
        break
    return dataclasses.replace(eval_plan, data_quality=dq)


def batch_schema(schema: pa.Schema, raw: list, columns) -> pa.Schema:
    """The fields of ``schema`` the pipeline's batches hold: the columns read (all when
    ``columns`` is None) and those models add (not in the data's ``raw`` names)."""
    if columns is None:
        return schema
    keep = set(columns) | (set(schema.names) - set(raw))
    return pa.schema([f for f in schema if f.name in keep])
