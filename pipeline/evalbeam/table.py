"""A result as tables: what ``evalbeam show`` prints (text, ``--csv``, ``--json``) and
:meth:`EvalResult.to_dataframe`.

Every number the metrics hold is a row (:mod:`evalbeam.values`); a value with no number, or
a class-by-class matrix (too many columns for a table), is named in a note instead.
Slices come overall first, then each slicing spec's slices by weighted example count
(largest first), unless ``--sort`` orders them by a metric.
"""
from __future__ import annotations

import csv
import difflib
import functools
import json
import math
import re
import shutil
from dataclasses import dataclass, field

from evalbeam.errors import EvalbeamError
from evalbeam.keys import MetricKey, slice_name
from evalbeam.run_facts import model_text
from evalbeam.values import flatten, is_class_matrix, label, metric_name

_SIZE_NAMES = ("weighted_example_count", "example_count")


@dataclass
class Choice:
    """What to show: metrics (names or labels), slice filters, order and how many."""

    metrics: list = field(default_factory=list)
    slices: list = field(default_factory=list)  # "COLUMN=VALUE"
    sort: str | None = None
    top: int | None = None
    bottom: int | None = None


def _names(key: MetricKey, cell) -> set:
    """What ``--metric`` / ``--sort`` accept for a cell: its metric's name, its name with
    threshold and field, and its full label."""
    return {metric_name(key), metric_name(key) + cell.suffix(), label(key, cell)}


def _close(word: str, choices) -> str:
    close = difflib.get_close_matches(word, sorted(set(choices)), 4, 0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def column_of(key: MetricKey, cell) -> tuple:
    """What a cell is a value of, across slices: its key and its place in the value."""
    return key, cell.threshold, cell.field, cell.classes


class _Selection:
    """The result's rows after ``Choice``: slices in order, and the cells of each."""

    def __init__(self, result, choice: Choice):
        self.result = result
        rows = all_rows = list(result.rows())
        first = {}  # column -> one of its cells, columns in the order of the rows
        for _, key, cell in rows:
            first.setdefault(column_of(key, cell), cell)
        self.labels = {c: label(c[0], cell) for c, cell in first.items()}
        names = {c: _names(c[0], cell) for c, cell in first.items()}
        known = set().union(*names.values())
        for name in choice.metrics:
            if name not in known:
                raise EvalbeamError(f"--metric {name}: no such metric in {result.output_dir}"
                                    + _close(name, {n for n in known if "/" not in n}))
        if choice.metrics:
            wanted = set(choice.metrics)
            keep = {c for c, n in names.items() if wanted & n}
            rows = [r for r in rows if column_of(r[1], r[2]) in keep]
        self.rows = rows
        slices = _filter_slices(list(result.metrics), choice.slices)
        order = _spec_order(result, slices)
        head, rest = [s for s in order if s == ()], [s for s in order if s != ()]
        if choice.sort is not None:
            column = _sort_column(self.labels, names, choice.sort)
            ranking = {s: c.value for s, k, c in all_rows if column_of(k, c) == column}
        elif choice.top is not None or choice.bottom is not None:
            ranking = {s: _size(result.metrics[s]) for s in rest}
        if choice.sort is not None or choice.top is not None or choice.bottom is not None:
            rest.sort(key=lambda s: _descending(ranking.get(s)))
        if choice.top is not None or choice.bottom is not None:
            ranked = [s for s in rest if _known(ranking.get(s))]
            rest = ranked[:choice.top] if choice.top is not None else ranked[::-1][:choice.bottom]
        self.slices = head + rest
        self.total = len(result.metrics)

    def shown_rows(self):
        """The rows of the shown slices, in their order."""
        by_slice = {s: [] for s in self.slices}
        for row in self.rows:
            found = by_slice.get(row[0])
            if found is not None:
                found.append(row)
        for rows in by_slice.values():
            yield from rows


def _known(v) -> bool:
    return v is not None and not math.isnan(v)


def _descending(v):
    """Sort key: larger first, NaN and missing last."""
    return (0, -v) if _known(v) else (1, 0.0)


def _sort_column(labels: dict, names: dict, name: str) -> tuple:
    """The one column ``--sort`` names (by label, or by name when that is unique)."""
    by_label = {lab: c for c, lab in labels.items()}
    if name in by_label:
        return by_label[name]
    found = sorted((lab for c, lab in labels.items() if name in names[c]))
    if len(found) == 1:
        return by_label[found[0]]
    if found:
        raise EvalbeamError(f"--sort {name} names {len(found)} columns; pick one: "
                            + ", ".join(found))
    raise EvalbeamError(f"--sort {name}: no such metric" + _close(name, by_label))


def _size(metrics: dict):
    """The slice's weighted example count (else its example count), None without one."""
    value = metrics.get(_size_key(tuple(metrics)))
    return value if isinstance(value, float) else None


def size_keys(keys) -> list:
    """The keys that can stand for a slice's size, the best first: weighted example count,
    then example count; weighted before unweighted."""
    return sorted((k for k in keys if k.name in _SIZE_NAMES and not k.is_diff),
                  key=lambda k: (_SIZE_NAMES.index(k.name), not k.example_weighted,
                                 k.sort_key()))


@functools.lru_cache(maxsize=64)
def _size_key(keys: tuple):
    found = size_keys(keys)
    return found[0] if found else None


def _filter_slices(slices: list, filters: list) -> list:
    """The slices that fix every filtered column to one of its given values."""
    wanted = {}
    for text in filters:
        column, sep, value = text.partition("=")
        if not sep or not column:
            raise EvalbeamError(f"--slice expects COLUMN=VALUE, got {text!r}")
        wanted.setdefault(column, set()).add(value)
    values = {}
    for s in slices:
        for column, value in s:
            values.setdefault(column, set()).add(str(value))
    for column, given in wanted.items():
        if column not in values:
            raise EvalbeamError(f"--slice {column}=...: no slice has column {column!r}; "
                                f"columns: {', '.join(sorted(values)) or 'none (only Overall)'}"
                                + _close(column, values))
        missing = sorted(given - values[column])
        if missing:
            raise EvalbeamError(f"--slice {column}={missing[0]}: no slice has {column} = "
                                f"{missing[0]!r}" + _close(missing[0], values[column]))
    return [s for s in slices if all(c in (d := dict(s)) and str(d[c]) in v
                                     for c, v in wanted.items())]


def _spec_of(slice_key: tuple, specs: list):
    """Index of the first spec that makes ``slice_key`` (None if none does)."""
    columns = sorted(c for c, _ in slice_key)
    for i, spec in enumerate(specs):
        if sorted(spec.columns) == columns and all(
                (c, v) in slice_key for c, v in spec.feature_values):
            return i
    return None


def _spec_order(result, slices: list) -> list:
    """Overall first, then each spec's slices (config order), largest weighted count first."""
    specs = result.slice_specs
    plain = {}  # columns -> spec index, for specs without fixed values
    for i, spec in reversed(list(enumerate(specs))):
        if not spec.feature_values:
            plain[tuple(sorted(spec.columns))] = i
    fixed = any(spec.feature_values for spec in specs)
    groups = {}
    for s in slices:
        columns = tuple(c for c, _ in s)  # sorted already
        spec = _spec_of(s, specs) if fixed else plain.get(columns)
        group = (0, spec, ()) if spec is not None else (1, len(columns), columns)
        groups.setdefault(group, []).append(s)
    out = []
    for group in sorted(groups):
        members = groups[group]
        members.sort(key=lambda s: (_descending(_size(result.metrics[s])), slice_name(s)))
        out += members
    return [s for s in out if s == ()] + [s for s in out if s != ()]


def _spec_counts(result) -> list:
    """``(spec name, slices written)`` per slicing spec, from the metrics themselves (for an
    output directory whose summary.json has no ``specs`` list)."""
    specs = result.slice_specs
    counts = [0] * len(specs)
    for s in result.metrics:
        i = _spec_of(s, specs)
        if i is not None:
            counts[i] += 1
    return [(spec.describe(), n) for spec, n in zip(specs, counts)]


def number(v) -> str:
    """Counts as integers, other values to 4 significant digits (large ones in full)."""
    if v is None:
        return ""
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if 1e4 <= abs(v) < 1e15:
        return f"{v:.0f}"
    return f"{v:.4g}"


def _cell_text(cell) -> str:
    text = number(cell.value)
    if cell.lower is not None:
        text += f" [{number(cell.lower)}, {number(cell.upper)}]"
    return text


def _grid(selection):
    """(columns in order, {slice: {column: cell}}, notes) of the text and CSV tables."""
    columns, grid, skipped = {}, {}, {}  # columns: an ordered set
    for s, key, cell in selection.shown_rows():
        if is_class_matrix(selection.result.metrics[s][key]):
            skipped.setdefault(label(key), set()).add(s)
            continue
        column = selection.labels[column_of(key, cell)]
        columns[column] = None
        grid.setdefault(s, {})[column] = cell
    columns = list(columns)
    notes = [f"{name} in {len(found)} slice(s): a class-by-class matrix per threshold "
             "(`show --json` lists its entries)" for name, found in skipped.items()]
    return columns, grid, notes


def _not_flattened_notes(result, slices: set) -> list:
    """What is left out everywhere: the values of the shown slices that hold no number."""
    found = {}
    for s, key, reason in result.not_flattened():
        if s in slices:
            found.setdefault((label(key), reason), []).append(s)
    return [f"{name} in {len(where)} slice(s): {reason}"
            for (name, reason), where in sorted(found.items())]


def render_text(result, choice: Choice, out, width: int | None = None) -> None:
    """The table of values per slice, split into several tables of columns when wider than
    ``width`` (default: the terminal's), then the run's counts per spec and notes."""
    selection = _Selection(result, choice)
    columns, grid, notes = _grid(selection)
    names = {s: slice_name(s) for s in selection.slices}
    texts = {s: {c: _cell_text(cell) for c, cell in grid.get(s, {}).items()}
             for s in selection.slices}
    first = max([len("slice")] + [len(n) for n in names.values()])
    width = width or shutil.get_terminal_size().columns
    room = max(width - first - 2, 8)  # the widest a column may be beside the slice names
    headers = {c: _wrap(c, room) for c in columns}
    widths = {c: max([len(h) for h in headers[c]] + [len(t.get(c, "")) for t in texts.values()])
              for c in columns}
    parts, part, used = [], [], first
    for c in columns:
        if part and used + 2 + widths[c] > width:
            parts.append(part)
            part, used = [], first
        part.append(c)
        used += 2 + widths[c]
    parts.append(part)
    for i, part in enumerate(parts):
        if i:
            print(file=out)
        height = max([len(headers[c]) for c in part] + [1])
        for line in range(height):
            cells = [(([""] * height + headers[c])[-height:][line]).rjust(widths[c])
                     for c in part]
            print("  ".join([("slice" if line == height - 1 else "").ljust(first)] + cells)
                  .rstrip(), file=out)
        for s in selection.slices:
            print("  ".join([names[s].ljust(first)] + [texts[s].get(c, "").rjust(widths[c])
                                                       for c in part]).rstrip(), file=out)
    if len(selection.slices) < selection.total:
        print(f"\n{len(selection.slices)} of {selection.total} slices shown", file=out)
    s = result.summary
    print(f"\nrows read {s['rows_read']}, used {s['rows_used']}, dropped "
          f"{sum(s['rows_dropped'].values())} {s['rows_dropped'] or ''}".rstrip(), file=out)
    for line in _spec_lines(result):
        print(line, file=out)
    for model in s.get("models", []):
        print(model_text(model), file=out)
    for note in notes + _not_flattened_notes(result, set(selection.slices)):
        print(f"not in the table: {note}", file=out)


def _count(n, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _wrap(text: str, room: int) -> list:
    """A column's name as header lines at most ``room`` wide where it can be broken (after
    ``/`` or ``.``, before ``@`` or `` (``); one line when it fits."""
    if len(text) <= room:
        return [text]
    lines = [""]
    for token in re.split(r"(?<=[/.])|(?=@)|(?= \()", text):
        if lines[-1] and len(lines[-1]) + len(token) > room:
            lines.append(token.lstrip())
        else:
            lines[-1] += token
    return lines


def _spec_lines(result) -> list:
    specs = result.summary.get("specs")
    if not specs:
        return [f"{name}: {_count(n, 'slice')}" for name, n in _spec_counts(result)]
    lines = []
    for spec in specs:
        line = f"{spec.get('spec', '?')}: {_count(spec.get('slices', '?'), 'slice')}"
        extra = []
        if spec.get("omitted_below_min_slice_size"):
            extra.append(f"and {spec['omitted_below_min_slice_size']} omitted below min_slice_size")
        if spec.get("rows_with_null_slicing_feature"):
            extra.append(f"{spec['rows_with_null_slicing_feature']} row(s) in none: a slicing "
                         "feature was null")
        if spec.get("plot_slices_cut"):
            extra.append(f"plots for {spec.get('plot_slices', '?')}, "
                         f"{spec['plot_slices_cut']} cut by max_plot_slices")
        lines.append(line + (" (" + "; ".join(extra) + ")" if extra else ""))
    return lines


def render_csv(result, choice: Choice, out, err) -> None:
    """The table as CSV: a row per slice, a column per value (full precision) and, for values
    with an interval, ``<column> lower`` and ``<column> upper``; what it leaves out is named
    on ``err``."""
    selection = _Selection(result, choice)
    columns, grid, notes = _grid(selection)
    for note in notes + _not_flattened_notes(result, set(selection.slices)):
        print(f"evalbeam: note: not in the CSV: {note}", file=err)
    bounded = {c for row in grid.values() for c, cell in row.items() if cell.lower is not None}
    header = ["slice"]
    for c in columns:
        header += [c] + ([f"{c} lower", f"{c} upper"] if c in bounded else [])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for s in selection.slices:
        row = [slice_name(s)]
        for c in columns:
            cell = grid.get(s, {}).get(c)
            row.append("" if cell is None else repr(cell.value))
            if c in bounded:
                row += ["", ""] if cell is None or cell.lower is None else [
                    repr(cell.lower), repr(cell.upper)]
        writer.writerow(row)


def _json_text(value: float) -> str:
    """A number as JSON; NaN and infinities as null."""
    return repr(float(value)) if math.isfinite(value) else "null"


def _json_fields(key: MetricKey, cell) -> str:
    """The JSON text of a number's fields after its slice, up to ``"value": ``."""
    fields = {"model": key.model_name, "output": key.output_name,
              "sub_key": str(key.sub_key or ""), "aggregation": key.aggregation_type or "",
              "metric": metric_name(key), "weighted": key.example_weighted}
    if cell.threshold is not None:
        fields["threshold"] = cell.threshold
    if cell.field is not None:
        fields["field"] = cell.field
    if cell.classes is not None:
        fields["actual_class_id"], fields["predicted_class_id"] = cell.classes
    return ", " + json.dumps(fields)[1:-1] + ', "value": '


def _json_line(head: str, middle: str, cell) -> str:
    line = head + middle + _json_text(cell.value)
    if cell.lower is not None:
        line += f', "lower": {_json_text(cell.lower)}, "upper": {_json_text(cell.upper)}'
    return line + "}\n"


def render_json(result, choice: Choice, out, err) -> None:
    """One JSON object per number: slice, model, output, sub_key, aggregation, metric,
    weighted, value (NaN and infinities as null), with lower / upper when an interval was
    computed, threshold for a value at one of several thresholds, field and
    actual_class_id / predicted_class_id for a matrix's entries. Then the cross-slice gaps,
    ``"cross_slice": [baseline slice, comparison slice]`` in place of ``"slice"``. Values
    without a number are named on ``err``."""
    selection = _Selection(result, choice)
    slices, middles = {}, {}  # JSON text of each slice's and each column's fields, made once
    for s, key, cell in selection.shown_rows():
        head = slices.get(s)
        if head is None:
            head = slices[s] = '{"slice": ' + json.dumps([[c, v] for c, v in s])
        column = column_of(key, cell)
        middle = middles.get(column)
        if middle is None:
            middle = middles[column] = _json_fields(key, cell)
        out.write(_json_line(head, middle, cell))
    shown = set(selection.slices)
    for (b, c), values in result.cross_slice_metrics.items():
        if b not in shown and c not in shown:
            continue
        head = '{"cross_slice": ' + json.dumps([[[k, v] for k, v in b], [[k, v] for k, v in c]])
        for key in sorted(values, key=MetricKey.sort_key):
            for cell in flatten(values[key], result.thresholds.get(key)):
                if not choice.metrics or set(choice.metrics) & _names(key, cell):
                    out.write(_json_line(head, _json_fields(key, cell), cell))
    for note in _not_flattened_notes(result, shown):
        print(f"evalbeam: note: not listed: {note}", file=err)


def dataframe(result):
    """See :meth:`evalbeam.io.result.EvalResult.to_dataframe`."""
    import pandas as pd

    rows = list(result.rows())
    features = sorted({c for s, _, _ in rows for c, _ in s})
    fixed = ["slice", "model", "output", "sub_key", "aggregation", "metric", "weighted",
             "threshold", "value", "lower", "upper"]
    extra = [name for name, present in (
        ("field", any(c.field is not None for _, _, c in rows)),
        ("actual_class_id", any(c.classes is not None for _, _, c in rows))) if present]
    if "actual_class_id" in extra:
        extra.append("predicted_class_id")
    names = {f: f if f not in fixed + extra else f"slice:{f}" for f in features}
    nan = float("nan")
    data = {names[f]: [dict(s).get(f) for s, _, _ in rows] for f in features}
    data.update({
        "slice": [slice_name(s) for s, _, _ in rows],
        "model": [k.model_name for _, k, _ in rows],
        "output": [k.output_name for _, k, _ in rows],
        "sub_key": [str(k.sub_key or "") for _, k, _ in rows],
        "aggregation": [k.aggregation_type or "" for _, k, _ in rows],
        "metric": [metric_name(k) for _, k, _ in rows],
        "weighted": [k.example_weighted for _, k, _ in rows],
        "threshold": [nan if c.threshold is None else c.threshold for _, _, c in rows],
        "value": [c.value for _, _, c in rows],
        "lower": [nan if c.lower is None else c.lower for _, _, c in rows],
        "upper": [nan if c.upper is None else c.upper for _, _, c in rows]})
    if "field" in extra:
        data["field"] = [c.field for _, _, c in rows]
    if "actual_class_id" in extra:
        for i, name in enumerate(("actual_class_id", "predicted_class_id")):
            data[name] = pd.array([None if c.classes is None else c.classes[i]
                                   for _, _, c in rows], dtype="Int64")
    frame = pd.DataFrame(data, columns=[names[f] for f in features] + fixed + extra)
    for f in features:
        frame[names[f]] = _typed(pd, data[names[f]])
    return frame


def _typed(pd, values: list):
    """A slicing feature's column in the data's type: Int64 / float64 / string, nullable."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64")
    if present and all(isinstance(v, (int, float)) for v in present):
        return pd.array([float("nan") if v is None else float(v) for v in values],
                        dtype="float64")
    if present and all(isinstance(v, str) for v in present):
        return pd.array(values, dtype="string")
    return pd.array(values, dtype=object)
