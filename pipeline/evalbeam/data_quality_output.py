"""What ``evalbeam show`` prints of a run's data quality: a digest of the statistics per
feature, the schema anomalies, the drift against the baseline with each threshold, and the
failed checks (text); every statistic, anomaly, drift measurement and failure (JSON lines).

The text shows the overall slice (with ``--slice``: the slices it picks); the JSON every
slice (with ``--slice``: the picked ones)."""
from __future__ import annotations

import json

from evalbeam.io.data_quality import (anomaly_rows, by_slice, drift_rows, feature_digest,
                                      not_described, plain)

NONE = "no statistics computed (run with --statistics)"
MAX_FEATURES = 50  # features listed per slice in the text digest; the rest are counted


def _picked(result, quality: list, slices: list) -> list:
    """The slices of ``quality`` that ``--slice`` picks (every one without it; then datasets
    named after no slice of the results too)."""
    if not slices:
        return quality
    from evalbeam.table import _filter_slices

    keys = set(_filter_slices([q.key for q in quality if not isinstance(q.key, str)], slices))
    return [q for q in quality if q.key in keys]


def _n(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value)}"
    return f"{value:.4g}"


def _percent(fraction) -> str:
    return "" if fraction is None else f"{100 * fraction:.3g}%"


def _unique(d: dict) -> str:
    """A feature's distinct count, marked ``~`` when it is an estimate."""
    return ("~" if d.get("unique_estimated") else "") + _n(d["unique"])


def _top(d: dict) -> str:
    top = d.get("top_values")
    if not top:
        return ""
    value, count = top[0]
    return f"{value} ({_n(count)})"


def _table(header: list, rows: list, right_from: int, out, indent="  ") -> None:
    widths = [max([len(h)] + [len(r[c]) for r in rows]) for c, h in enumerate(header)]

    def line(cells):
        return indent + "  ".join(t.ljust(w) if c < right_from else t.rjust(w)
                                  for c, (t, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(header), file=out)
    for r in rows:
        print(line(r), file=out)


def render_text(result, slices: list, out) -> None:
    """The data-quality lines of ``show``: per slice shown (the overall one; with ``--slice``
    those it picks), the statistics digest, the anomalies and the drift; or that the run
    computed none."""
    quality = by_slice(result)
    if not quality:
        print(f"\ndata quality: {NONE}", file=out)
        return
    shown = _picked(result, quality, slices) if slices else [q for q in quality if q.key == ()]
    if not shown and not slices:
        shown = quality[:1]
    computed = result.statistics is not None
    for q in shown:
        _slice_text(q, out, computed)
    if not_described(result.summary):
        print(f"  {not_described(result.summary)}", file=out)
    if not shown:
        print("\ndata quality: nothing recorded for the slices picked by --slice", file=out)
    others = len(quality) - len(shown)
    if others > 0:
        print(f"data quality of {others} more slice(s): show --slice COLUMN=VALUE, show --json, "
              "Python: evalbeam.load_result(DIR).statistics_frame()", file=out)


def _slice_text(q, out, computed: bool) -> None:
    stats = q.statistics
    if stats is None:
        print(f"\ndata statistics of {q.name}: " +
              ("none recorded for this slice" if computed else NONE), file=out)
    else:
        head = f"\ndata statistics of {q.name} ({_n(stats.num_examples)} examples"
        if q.baseline is not None:
            head += f"; baseline {_n(q.baseline.num_examples)} examples"
        print(head + "):", file=out)
        rows, estimated = [], False
        for feature in stats.features[:MAX_FEATURES]:
            d = feature_digest(feature, stats.num_examples)
            numeric = d["stats"] == "num"
            estimated |= bool(d["unique_estimated"])
            rows.append([d["feature"], d["type"], _n(d["count"]), _percent(d["missing_fraction"]),
                         _n(d["mean"]), _n(d["std_dev"]), _n(d["min"]), _n(d["max"]),
                         "" if numeric else _unique(d), _top(d)])
        if rows:
            _table(["feature", "type", "count", "missing", "mean", "std_dev", "min", "max",
                    "unique", "top value"], rows, 2, out)
            if estimated:
                print("  ~: estimated (more distinct values than are kept exactly; "
                      "show --json has how)", file=out)
        else:
            print("  no features", file=out)
        if len(stats.features) > MAX_FEATURES:
            print(f"  ... and {len(stats.features) - MAX_FEATURES} more feature(s) (show --json)",
                  file=out)
    if q.anomalies is None:
        if q.failures:
            print(f"schema anomalies and drift of {q.name}: not recorded", file=out)
        return
    anomalies = anomaly_rows(q.anomalies)
    if anomalies or q.anomalies.data_missing:
        print(f"schema anomalies of {q.name}:", file=out)
        if q.anomalies.data_missing:
            print("  the slice has no data", file=out)
        for a in anomalies:
            print(f"  {a['feature'] or '(dataset)'}: {a['severity']} {a['short_description']}: "
                  f"{a['description']}".rstrip(": "), file=out)
    else:
        print(f"schema anomalies of {q.name}: none", file=out)
    drift = drift_rows(q.anomalies)
    if drift:
        print(f"drift against the baseline of {q.name}:", file=out)
        rows = []
        for m in drift:
            failed = q.failed(m["feature"], "DRIFT", m["measure"])
            rows.append([m["feature"], m["measure"] + (" (skew)" if m["skew"] else ""),
                         _n(m["value"]),
                         "none" if m["threshold"] is None else _n(m["threshold"]),
                         "FAILS" if failed else ""])
        _table(["feature", "measure", "value", "threshold", ""], rows, 2, out)
        if any(m["threshold"] is None for m in drift):
            print("  threshold none: measured and reported, never a failure", file=out)


def failure_lines(result) -> list:
    """One line per failed data-quality check: ``slice: feature: KIND measure value
    (threshold t): message``."""
    out = []
    for f in result.data_quality_failures:
        from evalbeam.keys import slice_name

        out.append(f"{slice_name(f.slice_key)}: data quality {f.kind} {f.measure} on "
                   f"{f.feature}: value {_n(f.value)}, threshold {_n(f.threshold)}: {f.message}")
    return out


def render_json(result, slices: list, out, err) -> None:
    """The data-quality JSON lines of ``show --json``, each with ``"data_quality"`` naming
    what it is, then ``"slice"`` as the metrics' lines spell it (``null`` for a dataset named
    after no slice of the results; ``"dataset"`` is TFDV's name):

    - ``"statistics"``: one per slice and feature (``"baseline": true`` for the baseline
      data's): ``num_examples``, ``weighted_num_examples``, the digest's numbers (``count``,
      ``missing``, ``missing_fraction``, ``mean``, ``std_dev``, ``min``, ``median``, ``max``,
      ``zeros``, ``unique``, ``avg_length``, values per example; ``histogram``,
      ``quantiles``, ``top_values``) and ``"proto"``, the whole FeatureNameStatistics;
    - ``"anomaly"``: one per anomalous feature of a slice (severity, descriptions, reasons);
      ``"data_missing"`` for a slice without data;
    - ``"drift"``: one per drift measurement (``feature``, ``measure``, ``value``,
      ``threshold``: null when none, ``failed``);
    - ``"failure"``: one per failed check (``feature``, ``kind``, ``measure``, ``value``,
      ``threshold``, ``message``).

    A run with anomalies or failures but without statistics says so on ``err``; a run
    without any data quality prints the metrics' lines only."""
    quality = _picked(result, by_slice(result), slices)
    if result.statistics is None and quality:  # (a run without any: its lines as before)
        print(f"evalbeam: note: {NONE}", file=err)

    def write(kind, q, fields):
        where = None if isinstance(q.key, str) else [[c, v] for c, v in q.key]
        line = {"data_quality": kind, "slice": where, "dataset": q.dataset, **fields}
        out.write(json.dumps(line, allow_nan=False) + "\n")

    for q in quality:
        for baseline, stats in ((False, q.statistics), (True, q.baseline)):
            if stats is None:
                continue
            for feature in stats.features:
                d = feature_digest(feature, stats.num_examples)
                write("statistics", q, {
                    "baseline": baseline, "num_examples": stats.num_examples,
                    "weighted_num_examples": _num(stats.weighted_num_examples), **d,
                    "proto": plain(feature)})
        if q.anomalies is not None:
            if q.anomalies.data_missing:
                write("data_missing", q, {})
            for a in anomaly_rows(q.anomalies):
                write("anomaly", q, a)
            for m in drift_rows(q.anomalies):
                write("drift", q, {**m, "failed": bool(q.failed(m["feature"], "DRIFT",
                                                                  m["measure"]))})
        for f in q.failures:
            fields = f.as_json()
            del fields["slice"]
            write("failure", q, fields)


def _num(v):
    import math

    v = float(v)
    return v if math.isfinite(v) else None
