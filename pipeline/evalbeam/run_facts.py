"""What summary.json says about a run besides its numbers: when it was evaluated, its name,
the span of time its data covers, and where the data came from.

A data span is ``START..END``, each an ISO 8601 date (``2026-11-01``) or date and time
(``2026-11-01T06:00``, ``2026-11-01T06:00Z``, ``2026-11-01T06:00+01:00``), START <= END;
both ends belong to the span. summary.json keeps the ends as given
(``"data_span": {"start": ..., "end": ...}``). To compare spans, a date is its midnight and a
time without a zone is UTC.
"""
from __future__ import annotations

import datetime as dt

from evalbeam.errors import EvalbeamError

SPAN_FORM = "START..END of ISO dates or date-times, START <= END (e.g. 2026-11-01..2026-11-07)"


def moment(text: str) -> dt.datetime:
    """An ISO date or date-time as an aware UTC datetime (a date: its midnight UTC; no zone:
    UTC). ValueError when it is neither."""
    text = text.strip()
    if "T" not in text and " " not in text:
        day = dt.date.fromisoformat(text)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def parse_span(text, flag: str = "--data_span") -> tuple:
    """``(start, end)`` as written, from ``START..END`` (or a ``(start, end)`` pair); an
    EvalbeamError naming ``flag`` and the expected form otherwise."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        start, end = (str(t).strip() for t in text)
    elif isinstance(text, str) and text.count("..") == 1:
        start, end = (t.strip() for t in text.split(".."))
    else:
        raise EvalbeamError(f"{flag} {text!r}: expected {SPAN_FORM}")
    try:
        first, last = moment(start), moment(end)
    except ValueError:
        raise EvalbeamError(f"{flag} {text!r}: expected {SPAN_FORM}") from None
    if first > last:
        raise EvalbeamError(f"{flag} {text!r}: START is after END; expected {SPAN_FORM}")
    return start, end


def span_text(span) -> str:
    """``START..END`` of a ``(start, end)`` pair; "" for None."""
    return "" if span is None else f"{span[0]}..{span[1]}"


def check_run_name(name, flag: str = "--run_name"):
    """The run name, or None; an EvalbeamError when it is empty or not text."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise EvalbeamError(f"{flag} {name!r}: expected a non-empty name")
    return name


def now() -> str:
    """The current time, UTC, to the second: ``2026-12-01T20:31:07Z``."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_facts(run_name, data_span, data, models=None) -> dict:
    """summary.json's run facts (``evaluated_at`` is added when the run finishes):
    ``run_name`` and ``data_span`` when given, ``data``, the data as given, and ``models``,
    the models run in the pipeline (:meth:`evalbeam.inference.runs.ModelRun.fact`), when
    there are any."""
    out = {}
    if run_name is not None:
        out["run_name"] = run_name
    if data_span is not None:
        out["data_span"] = {"start": data_span[0], "end": data_span[1]}
    out["data"] = list(data)
    if models:
        out["models"] = [dict(m) for m in models]
    return out


def model_text(model: dict) -> str:
    """One model of summary.json's ``models`` in a line, every value it holds:
    ``model 'new': new.onnx (onnx, onnxruntime, classifier; input_name=X) ->
    evalbeam.prediction.new, 4 features (recorded in the model)`` (``the model: ...`` for the
    only, unnamed, model spec)."""
    spec = f"model {model['model_spec']!r}" if model.get("model_spec") else "the model"
    what = model.get("path") or (f"ModelHandler {model['handler']}" if model.get("handler")
                                 else "?")
    how = [model[k] for k in ("format", "loader", "kind") if model.get(k)]
    options = model.get("options") or {}
    inside = ", ".join(how) + ("; " if how and options else "") + \
        ", ".join(f"{k}={v}" for k, v in options.items())
    text = f"{spec}: {what}" + (f" ({inside})" if inside else "")
    if model.get("prediction_key"):
        text += f" -> {model['prediction_key']}"
    features = []
    if model.get("n_features") is not None:
        n = model["n_features"]
        features.append(f"{n} feature" + ("" if n == 1 else "s"))
    if model.get("features"):
        features.append(f"({model['features']})" if features else
                        f"features: {model['features']}")
    known = {"model_spec", "path", "handler", "format", "loader", "kind", "options",
             "prediction_key", "n_features", "features"}
    features += [f"{k}={v}" for k, v in model.items() if k not in known]
    return text + (", " + " ".join(features) if features else "")
