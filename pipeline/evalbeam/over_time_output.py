"""What ``evalbeam history`` prints: a :class:`~evalbeam.over_time.History` as aligned text
(a table per slice: a row per run, a column per metric), CSV or JSON lines (a row per run x
slice x value), and the alert lines of ``--fail_on_alert``."""
from __future__ import annotations

import csv
import json
import math
import shutil

from evalbeam.keys import slice_name
from evalbeam.table import _cell_text, _wrap

CSV_COLUMNS = ("run_dir", "run_name", "data_span", "evaluated_at", "slice", "metric", "value",
               "lower_bound", "upper_bound", "violated", "lower", "upper")
MARK = "!"  # after a value that violates a value threshold


def _run_labels(h) -> list:
    """Each run's name in the table: its run name, else its directory (both when two runs
    share a name)."""
    names = [r.run_name or r.output_dir for r in h.results]
    return [f"{n} ({r.output_dir})" if r.run_name and names.count(n) > 1 else n
            for n, r in zip(names, h.results)]


def _parts(stub: int, widths: dict, width: int) -> list:
    """The columns in groups that fit ``width`` beside the stub columns."""
    parts, part, used = [], [], stub
    for c, w in widths.items():
        if part and used + 2 + w > width:
            parts.append(part)
            part, used = [], stub
        part.append(c)
        used += 2 + w
    return parts + [part]


def _print_rows(header: list, rows: list, right: int, out) -> None:
    """Aligned lines: ``header`` (a list of lines per column) then ``rows``; the first
    ``right`` columns are left-aligned, the others right-aligned."""
    widths = [max([len(line) for line in header[c]] + [len(r[c]) for r in rows])
              for c in range(len(header))]
    height = max(len(h) for h in header)

    def line(cells):
        return "  ".join(t.ljust(w) if c < right else t.rjust(w)
                         for c, (t, w) in enumerate(zip(cells, widths))).rstrip()

    for i in range(height):
        print(line([(([""] * height + h)[-height:][i]) for h in header]), file=out)
    for r in rows:
        print(line(r), file=out)


def render_text(h, out, width: int | None = None) -> None:
    """A table per slice, a row per run (time order: its name, data span, and evaluation time
    when some run has no data span), a column per metric (values to 4 significant digits, an
    interval after its value, ``!`` after one that violates a value threshold), split into
    several tables when wider than ``width`` (default: the terminal's); then the latest run's
    thresholds and violations."""
    width = width or shutil.get_terminal_size().columns
    labels = _run_labels(h)
    spans = [bool(r.data_span) for r in h.results]
    # the evaluation time orders runs without a data span: shown when there are such runs
    stub_header = ["run"] + (["data span"] if any(spans) else []) + (
        ["evaluated at"] if not all(spans) else [])
    stubs = [[labels[i]] + ([h.facts(i)["data_span"]] if any(spans) else [])
             + ([h.facts(i)["evaluated_at"]] if not all(spans) else [])
             for i in range(len(h.results))]
    slices, grid = {}, {}
    for p in h.points:
        slices.setdefault(p.slice_key, {})[p.metric] = None
        text = _cell_text(p.cell) + (f" {MARK}" if p.violated else "  ")
        grid[(p.slice_key, p.run, p.metric)] = text
    if not h.points:
        print("no values to show", file=out)
    for n, (s, metrics) in enumerate(slices.items()):
        runs = sorted({p.run for p in h.points if p.slice_key == s})
        stub = sum(max([len(c)] + [len(stubs[i][j]) for i in runs]) + 2
                   for j, c in enumerate(stub_header))
        room = max(width - stub, 8)
        widths = {m: max([len(m) if len(m) <= room else room] +
                         [len(grid.get((s, i, m), "")) for i in runs]) for m in metrics}
        print(("\n" if n else "") + f"slice {slice_name(s)}", file=out)
        for k, part in enumerate(_parts(stub, widths, width)):
            if k:
                print(file=out)
            header = [[c] for c in stub_header] + [_wrap(m, room) for m in part]
            rows = [stubs[i] + [grid.get((s, i, m), "") for m in part] for i in runs]
            _print_rows(header, rows, len(stub_header), out)
    _threshold_lines(h, out)


def _threshold_lines(h, out) -> None:
    latest = h.thresholds[-1]
    used = [t for t in latest if any(t.checks(p.key, p.cell) for p in h.points)]
    if used:
        print(f"\nvalue thresholds of the latest run ({MARK} marks a value violating its "
              "run's thresholds):", file=out)
        for t in used:
            print(f"  {t.describe()} ({t.slices})", file=out)
    found = h.latest_violations()
    if found:
        print(f"the latest run violates {len(found)}:", file=out)
        for line in alert_lines(h, found):
            print(f"  {line}", file=out)


def alert_lines(h, points) -> list:
    """One line per violating value: metric, slice, value, bound."""
    out = []
    for p in points:
        r = h.results[p.run]
        run = f"{r.run_name} ({r.output_dir})" if r.run_name else r.output_dir
        if math.isnan(p.value):
            why = "is NaN"
        elif p.lower_bound is not None and p.value < p.lower_bound:
            why = f"is below the lower bound {p.lower_bound:g}"
        else:
            why = f"is above the upper bound {p.upper_bound:g}"
        out.append(f"{run}: {p.metric} = {p.value:.6g} in {p.slice} {why}")
    return out


def _number(v) -> str:
    return "" if v is None else repr(float(v))


def render_csv(h, out) -> None:
    """A row per run x slice x value (runs in time order), :data:`CSV_COLUMNS`, values at full
    precision, "" for a missing bound or interval."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    facts = [h.facts(i) for i in range(len(h.results))]
    for p in h.points:
        f = facts[p.run]
        writer.writerow([f["run_dir"], f["run_name"], f["data_span"], f["evaluated_at"],
                         p.slice, p.metric, repr(p.value), _number(p.lower_bound),
                         _number(p.upper_bound), "true" if p.violated else "false",
                         _number(p.cell.lower), _number(p.cell.upper)])


def _json_number(v):
    return None if v is None or not math.isfinite(v) else v


def render_json(h, out) -> None:
    """One JSON object per run x slice x value: the CSV's fields (``data_span``,
    ``run_name`` and ``evaluated_at`` null when not recorded; NaN values null) and
    ``slice_key`` (``[[column, value], ...]``, as ``show --json``'s ``slice``)."""
    for p in h.points:
        r = h.results[p.run]
        row = {"run_dir": r.output_dir, "run_name": r.run_name,
               "data_span": h.facts(p.run)["data_span"] or None,
               "evaluated_at": r.summary.get("evaluated_at"), "slice": p.slice,
               "slice_key": [[c, v] for c, v in p.slice_key], "metric": p.metric,
               "value": _json_number(p.value), "lower_bound": p.lower_bound,
               "upper_bound": p.upper_bound, "violated": p.violated}
        if p.cell.lower is not None:
            row["lower"], row["upper"] = _json_number(p.cell.lower), _json_number(p.cell.upper)
        out.write(json.dumps(row) + "\n")
