"""Metrics over time: run facts in summary.json, `evalbeam history` (order, CSV, JSON, table,
--fail_on_alert, errors) and `evalbeam.history(...)`, checked against scikit-learn and numpy on
the rows of each run."""
import csv
import datetime as dt
import io
import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

import evalbeam
from evalbeam.cli import main
from evalbeam.errors import EvalbeamError
from evalbeam.over_time import run_order, value_thresholds
from evalbeam.io.result import load_result
from helpers_io import write

CONFIG = """
model_specs { label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "AUC" threshold { value_threshold { lower_bound { value: 0.7 } } } }
  metrics { class_name: "MeanLabel"
            per_slice_thresholds { slicing_specs { feature_values { key: "country" value: "de" } }
                                   threshold { value_threshold { upper_bound { value: 0.51 } } } } }
  metrics { class_name: "Precision" config: '{"thresholds": [0.3, 0.6]}'
            threshold { value_threshold { lower_bound { value: 0.55 }
                                          upper_bound { value: 0.99 } } } }
  example_weights { weighted: true unweighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
# run name -> (data span, how strongly predictions follow labels); made in this (shuffled) order
RUNS = {"w3": ("2026-11-15..2026-11-21", 0.45), "w1": ("2026-11-01..2026-11-07", 0.5),
        "w5": ("2026-11-29T00:00Z..2026-12-05T23:59:59Z", 0.02),
        "w2": ("2026-11-08..2026-11-14", 0.08), "w4": ("2026-11-22..2026-11-28", 0.35)}
ORDER = ["w1", "w2", "w3", "w4", "w5"]
N = 2000


def _table(seed, shift):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N)
    return pa.table({
        "label": y,
        "prediction": np.clip(rng.beta(2, 3, N) + shift * y, 0, 1).astype(np.float32),
        "weight": rng.choice([0.5, 1.0, 2.0], N),
        "country": rng.choice(["us", "de", "fr"], N, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Five runs evaluated through the CLI, out of time order: {name: (dir, table)}, the config
    file, and when the evaluations began and ended."""
    root = tmp_path_factory.mktemp("history")
    cfg = root / "config.textproto"
    cfg.write_text(CONFIG)
    began = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = {}
    for i, (name, (span, shift)) in enumerate(RUNS.items()):
        table = _table(100 + i, shift)
        data = write(table, str(root / f"{name}.parquet"))
        run_dir = str(root / "runs" / name)
        code = main(["evaluate", "--config", str(cfg), "--data", data, "--output", run_dir,
                     "--run_name", name, "--data-span", span])
        assert code in (0, 1), name  # evaluated (validation may fail)
        out[name] = (run_dir, table, data)
    ended = dt.datetime.now(dt.timezone.utc)
    return out, str(cfg), began, ended


def _arrays(table, country=None):
    y, p, w = (table.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
    m = np.ones(len(y), bool) if country is None else \
        table.column("country").to_numpy(zero_copy_only=False) == country
    return y[m], p[m], w[m]


def _cli(capsys, *argv):
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def test_summary_has_the_run_facts(runs):
    found, _, began, ended = runs
    run_dir, _, data = found["w5"]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    assert summary["run_name"] == "w5"
    assert summary["data_span"] == {"start": "2026-11-29T00:00Z", "end": "2026-12-05T23:59:59Z"}
    assert summary["data"] == [data]
    assert summary["evaluated_at"].endswith("Z")
    when = dt.datetime.strptime(summary["evaluated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)
    assert began <= when <= ended
    result = load_result(run_dir)
    assert result.evaluated_at == when and result.evaluated_at.utcoffset() == dt.timedelta(0)
    assert result.run_name == "w5"
    assert result.data_span == ("2026-11-29T00:00Z", "2026-12-05T23:59:59Z")


def test_run_evaluation_records_facts_of_in_memory_rows(tmp_path):
    table = _table(7, 0.4)
    result = evalbeam.run_evaluation(CONFIG, table, str(tmp_path / "out"), run_name="mem",
                                     data_span=("2026-10-01", "2026-10-31T12:00"))
    assert result.run_name == "mem" and result.data_span == ("2026-10-01", "2026-10-31T12:00")
    assert result.summary["data"] == ["<in-memory pyarrow.Table>"]
    plain = evalbeam.run_evaluation(CONFIG, table, str(tmp_path / "plain"))
    assert plain.run_name is None and plain.data_span is None
    assert "run_name" not in plain.summary and "data_span" not in plain.summary
    assert isinstance(plain.evaluated_at, dt.datetime)
    with pytest.raises(EvalbeamError, match=r"data_span '2026-10-31\.\.2026-10-01': START is "
                                            r"after END; expected START\.\.END"):
        evalbeam.run_evaluation(CONFIG, table, str(tmp_path / "bad"),
                                data_span="2026-10-31..2026-10-01")
    assert not (tmp_path / "bad").exists()


def test_the_evaluate_transform_records_facts(tmp_path):
    import apache_beam as beam

    table = _table(8, 0.4)
    out = str(tmp_path / "out")
    with beam.Pipeline() as pipeline:
        _ = (pipeline | beam.Create(table.to_batches(max_chunksize=500))
             | evalbeam.Evaluate(CONFIG, out, run_name="in-beam",
                                 data_span="2026-09-01..2026-09-30"))
    result = load_result(out)
    assert result.run_name == "in-beam" and result.data_span == ("2026-09-01", "2026-09-30")
    assert result.summary["data"] == ["<user provided PCollection>"]
    assert result.summary["rows_read"] == N
    with pytest.raises(EvalbeamError,
                       match=r"^evalbeam error: data_span '2026-09': expected START\.\.END"):
        evalbeam.Evaluate(CONFIG, str(tmp_path / "o2"), data_span="2026-09")
    with pytest.raises(EvalbeamError, match="run_name '': expected a non-empty name"):
        evalbeam.Evaluate(CONFIG, str(tmp_path / "o3"), run_name="")


@pytest.mark.parametrize("span", ["2026-11-07..2026-11-01", "2026-11-01", "nov..dec",
                                  "2026-11-01..2026-11-07..2026-11-09", "2026-13-01..2026-13-02"])
def test_a_bad_data_span_is_one_line_exit_2(runs, capsys, tmp_path, span):
    found, cfg, _, _ = runs
    code, _, err = _cli(capsys, "evaluate", "--config", cfg, "--data", found["w1"][2],
                        "--output", str(tmp_path / "o"), "--data_span", span)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"evalbeam: error: --data_span {span!r}")
    assert "START..END" in lines[0]
    assert not (tmp_path / "o").exists()


def test_runs_are_ordered_by_data_span(runs, capsys):
    found, _, _, _ = runs
    dirs = [found[name][0] + "/" for name in RUNS]  # as a shell glob gives them, out of order
    code, out, _ = _cli(capsys, "history", *dirs, "--format", "json",
                        "--metric", "auc (unweighted)")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["run_name"] for r in rows] == ORDER
    assert [r["data_span"] for r in rows] == [RUNS[n][0] for n in ORDER]
    results = [load_result(found[name][0]) for name in RUNS]
    assert [results[i].run_name for i in run_order(results)] == ORDER


def test_runs_without_span_by_evaluation_time_and_without_either_last(runs, tmp_path, capsys):
    found, _, _, _ = runs
    copies = {}
    for name, (when, span) in {"old": ("2026-11-20T10:00:00Z", None),
                               "none": (None, None),
                               "spanned": (None, {"start": "2026-11-10", "end": "2026-11-11"}),
                               "earliest": ("2026-11-02T00:00:00Z", None)}.items():
        copy = tmp_path / name
        shutil.copytree(found["w1"][0], copy)
        summary = json.loads((copy / "summary.json").read_text())
        for key in ("evaluated_at", "run_name", "data_span"):
            summary.pop(key)
        if when:
            summary["evaluated_at"] = when
        if span:
            summary["data_span"] = span
        (copy / "summary.json").write_text(json.dumps(summary))
        copies[name] = load_result(str(copy))
    assert copies["none"].evaluated_at is None and copies["none"].run_name is None
    given = [copies[n] for n in ("none", "old", "spanned", "earliest")]
    order = [given[i].output_dir.rsplit("/", 1)[-1] for i in run_order(given)]
    assert order == ["earliest", "spanned", "old", "none"]
    code, out, _ = _cli(capsys, "history", *(r.output_dir for r in given), "--metric", "auc")
    lines = out.splitlines()
    assert code == 0 and lines[1].split()[:6] == ["run", "data", "span", "evaluated", "at", "auc"]
    rows = [line.split() for line in lines[2:6]]
    assert [r[0].rsplit("/", 1)[-1] for r in rows] == order
    assert rows[0][1] == "2026-11-02T00:00:00Z" and len(rows[0]) == 3  # no span
    assert rows[1][1] == "2026-11-10..2026-11-11" and len(rows[1]) == 3  # no evaluation time
    assert len(rows[3]) == 2  # neither


def _csv(out):
    return list(csv.DictReader(io.StringIO(out)))


def test_csv_rows_against_scikit_learn_and_numpy(runs, capsys):
    found, _, _, _ = runs
    dirs = [found[name][0] for name in RUNS]
    code, out, _ = _cli(capsys, "history", *dirs, "--format", "csv", "--metric", "auc",
                        "--metric", "mean_label", "--metric", "precision@0.6")
    assert code == 0
    rows = _csv(out)
    assert list(rows[0]) == ["run_dir", "run_name", "data_span", "evaluated_at", "slice",
                             "metric", "value", "lower_bound", "upper_bound", "violated",
                             "lower", "upper"]
    assert [r["run_name"] for r in rows] == [n for n in ORDER for _ in range(6)]
    for r in rows:
        run_dir, table, _ = found[r["run_name"]]
        y, p, w = _arrays(table)
        assert r["run_dir"] == run_dir and r["slice"] == "Overall"
        assert r["data_span"] == RUNS[r["run_name"]][0]
        assert r["evaluated_at"] == load_result(run_dir).summary["evaluated_at"]
        value = float(r["value"])
        if r["metric"].startswith("auc"):
            weights = w if r["metric"] == "auc" else None
            expected = roc_auc_score(y, p, sample_weight=weights)
            assert value == pytest.approx(expected, abs=2e-3)
            assert (r["lower_bound"], r["upper_bound"]) == ("0.7", "")
            assert r["violated"] == ("true" if expected < 0.7 else "false")
        elif r["metric"].startswith("mean_label"):
            weights = w if r["metric"] == "mean_label" else None
            assert value == pytest.approx(np.average(y, weights=weights), rel=1e-12)
            assert (r["lower_bound"], r["upper_bound"], r["violated"]) == ("", "", "false")
        else:
            assert r["metric"] in ("precision@0.6", "precision@0.6 (unweighted)")
            weights = w if r["metric"] == "precision@0.6" else np.ones_like(w)
            hit = p > 0.6
            expected = np.sum(weights * y * hit) / np.sum(weights * hit)
            assert value == pytest.approx(expected, rel=1e-9)
            assert (r["lower_bound"], r["upper_bound"]) == ("0.55", "0.99")
            assert r["violated"] == ("true" if not 0.55 <= expected <= 0.99 else "false")
    violated = {(r["run_name"], r["metric"]) for r in rows if r["violated"] == "true"}
    assert {("w2", "auc"), ("w5", "auc"), ("w2", "auc (unweighted)"),
            ("w5", "auc (unweighted)")} <= violated


def test_a_per_slice_threshold_bounds_only_its_slice(runs, capsys):
    found, _, _, _ = runs
    code, out, _ = _cli(capsys, "history", *(found[n][0] for n in RUNS), "--format", "csv",
                        "--metric", "mean_label", "--slice", "country=de",
                        "--slice", "country=fr")
    rows = _csv(out)
    assert code == 0 and {r["slice"] for r in rows} == {"country=de", "country=fr"}
    assert len(rows) == 5 * 2 * 2  # runs x slices x weightings
    for r in rows:
        y, _, w = _arrays(found[r["run_name"]][1], r["slice"].split("=")[1])
        expected = np.average(y, weights=w if r["metric"] == "mean_label" else None)
        assert float(r["value"]) == pytest.approx(expected, rel=1e-12)
        if r["slice"] == "country=de":
            assert (r["lower_bound"], r["upper_bound"]) == ("", "0.51")
            assert r["violated"] == ("true" if expected > 0.51 else "false")
        else:
            assert (r["lower_bound"], r["upper_bound"], r["violated"]) == ("", "", "false")


def test_fail_on_alert_checks_the_latest_run(runs, capsys):
    found, _, _, _ = runs
    dirs = [found[name][0] for name in RUNS]
    code, out, err = _cli(capsys, "history", *dirs, "--metric", "auc", "--fail_on_alert")
    y, p, w = _arrays(found["w5"][1])
    alerts = [line for line in err.splitlines() if line.startswith("evalbeam: alert: ")]
    assert code == 1 and len(alerts) == 2, err
    weighted = next(a for a in alerts if "auc = " in a)
    assert f"w5 ({found['w5'][0]})" in weighted and "in Overall" in weighted
    assert "below the lower bound 0.7" in weighted
    value = float(weighted.split("auc = ")[1].split()[0])
    assert value == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=2e-3)
    assert out.index("w1") < out.index("w2") < out.index("w5")  # the table, in time order
    # without w5 the latest is w4, which passes (w2, earlier, still violates)
    code, out, err = _cli(capsys, "history", *(found[n][0] for n in ("w2", "w4", "w1")),
                          "--metric", "auc", "--fail-on-alert")
    assert code == 0 and "alert" not in err
    assert " !" in out.splitlines()[[i for i, line in enumerate(out.splitlines())
                                     if line.startswith("w2 ")][0]]


def test_the_table_marks_violations_and_names_the_thresholds(runs, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    found, _, _, _ = runs
    code, out, _ = _cli(capsys, "history", *(found[n][0] for n in RUNS))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "slice Overall"
    header = lines[1].split()
    assert header[:4] == ["run", "data", "span", "auc"]  # every run has a span: no eval time
    body = {line.split()[0]: line for line in lines[2:7]}
    assert list(body) == ORDER
    assert body["w5"].count("!") >= 2 and "!" not in body["w1"]
    assert "  auc >= 0.7 (every slice)" in lines
    assert "  mean_label <= 0.51 (country=de)" in lines
    assert "  0.55 <= precision@0.3 <= 0.99 (every slice)" in lines


def test_metric_typo_is_a_did_you_mean(runs, capsys):
    found, _, _, _ = runs
    code, out, err = _cli(capsys, "history", found["w1"][0], "--metric", "acu")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "evalbeam: error: --metric acu: no such metric in the runs given; did you mean auc?"]
    code, _, err = _cli(capsys, "history", found["w1"][0], "--slice", "country=xx")
    assert code == 2 and "no slice has country = 'xx'" in err and len(err.splitlines()) == 1


def test_a_directory_that_is_not_a_result(runs, capsys, tmp_path):
    found, _, _, _ = runs
    code, _, err = _cli(capsys, "history", found["w1"][0], str(tmp_path))
    assert code == 2 and err.strip().splitlines() == [
        f"evalbeam: error: {tmp_path}: not an evalbeam output directory (no summary.json)"]


def test_a_directory_given_twice_is_read_once(runs, capsys):
    found, _, _, _ = runs
    one = found["w1"][0]
    code, out, err = _cli(capsys, "history", one, one + "/", found["w2"][0], "--format", "csv",
                          "--metric", "auc (unweighted)")
    assert code == 0 and [r["run_name"] for r in _csv(out)] == ["w1", "w2"]
    assert f"{one}/: given twice (as {one}); read once" in err


def test_python_history_dataframe(runs):
    found, _, _, _ = runs
    root = os.path.dirname(found["w1"][0])
    h = evalbeam.history(os.path.join(root, "*"), metric="auc")  # a glob, in name order
    frame = h.to_dataframe()
    assert list(frame["run_name"]) == [n for n in ORDER for _ in range(2)]
    assert str(frame["evaluated_at"].dt.tz) == "UTC"
    assert frame["evaluated_at"].iloc[0] == h.results[0].evaluated_at
    assert frame["violated"].dtype == bool and frame["lower_bound"].eq(0.7).all()
    assert frame["upper_bound"].isna().all() and frame["lower"].isna().all()
    for (name, weighted), row in frame.set_index(["run_name", "weighted"]).iterrows():
        y, p, w = _arrays(found[name][1])
        assert row["value"] == pytest.approx(
            roc_auc_score(y, p, sample_weight=w if weighted else None), abs=2e-3)
        assert row["violated"] == (row["value"] < 0.7)
    assert [(p.metric, p.slice, p.lower_bound) for p in h.latest_violations()] == [
        ("auc", "Overall", 0.7), ("auc (unweighted)", "Overall", 0.7)]
    assert h.latest.run_name == "w5"
    every = evalbeam.history([found[n][0] for n in RUNS], all_slices=True,
                             metric="example_count").to_dataframe()
    assert set(every["slice"]) == {"Overall", "country=us", "country=de", "country=fr"}
    w3 = every[every["run_name"] == "w3"]
    weighted = w3[w3["weighted"]].set_index("slice")["value"]
    counts = w3[~w3["weighted"]].set_index("slice")["value"]
    for country in ("us", "de", "fr"):
        _, _, w = _arrays(found["w3"][1], country)
        assert counts[f"country={country}"] == len(w)
        assert weighted[f"country={country}"] == pytest.approx(w.sum(), rel=1e-12)


def test_value_thresholds_of_a_result(runs):
    found, _, _, _ = runs
    result = load_result(found["w1"][0])
    thresholds = value_thresholds(result)
    assert thresholds.reason is None
    by_metric = {t.label: t for t in thresholds}
    assert set(by_metric) == {"auc", "auc (unweighted)", "mean_label", "mean_label (unweighted)",
                              "precision@0.3", "precision@0.6", "precision@0.3 (unweighted)",
                              "precision@0.6 (unweighted)"}
    auc = by_metric["auc"]
    assert (auc.lower, auc.upper) == (0.7, None) and auc.applies(()) and \
        auc.applies((("country", "de"),)) and auc.every_slice
    label = by_metric["mean_label"]
    assert (label.lower, label.upper) == (None, 0.51)
    assert label.applies((("country", "de"),)) and not label.applies(())
    assert not label.every_slice and label.slices == "country=de"
    assert not label.applies((("country", "fr"),))
    assert (by_metric["precision@0.6"].lower, by_metric["precision@0.6"].upper) == (0.55, 0.99)


def test_a_config_not_resolvable_here_fails_soft(runs, tmp_path, capsys):
    found, _, _, _ = runs
    copy = tmp_path / "custom"
    shutil.copytree(found["w5"][0], copy)
    run = json.loads((copy / "eval_config.json").read_text())
    run["evalConfig"]["metricsSpecs"][0]["metrics"].append(
        {"className": "Mine", "module": "no_such_module_here"})
    (copy / "eval_config.json").write_text(json.dumps(run))
    thresholds = value_thresholds(load_result(str(copy)))
    assert list(thresholds) == [] and "no_such_module_here" in thresholds.reason
    code, out, err = _cli(capsys, "history", found["w1"][0], str(copy), "--metric", "auc",
                          "--format", "csv")
    note = [line for line in err.splitlines() if line.startswith("evalbeam: note: ")]
    assert code == 0 and len(note) == 1, err
    assert note[0].startswith(f"evalbeam: note: {copy}: its config cannot be resolved here (")
    assert "no_such_module_here" in note[0] and "shown without threshold bounds" in note[0]
    latest = [r for r in _csv(out) if r["run_dir"] == str(copy)]
    assert latest and all(r["lower_bound"] == "" and r["violated"] == "false" for r in latest)
    code, _, err = _cli(capsys, "history", found["w1"][0], str(copy), "--fail_on_alert")
    assert code == 2 and "--fail_on_alert: the latest run's value thresholds cannot be read" in err


def test_repr_html_shows_the_report(runs):
    pytest.importorskip("evalbeam.report", reason="evalbeam.report is not in this tree yet")
    found, _, _, _ = runs
    import html
    import re

    shown = evalbeam.history([found[n][0] for n in RUNS])._repr_html_()
    assert shown.startswith("<iframe") and 'sandbox="allow-scripts' in shown
    page = html.unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))
    data = json.loads(re.search(r'<script type="application/json" id="evalbeam-data">(.*?)'
                                r'</script>', page, re.S).group(1))
    assert [data["runs"][i]["run_name"] for i in data["order"]] == ORDER
