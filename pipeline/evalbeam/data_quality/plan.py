"""What a run computes and checks about its data: the features described and their kinds
(:mod:`~evalbeam.data_quality.kinds`), the schema and baseline statistics the checks compare
with, the baseline data read in the same pipeline (:class:`DataQualityPlan`, from the config's
``data_quality``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from evalbeam.data_quality.columns import numbers_of
from evalbeam.data_quality.kinds import kind_of
from evalbeam.errors import ConfigError, InputError

DATA, BASELINE = "data", "baseline"  # the datasets statistics are computed for


SCALED_BEYOND = 64  # see DataQualityPlan.scales


@dataclass
class DataQualityPlan:
    """The data-quality part of a run (``EvalConfig.data_quality``), checked.

    ``features`` empty means every column of the data (resolved with :meth:`for_schema` once
    the data's schema is known). ``shifts`` holds, per numeric feature, the value subtracted
    before summing x and x^2 (from the first rows, fixed before the run) so that means and
    standard deviations keep their precision when the mean is large against the spread;
    ``scales`` the power of two the shifted values are multiplied by before they are summed:
    1 unless their magnitude in those rows is beyond 2^+-SCALED_BEYOND, which it brings them
    back to (squares of 1e200 or 1e-200 are out of double precision's range; values 1e130
    times larger than those rows' still fit).
    """

    features: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)  # feature -> Kind (once the schema is known)
    weight_column: str = ""  # the example weight of the first model output, if any
    schema_path: str = ""
    schema: object = None  # tensorflow_metadata Schema
    baseline_statistics_path: str = ""
    baseline_statistics: object = None  # DatasetFeatureStatisticsList
    baseline_data: list = field(default_factory=list)
    drift_thresholds: dict = field(default_factory=dict)
    default_drift_threshold: float | None = None
    shifts: dict = field(default_factory=dict)  # numeric feature -> shift
    scales: dict = field(default_factory=dict)  # numeric feature -> scale (absent: 1)
    value_cap: int = 0  # distinct values kept exactly per slice (0: the default)
    # column -> its type, of the columns of every column read whose type statistics do not
    # describe (a timestamp, a struct): left out, and said so (summary.json, show, the report)
    undescribed: dict = field(default_factory=dict)

    @property
    def every_column(self) -> bool:
        return not self.features

    def for_schema(self, schema: pa.Schema, source: str, present=None) -> "DataQualityPlan":
        """This plan with its features (every column when none is named) and their kinds
        from ``schema``; a named feature missing from it is an InputError naming ``source``
        and the columns ``present`` there (default: the schema's)."""
        names, undescribed = self.features, {}
        if not names:  # every column: those of types statistics describe
            names = [n for n in schema.names if not n.startswith("__")]
            for n in names:
                try:
                    kind_of(schema.field(n).type, n)
                except ConfigError:
                    undescribed[n] = str(schema.field(n).type)
            names = [n for n in names if n not in undescribed]
        missing = [n for n in names if n not in schema.names]
        if missing:
            raise InputError(f"{source}: no column {missing[0]!r} (data_quality.features); "
                             f"columns present: {', '.join(present or schema.names)}")
        kinds = {n: kind_of(schema.field(n).type, n) for n in names}
        unknown = sorted(set(self.drift_thresholds) - set(names))
        if unknown:
            raise InputError(f"{source}: data_quality.drift_thresholds names {unknown[0]!r}, "
                             f"which is not among the features described "
                             f"({', '.join(names)})")
        return dataclasses.replace(self, features=list(names), kinds=kinds,
                                   undescribed=undescribed)

    def with_shifts(self, batch: pa.RecordBatch) -> "DataQualityPlan":
        """This plan with each numeric feature's shift: its first finite value in ``batch``
        (0 when it has none), and its scale (see the class)."""
        shifts, scales = dict(self.shifts), dict(self.scales)
        for name, kind in self.kinds.items():
            if kind.numeric and name in batch.schema.names and name not in shifts:
                values = numbers_of(batch.column(name))[0]
                finite = values[np.isfinite(values)]
                shifts[name] = float(finite[0]) if len(finite) else 0.0
                spread = np.abs(finite - shifts[name]).max(initial=0.0)
                exponent = math.frexp(spread)[1] if spread else 0
                if abs(exponent) > SCALED_BEYOND:  # brought back to 2^+-SCALED_BEYOND
                    scales[name] = math.ldexp(1.0, int(np.sign(exponent)) * SCALED_BEYOND -
                                              exponent)
        return dataclasses.replace(self, shifts=shifts, scales=scales)


def resolve_data_quality(config, heads: list) -> DataQualityPlan | None:
    """The checked ``data_quality`` of an EvalConfig; None when it asks for nothing
    (statistics are computed when ``statistics`` is set, or features, a schema or a baseline
    are given)."""
    if not config.HasField("data_quality"):
        return None
    dq = config.data_quality
    wanted = (dq.statistics or dq.features or dq.schema_path or dq.baseline_statistics or
              dq.baseline_data)
    if not wanted:
        return None
    features = list(dq.features)
    for i, name in enumerate(features):
        if not name:
            raise ConfigError(f"data_quality.features[{i}]: an empty column name")
    if len(set(features)) != len(features):
        repeated = next(n for n in features if features.count(n) > 1)
        raise ConfigError(f"data_quality.features: column {repeated!r} is listed twice")
    if dq.baseline_statistics and dq.baseline_data:
        raise ConfigError("data_quality: baseline_statistics and baseline_data both give the "
                          "baseline; give one of them")
    for i, pattern in enumerate(dq.baseline_data):
        if not pattern:
            raise ConfigError(f"data_quality.baseline_data[{i}]: an empty file pattern")
    thresholds = {}
    for name, value in dq.drift_thresholds.items():
        if not name:
            raise ConfigError("data_quality.drift_thresholds: an empty feature name")
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"data_quality.drift_thresholds[{name!r}]: expected a number at "
                              f"least 0, got {value}")
        thresholds[name] = value
    default = None
    if dq.HasField("default_drift_threshold"):
        default = dq.default_drift_threshold.value
        if not (math.isfinite(default) and default >= 0):
            raise ConfigError("data_quality.default_drift_threshold: expected a number at least "
                              f"0, got {default}")
    weight = next((h.example_weight_key for h in heads if h.example_weight_key), "")
    return DataQualityPlan(features=features, weight_column=weight,
                           schema_path=dq.schema_path,
                           baseline_statistics_path=dq.baseline_statistics,
                           baseline_data=list(dq.baseline_data), drift_thresholds=thresholds,
                           default_drift_threshold=default)


def load_inputs(plan: DataQualityPlan) -> DataQualityPlan:
    """``plan`` with its schema and baseline statistics files read (errors name the file and
    the setting)."""
    from evalbeam.data_quality.load import load_statistics
    from evalbeam.data_quality.schema_file import load_schema

    schema = plan.schema
    if plan.schema_path and schema is None:
        try:
            schema = load_schema(plan.schema_path, "data_quality.schema_path")
        except InputError as e:  # a setting of the config names it
            raise ConfigError(e.message) from None
    baseline = plan.baseline_statistics
    if plan.baseline_statistics_path and baseline is None:
        baseline = load_statistics(plan.baseline_statistics_path,
                                   "data_quality.baseline_statistics")
    return dataclasses.replace(plan, schema=schema, baseline_statistics=baseline)
