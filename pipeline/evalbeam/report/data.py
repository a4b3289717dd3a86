"""What a report page shows, built from finished results: one JSON-ready dict.

The page embeds it once (``<script type="application/json" id="evalbeam-data">``), so scripts
and tests read the same numbers the page draws. Its shape::

    {"format": 1, "evalbeam_version", "generated_at",
     "limits": {"table_slices", "plot_slices"},
     "order": [run index, ...],             # the runs in time order (history.run_order)
     "runs": [{
        "dir", "name", "run_name", "data_span", "evaluated_at",
        "verdict": "BLESSED" | "NOT_BLESSED" | "NO THRESHOLDS",
        "facts": {...},                     # rows read / used / dropped, config, version, ...
        "models": {"candidate", "baseline"},
        "count_label": "weighted example count",
        "metrics": [{"id", "name", "weighted", "roles": ["value", "baseline", "diff"],
                     "intervals": bool}],
        "slices": {"name": [...], "key": [[[column, value], ...], ...], "count": [...]},
        "values": {metric id: {"value": [...], "lower": [...], "upper": [...],
                               "baseline": [...], "diff": [...], ...}},   # aligned with slices
        "fails": {metric id: {slice index: message}},
        "thresholds": {metric id: [{"lower", "upper", "slices": null | [slice index]}]},
        "specs": [{"name", "slices", "omitted", "table": [slice index], "cut",
                   "hist": null | {"count": B64, "values": {metric id: QUANTISED}}}],
        "plots": {slice index: [plot, ...]},
        "failures": [...], "regressions": null | [...], "warnings": [...],
        "data_quality": null | {...}}]}      # evalbeam.report.quality_data

Numbers that are NaN or infinite are ``null``. A spec with more slices than
``limits.table_slices`` keeps its largest slices (by weighted example count) in the table; its
``hist`` then carries every slice for the metric histogram: the counts as little-endian float32
and each metric's values quantised to 16 bits over [min, max] (``QUANTISED`` = ``{"min", "max",
"q"}``, ``q`` base64 of uint16; 65535 is null), accurate to 1/65534 of the range; a metric whose
values are the counts themselves is ``{"count": true}``.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import math

import numpy as np

from evalbeam.io.convert import metric_key_from_proto, metric_value_from_proto, slice_key_from_proto
from evalbeam.keys import slice_name
from evalbeam.report.quality_data import run_quality
from evalbeam.values import flatten, label

TABLE_SLICES = 5000  # per spec: slices the table and the search carry (largest first)
PLOT_SLICES = 100  # per spec: slices whose plots the page holds (largest first)
_NULL_Q = 65535


def page_data(results: list, table_slices: int = TABLE_SLICES,
              plot_slices: int = PLOT_SLICES, shown_dirs=None) -> dict:
    from evalbeam import __version__

    return {
        "format": 1, "evalbeam_version": __version__,
        "generated_at": _utc_now(),
        "limits": {"table_slices": table_slices, "plot_slices": plot_slices},
        "order": _order(results),
        "runs": [run_data(r, table_slices, plot_slices, shown)
                 for r, shown in zip(results, shown_dirs or [r.output_dir for r in results])],
    }


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(results) -> list:
    from evalbeam.over_time import run_order

    return run_order(results)


def _num(v):
    """A JSON number: None for NaN, infinity or a missing value."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class _Columns:
    """Metric ids and the role each key's values play under them.

    With one candidate and a baseline, a metric's id drops the model's name: the candidate's
    values are its ``value``, the baseline's its ``baseline``, the candidate-minus-baseline
    values its ``diff``. Otherwise every model's values are metrics of their own."""

    def __init__(self, candidate: str | None, baseline: str | None):
        self.candidate, self.baseline = candidate, baseline
        self._ids = {}

    def of(self, key, cell) -> tuple:
        """(metric id, role) of one number."""
        cached = self._ids.get((key, cell.threshold, cell.field, cell.classes))
        if cached is None:
            role = "value"
            plain = key
            if self.baseline is not None and self.candidate is not None:
                if key.is_diff:
                    role = "diff"
                elif key.model_name == self.baseline:
                    role = "baseline"
                if key.model_name in (self.baseline, self.candidate):
                    plain = dataclasses.replace(key, model_name="", is_diff=False)
            cached = (label(plain, cell), role)
            self._ids[(key, cell.threshold, cell.field, cell.classes)] = cached
        return cached


def _models(config) -> tuple:
    names = [m.name for m in config.model_specs]
    baseline = next((m.name for m in config.model_specs if m.is_baseline), None)
    candidates = [n for n in names if n != baseline]
    return (candidates[0] if len(candidates) == 1 else None), baseline


def run_data(result, table_slices: int = TABLE_SLICES, plot_slices: int = PLOT_SLICES,
             shown_dir: str | None = None) -> dict:
    """The page data of one finished result (see the module's docstring); ``shown_dir``:
    the directory the page names (default: where the result is read)."""
    shown_dir = shown_dir or result.output_dir
    candidate, baseline = _models(result.config)
    metrics = result.metrics
    keys = list(metrics)
    every = _key_columns(result, keys)
    counts = _sizes(every, len(keys))
    names, members = _spec_members(keys, result.slice_specs)
    order = np.lexsort((np.arange(len(keys)), -np.nan_to_num(counts, nan=-np.inf)))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    kept, spec_rows = set(), []
    for found in members:  # each spec's slices, largest first
        found = np.asarray(found, dtype=np.int64)
        found = found[np.argsort(rank[found], kind="stable")].tolist()
        kept.update(found[:table_slices])
        spec_rows.append(found)
    table = sorted(kept, key=rank.__getitem__)
    index = {old: new for new, old in enumerate(table)}
    columns = _Columns(candidate, baseline)
    values, described = _values(result, [keys[i] for i in table], _subset(every, table),
                                columns)
    summary_specs = {s.get("spec"): s for s in result.summary.get("specs", [])}
    spec_out = []
    for name, found in zip(names, spec_rows):
        facts = summary_specs.get(name, {})
        hist = None
        if len(found) > table_slices:
            hist = _histogram_data(result, _subset(every, found), counts[found], columns)
        spec_out.append({
            "name": name, "slices": len(found),
            "omitted": facts.get("omitted_below_min_slice_size", 0),
            "rows_with_null": facts.get("rows_with_null_slicing_feature", 0),
            "plot_slices_cut": facts.get("plot_slices_cut", 0),
            "table": [index[j] for j in found[:table_slices]],
            "cut": max(0, len(found) - table_slices), "hist": hist})
    failures, fails = _failures(result, {keys[i]: index[i] for i in table}, columns)
    out = {
        "dir": shown_dir,
        "name": result.summary.get("run_name") or _basename(shown_dir),
        "run_name": result.summary.get("run_name"),
        "data_span": "..".join(result.data_span) if result.data_span else None,
        "evaluated_at": result.summary.get("evaluated_at"),
        "verdict": _verdict(result.validation),
        "facts": _facts(result),
        "models": {"candidate": candidate, "baseline": baseline},
        "count_label": _count_label(metrics),
        "metrics": described,
        "slices": {"name": [slice_name(keys[i]) for i in table],
                   "key": [[[c, v] for c, v in keys[i]] for i in table],
                   "count": [_num(counts[i]) for i in table]},
        "values": values,
        "fails": fails,
        "thresholds": _thresholds(result, [keys[i] for i in table], columns),
        "specs": spec_out,
        "plots": _plots(result, spec_out, [keys[i] for i in table], plot_slices,
                        {"candidate": candidate, "baseline": baseline}),
        "failures": failures,
        "missing_slices": [str(s).strip() or "overall" for s in result.validation.missing_slices],
        "regressions": _regressions(result, baseline),
        "cross_slices": _cross_slices(result),
        "omitted": [slice_name(s) for s in result.omitted],
        "not_shown": _not_shown(keys, every),
        "warnings": list(result.summary.get("warnings", [])),
        "data_quality": run_quality(result),
    }
    return out


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def _sizes(every: dict, n: int) -> np.ndarray:
    """Each slice's weighted example count (else its example count; NaN without one)."""
    from evalbeam.table import size_keys

    out = np.full(n, np.nan)
    for key in reversed(size_keys(every)):  # the first choice written last
        column = every[key]
        if _plain(column):
            out = np.where(np.isnan(column), out, column)
    return out


def _not_shown(keys: list, every: dict) -> list:
    """The values that hold no number, with why (every view says so)."""
    from evalbeam.values import not_flattened

    out = []
    for key, column in every.items():
        if _plain(column):
            continue
        for i, value in enumerate(column):
            why = None if value is None or type(value) is float else not_flattened(value)
            if why is not None:
                out.append({"slice": slice_name(keys[i]), "metric": label(key), "reason": why})
    return out


def _count_label(metrics: dict) -> str:
    some = next(iter(metrics.values()), {})
    if any(k.name == "weighted_example_count" for k in some):
        return "weighted example count"
    return "example count"


def _spec_members(keys: list, specs: list) -> tuple:
    """(names, indices of the slices each generates) of the run's slicing specs (a slice may
    be in several); slices no spec generates (a config not resolvable here, another writer's
    result) are listed under "other slices" rather than left out."""
    from evalbeam.cross_slices import spec_generates

    by_columns = {}
    for i, key in enumerate(keys):
        by_columns.setdefault(tuple(sorted(c for c, _ in key)), []).append(i)
    names, out, placed = [], [], np.zeros(len(keys), dtype=bool)
    for spec in specs:
        found = by_columns.get(tuple(sorted(spec.columns)), [])
        if spec.feature_values:
            found = [i for i in found if spec_generates(spec, keys[i])]
        names.append(spec.describe())
        out.append(found)
        placed[found] = True
    if not placed.all():
        names.append("other slices")
        out.append(np.flatnonzero(~placed).tolist())
    return names, out


def _key_columns(result, keys: list) -> dict:
    """{MetricKey: values per slice of ``keys``} (None where a slice has no such key): a
    float64 array (NaN for None) for a metric of numbers, else a list."""
    dicts = [result.metrics[s] for s in keys]
    found = set().union(*dicts) if dicts else set()
    return {key: _as_array([d.get(key) for d in dicts])
            for key in sorted(found, key=lambda k: k.sort_key())}


_PLAIN_TYPES = {float, type(None)}


def _as_array(column: list):
    """A column of numbers (None: NaN) as a float64 array; any other column as it is."""
    if not set(map(type, column)) <= _PLAIN_TYPES:
        return column
    if None in column:
        return np.array([math.nan if v is None else v for v in column])
    return np.array(column)


def _plain(column) -> bool:
    return isinstance(column, np.ndarray)


def _subset(every: dict, rows: list) -> dict:
    at = np.asarray(rows, dtype=np.int64)
    return {key: column[at] if _plain(column) else [column[i] for i in rows]
            for key, column in every.items()}


def _numbers(array: np.ndarray) -> list:
    """JSON numbers of an array: None for NaN and infinities."""
    return np.where(np.isfinite(array), array, None).tolist()


def _values(result, keys: list, key_columns: dict, columns: _Columns) -> tuple:
    """{metric id: {role: [value per slice]}} and the metrics' descriptions, ids sorted."""
    n = len(keys)
    values, meta = {}, {}
    thresholds, intervals = result.thresholds, result.intervals
    bounds_of = [intervals.get(s, {}) for s in keys]

    def column_of(mid, key, role):
        entry = values.get(mid)
        if entry is None:
            entry = values[mid] = {}
            meta[mid] = {"id": mid, "name": key.name, "weighted": key.example_weighted,
                         "roles": set(), "intervals": False}
        meta[mid]["roles"].add(role)
        return entry

    for key, column in key_columns.items():
        bounds = [b.get(key) for b in bounds_of]
        if _plain(column) and not any(isinstance(b[0], np.ndarray) for b in bounds if b):
            mid, role = columns.of(key, _PLAIN)
            entry = column_of(mid, key, role)
            entry[role] = _numbers(column)
            if any(bounds):
                prefix = "" if role == "value" else role + "_"
                entry[prefix + "lower"] = [_num(b[0]) if b else None for b in bounds]
                entry[prefix + "upper"] = [_num(b[1]) if b else None for b in bounds]
                meta[mid]["intervals"] |= role == "value"
            continue
        for i, value in enumerate(column):
            if value is None:
                continue
            for cell in flatten(value, thresholds.get(key), bounds[i]):
                mid, role = columns.of(key, cell)
                entry = column_of(mid, key, role)
                entry.setdefault(role, [None] * n)[i] = _num(cell.value)
                if cell.lower is not None:
                    prefix = "" if role == "value" else role + "_"
                    entry.setdefault(prefix + "lower", [None] * n)[i] = _num(cell.lower)
                    entry.setdefault(prefix + "upper", [None] * n)[i] = _num(cell.upper)
                    meta[mid]["intervals"] |= role == "value"
    described = []
    for mid in sorted(meta):
        m = meta[mid]
        m["roles"] = [r for r in ("value", "baseline", "diff") if r in m["roles"]]
        described.append(m)
    return {mid: values[mid] for mid in sorted(values)}, described


def _histogram_data(result, key_columns: dict, counts, columns: _Columns) -> dict:
    """Every slice of a spec larger than the table: counts and quantised values per metric
    (the value role; the histogram buckets the candidate's values)."""
    n = len(counts)
    found = {}
    thresholds = result.thresholds
    for key, column in key_columns.items():
        if _plain(column):
            mid, role = columns.of(key, _PLAIN)
            if role == "value":
                found[mid] = column
            continue
        for i, value in enumerate(column):
            for cell in flatten(value, thresholds.get(key)) if value is not None else ():
                mid, role = columns.of(key, cell)
                if role == "value":
                    found.setdefault(mid, np.full(n, np.nan))[i] = cell.value
    return {"count": _b64(np.asarray(counts, dtype="<f4")),
            "values": {mid: {"count": True} if _is_count(found[mid], counts)
                       else _quantise(found[mid]) for mid in sorted(found)}}


def _is_count(values: np.ndarray, counts: np.ndarray) -> bool:
    """A metric that is each slice's count (weighted_example_count): stored once."""
    return np.array_equal(values, counts, equal_nan=True)


_PLAIN = flatten(0.0)[0]


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _quantise(values: np.ndarray) -> dict:
    finite = np.isfinite(values)
    if not finite.any():
        return {"min": None, "max": None, "q": _b64(np.full(len(values), _NULL_Q, dtype="<u2"))}
    lo, hi = float(values[finite].min()), float(values[finite].max())
    span = hi - lo
    q = np.full(len(values), _NULL_Q, dtype="<u2")
    q[finite] = 0 if span == 0 else np.rint((values[finite] - lo) / span * (_NULL_Q - 1))
    return {"min": lo, "max": hi, "q": _b64(q)}


def _verdict(validation) -> str:
    if validation.missing_thresholds:
        return "NO THRESHOLDS"
    return "BLESSED" if validation.validation_ok else "NOT_BLESSED"


def _facts(result) -> dict:
    from google.protobuf import text_format

    from evalbeam.run_facts import model_text

    s = result.summary
    return {
        "data": s.get("data"), "rows_read": s.get("rows_read"), "rows_used": s.get("rows_used"),
        "rows_dropped": s.get("rows_dropped", {}), "slices": s.get("slices"),
        "omitted": s.get("slices_omitted_below_min_slice_size"),
        "min_slice_size": result.config.options.min_slice_size.value
        if result.config.options.HasField("min_slice_size") else None,
        "version": s.get("version"), "evaluated_at": s.get("evaluated_at"),
        "model_files": [model_text(m) for m in s.get("models", [])],
        "config": text_format.MessageToString(result.config),
    }


def _failure_where(entry) -> tuple:
    if entry.HasField("cross_slice_key"):
        pair = entry.cross_slice_key
        return None, (slice_name(slice_key_from_proto(pair.baseline_slice_key)) + " vs "
                      + slice_name(slice_key_from_proto(pair.comparison_slice_key)))
    key = slice_key_from_proto(entry.slice_key)
    return key, slice_name(key)


def _failures(result, table_index: dict, columns: _Columns) -> tuple:
    """The validation failures as rows, and {metric id: {slice index: message}} of the table
    cells they fail (for a metric with several values, the cells outside a value threshold's
    bounds; else every value of the failing key)."""
    from google.protobuf import json_format

    from evalbeam.validate import metric_label

    rows, fails = [], {}
    thresholds, intervals = result.thresholds, result.intervals
    for entry in result.validation.metric_validations_per_slice:
        slice_key, where = _failure_where(entry)
        for f in entry.failures:
            key = metric_key_from_proto(f.metric_key)
            threshold = json_format.MessageToDict(f.metric_threshold,
                                                  preserving_proto_field_name=True)
            value = (_json_value(metric_value_from_proto(f.metric_value))
                     if f.HasField("metric_value") else None)
            row = {"slice": where, "metric": metric_label(key), "threshold": threshold,
                   "value": value, "change": None, "gap": None,
                   "baseline": _json_value(metric_value_from_proto(f.baseline_metric_value))
                   if f.HasField("baseline_metric_value") else None,
                   "message": f.message}
            if slice_key is None:  # a cross-slice threshold checks the gap between slices
                row["value"], row["gap"] = None, value
            elif "change_threshold" in threshold:  # checks the diff; the candidate's value too
                candidate = result.metrics.get(slice_key, {}).get(
                    dataclasses.replace(key, is_diff=False))
                row["value"] = None if candidate is None else _json_value(candidate)
                row["change"] = value
            rows.append(row)
            if slice_key is None or slice_key not in table_index:
                continue
            at = table_index[slice_key]
            shown = dataclasses.replace(key, is_diff=False) if key.is_diff else key
            value = result.metrics.get(slice_key, {}).get(shown)
            if value is None:
                continue
            cells = flatten(value, thresholds.get(shown),
                            intervals.get(slice_key, {}).get(shown))
            bounds = threshold.get("value_threshold")
            if bounds is not None and len(cells) > 1:
                lo, hi = bounds.get("lower_bound", -math.inf), bounds.get("upper_bound", math.inf)
                cells = [c for c in cells if not lo <= c.value <= hi] or cells
            for cell in cells:
                mid, _ = columns.of(shown, cell)
                fails.setdefault(mid, {}).setdefault(str(at), []).append(f.message)
    return rows, {mid: {at: "; ".join(m) for at, m in by.items()} for mid, by in fails.items()}


def _json_value(value):
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, np.ndarray):
        return [_num(v) for v in value.ravel().tolist()]
    cells = flatten(value)
    return [_num(c.value) for c in cells] if cells else None


def _thresholds(result, keys: list, columns: _Columns) -> dict:
    """{metric id: [{"lower", "upper", "slices"}]} of the config's value thresholds: the alert
    lines of the time series (``slices``: the table slices a threshold applies to, or null
    for every slice). Only the candidate's values have a metric id of their own."""
    from evalbeam.over_time import value_thresholds
    from evalbeam.values import Cell

    out = {}
    for t in value_thresholds(result):
        mid, role = columns.of(t.key, Cell(math.nan, threshold=t.at))
        if role != "value":
            continue
        slices = None if t.every_slice else [i for i, s in enumerate(keys) if t.applies(s)]
        out.setdefault(mid, []).append(
            {"lower": _num(t.lower), "upper": _num(t.upper), "slices": slices})
    return out


def _plots(result, specs: list, keys: list, plot_slices: int, models: dict) -> dict:
    from evalbeam.report.plot_data import slice_plots

    plotted = result.plots
    chosen = []
    for spec in specs:
        chosen += [i for i in spec["table"] if keys[i] in plotted][:plot_slices]
    return {str(i): slice_plots(result, keys[i], models=models) for i in dict.fromkeys(chosen)}


def _cross_slices(result) -> list:
    """The gaps of the cross-slicing specs: baseline slice minus comparison slice."""
    thresholds = result.thresholds
    out = []
    for (base, other), metrics in result.cross_slice_metrics.items():
        for key in sorted(metrics, key=lambda k: k.sort_key()):
            for cell in flatten(metrics[key], thresholds.get(dataclasses.replace(key, is_diff=False))):
                out.append({"baseline": slice_name(base), "comparison": slice_name(other),
                            "metric": label(key, cell), "value": _num(cell.value)})
    return out


def _regressions(result, baseline):
    if baseline is None:
        return None
    from evalbeam import regressions

    try:
        records = regressions.from_result(result)
    except Exception:  # noqa: BLE001 - e.g. a custom metric's module not importable here
        return None
    for r in records:
        r["slice"] = slice_name(tuple(tuple(p) for p in r["slice"]))
    return records
