"""The report page's data and file: the numbers it embeds are the result's (checked against
``show --json`` and numpy by hand), user data cannot break out of the page, the page limits
keep every slice in the histogram, and the report never replaces a file it did not write."""
import base64
import html
import json
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam import cli
from evalbeam.io.result import load_result
from evalbeam.report import build_report
from evalbeam.report.data import page_data

HOSTILE = ['<img src=x onerror="window.__pwned=1">', "a</script><script>window.__pwned=2</script>",
           "x&amp;<!--", "\u2028line"]
CONFIG = """
model_specs { name: "candidate" label_key: "label" prediction_key: "p_new" example_weight_key: "w" }
model_specs { name: "baseline" label_key: "label" prediction_key: "p_old" example_weight_key: "w"
              is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" }
  metrics { class_name: "AUC" threshold { value_threshold { lower_bound { value: 0.8 } } } }
  metrics { class_name: "Precision" config: '{"thresholds": [0.3, 0.6]}' }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
slicing_specs { feature_keys: ["country", "device"] }
options { compute_confidence_intervals { value: true } }
"""


def _data(path, n=6000, seed=3):
    rng = np.random.default_rng(seed)
    countries = np.array(["us", "de", "fr"] + HOSTILE)
    country = countries[rng.choice(len(countries), n, p=[.3, .2, .1, .1, .1, .1, .1])]
    label = rng.integers(0, 2, n)
    t = pa.table({"label": label,
                  "p_new": np.clip(0.3 * label + 0.7 * rng.random(n), 0, 1),
                  "p_old": np.clip(0.15 * label + 0.85 * rng.random(n), 0, 1),
                  "w": rng.choice([1.0, 2.0], n), "country": country,
                  "device": rng.choice(["mobile", "desktop"], n)})
    pq.write_table(t, path)
    return t


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    table = _data(str(d / "data.parquet"))
    (d / "cfg.textproto").write_text(CONFIG)
    code = cli.main(["evaluate", "--config", str(d / "cfg.textproto"), "--data",
                     str(d / "data.parquet"), "--output", str(d / "out")])
    assert code in (0, 1)
    return d, table


def _embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="evalbeam-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _show_json(out_dir, capsys) -> list:
    capsys.readouterr()
    assert cli.main(["show", str(out_dir), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_evaluate_writes_the_page_and_says_where(run, capsys):
    d, _ = run
    page = (d / "out" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    data = _embedded(page)
    assert data["runs"][0]["dir"] == str(d / "out")  # not the staging directory it came from
    summary = json.loads((d / "out" / "summary.json").read_text())
    assert "report.html" in summary["files"] and summary["warnings"] == []
    # one file, nothing fetched: no URL a browser would load, and a policy forbidding any
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:|//)', page)
    assert "default-src 'none'" in page
    capsys.readouterr()
    assert cli.main(["evaluate", "--config", str(d / "cfg.textproto"), "--data",
                     str(d / "data.parquet"), "--output", str(d / "out")]) in (0, 1)  # re-run
    assert f"report: {d / 'out' / 'report.html'}" in capsys.readouterr().out


def test_the_page_holds_every_number_show_prints(run, capsys):
    d, _ = run
    rows = _show_json(d / "out", capsys)
    r = _embedded((d / "out" / "report.html").read_text())["runs"][0]
    index = {name: i for i, name in enumerate(r["slices"]["name"])}
    assert len(index) == len({tuple(map(tuple, row["slice"])) for row in rows})
    role = {"candidate": "value", "baseline": "baseline"}
    checked = 0
    for row in rows:
        name = ", ".join(f"{c}={v}" for c, v in row["slice"]) or "Overall"
        kind = "diff" if row["metric"].endswith("_diff") else role[row["model"]]
        metric = row["metric"][:-len("_diff")] if kind == "diff" else row["metric"]
        metric += "@" + format(row["threshold"], "g") if "threshold" in row else ""
        metric += "" if row["weighted"] else " (unweighted)"
        values = r["values"][metric]
        got = values[kind][index[name]]
        assert got == pytest.approx(row["value"], rel=1e-12, abs=1e-15), (name, metric, kind)
        if "lower" in row:
            prefix = "" if kind == "value" else kind + "_"
            assert values[prefix + "lower"][index[name]] == pytest.approx(row["lower"], rel=1e-12)
            assert values[prefix + "upper"][index[name]] == pytest.approx(row["upper"], rel=1e-12)
        checked += 1
    assert checked == len(rows) > 100


def test_counts_specs_and_failed_cells_by_hand(run):
    d, table = run
    r = _embedded((d / "out" / "report.html").read_text())["runs"][0]
    country, w = table.column("country").to_numpy(zero_copy_only=False), table.column("w").to_numpy()
    names = r["slices"]["name"]
    spec = next(s for s in r["specs"] if s["name"] == "country")
    assert sorted(names[i] for i in spec["table"]) == sorted(f"country={c}" for c in set(country))
    counts = [r["slices"]["count"][i] for i in spec["table"]]
    assert counts == sorted(counts, reverse=True)  # largest first
    for i in spec["table"]:
        value = names[i][len("country="):]
        assert r["slices"]["count"][i] == pytest.approx(w[country == value].sum(), rel=1e-12)
    auc = r["values"]["auc"]["value"]
    failing = {int(i) for i in r["fails"].get("auc", {})}
    assert failing == {i for i, v in enumerate(auc) if v < 0.8}
    assert failing, "the data should make some slice fail auc >= 0.8"
    assert all("0.8" in m for m in r["fails"]["auc"].values())
    assert r["verdict"] == "NOT_BLESSED"
    assert len(r["failures"]) == len(failing)
    assert r["models"] == {"candidate": "candidate", "baseline": "baseline"}
    meta = {m["id"]: m for m in r["metrics"]}
    assert meta["auc"]["roles"] == ["value", "baseline", "diff"] and meta["auc"]["intervals"]
    assert {"precision@0.3", "precision@0.6"} <= set(meta)
    # the candidate's value threshold, for the time series' alert line
    assert r["thresholds"] == {"auc": [{"lower": 0.8, "upper": None, "slices": None}]}


def test_no_user_value_can_close_the_json_element_or_add_markup(run):
    d, _ = run
    page = (d / "out" / "report.html").read_text()
    start = page.index('<script type="application/json" id="evalbeam-data">')
    body = page[start:page.index("</script>", start)]
    for bad in ("<", ">", "&", "\u2028"):
        assert bad not in body[len('<script type="application/json" id="evalbeam-data">'):]
    for value in HOSTILE:
        assert value not in page  # only ever escaped
    names = _embedded(page)["runs"][0]["slices"]["name"]
    assert {f"country={v}" for v in HOSTILE} <= set(names)  # and given back exactly


def test_a_spec_beyond_the_page_limit_keeps_every_slice_in_the_histogram(run):
    d, table = run
    result = load_result(str(d / "out"))
    r = page_data([result], table_slices=3)["runs"][0]
    spec = next(s for s in r["specs"] if s["name"] == "country x device")
    assert spec["slices"] == 14 and len(spec["table"]) == 3 and spec["cut"] == 11
    # the kept ones are the largest
    names = r["slices"]["name"]
    kept = {names[i] for i in spec["table"]}
    everything = {k: m for k, m in result.metrics.items() if len(k) == 2}
    wec = {k: next(v for key, v in m.items() if key.name == "weighted_example_count"
                   and key.model_name == "candidate") for k, m in everything.items()}
    largest = sorted(wec, key=lambda k: -wec[k])[:3]
    assert kept == {", ".join(f"{c}={v}" for c, v in k) for k in largest}
    hist = spec["hist"]
    counts = np.frombuffer(base64.b64decode(hist["count"]), "<f4")
    assert sorted(counts.tolist()) == pytest.approx(sorted(wec.values()), rel=1e-6)
    assert hist["values"]["weighted_example_count"] == {"count": True}  # stored once
    assert "q" in hist["values"]["mean_label"]  # values of their own: quantised
    q = hist["values"]["auc"]
    codes = np.frombuffer(base64.b64decode(q["q"]), "<u2")
    decoded = q["min"] + codes / 65534 * (q["max"] - q["min"])
    aucs = {k: next(v for key, v in m.items() if key.name == "auc"
                    and key.model_name == "candidate") for k, m in everything.items()}
    # the histogram's slices come in the spec's order (largest first), so compare as sets
    assert sorted(decoded.tolist()) == pytest.approx(
        sorted(aucs.values()), abs=(q["max"] - q["min"]) / 65534)


def test_report_command_replaces_only_its_own_pages(run, capsys, tmp_path):
    d, _ = run
    out = tmp_path / "r.html"
    assert cli.main(["report", str(d / "out"), "-o", str(out)]) == 0
    assert _embedded(out.read_text())["runs"][0]["dir"] == str(d / "out")
    assert cli.main(["report", str(d / "out"), str(d / "out") + "/", "-o", str(out)]) == 0
    assert len(_embedded(out.read_text())["runs"]) == 1  # the same run once
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    capsys.readouterr()
    assert cli.main(["report", str(d / "out"), "-o", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "is not an evalbeam report" in err and len(err.strip().splitlines()) == 1
    assert mine.read_text() == "<html>my notes</html>"
    assert cli.main(["report", str(d / "out"), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert cli.main(["report", str(d / "out"), "-o", str(tmp_path / "no" / "r.html")]) == 2
    assert cli.main(["report", str(tmp_path), "-o", str(out)]) == 2
    assert "not an evalbeam output directory" in capsys.readouterr().err


def test_no_report_flag_and_the_notebook_view(run, tmp_path):
    d, _ = run
    assert cli.main(["evaluate", "--config", str(d / "cfg.textproto"), "--data",
                     str(d / "data.parquet"), "--output", str(tmp_path / "o"),
                     "--no_report"]) in (0, 1)
    assert not os.path.exists(tmp_path / "o" / "report.html")
    frame = load_result(str(tmp_path / "o"))._repr_html_()
    assert frame.startswith("<iframe") and 'sandbox="allow-scripts' in frame
    page = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert _embedded(page)["runs"][0]["dir"] == str(tmp_path / "o")
    assert build_report(load_result(str(tmp_path / "o"))) .count('id="evalbeam-data"') == 1


def test_a_failed_change_threshold_shows_value_baseline_and_change(run, tmp_path, capsys):
    d, _ = run
    swapped = CONFIG.replace('prediction_key: "p_new"', 'prediction_key: "TMP"').replace(
        'prediction_key: "p_old"', 'prediction_key: "p_new"').replace('"TMP"', '"p_old"')
    swapped = swapped.replace(
        "threshold { value_threshold { lower_bound { value: 0.8 } } }",
        "threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: -0.01 } } }")
    (tmp_path / "cfg.textproto").write_text(swapped)
    assert cli.main(["evaluate", "--config", str(tmp_path / "cfg.textproto"), "--data",
                     str(d / "data.parquet"), "--output", str(tmp_path / "o")]) == 1
    rows = _show_json(tmp_path / "o", capsys)
    overall = {(r["metric"], r["model"]): r["value"] for r in rows
               if r["slice"] == [] and r["metric"] in ("auc", "auc_diff") and r["weighted"]}
    r = _embedded((tmp_path / "o" / "report.html").read_text())["runs"][0]
    f = next(f for f in r["failures"] if f["slice"] == "Overall")
    assert f["value"] == pytest.approx(overall[("auc", "candidate")], rel=1e-12)
    assert f["baseline"] == pytest.approx(overall[("auc", "baseline")], rel=1e-12)
    assert f["change"] == pytest.approx(overall[("auc_diff", "candidate")], rel=1e-12)
    assert f["change"] == pytest.approx(f["value"] - f["baseline"], rel=1e-9)
    assert f["threshold"]["change_threshold"]["direction"] == "HIGHER_IS_BETTER"
    assert r["regressions"] and r["regressions"][0]["metric"] == "auc"


def test_cross_slice_gaps_are_on_the_page(run, tmp_path, capsys):
    d, _ = run
    (tmp_path / "cfg.textproto").write_text(
        CONFIG + 'cross_slicing_specs { baseline_spec {} slicing_specs { feature_keys: ["country"] } }\n')
    cli.main(["evaluate", "--config", str(tmp_path / "cfg.textproto"), "--data",
              str(d / "data.parquet"), "--output", str(tmp_path / "o")])
    rows = [r for r in _show_json(tmp_path / "o", capsys) if "cross_slice" in r]
    gaps = _embedded((tmp_path / "o" / "report.html").read_text())["runs"][0]["cross_slices"]
    assert len(gaps) == len(rows) > 0
    by_pair = {(g["baseline"], g["comparison"], g["metric"]): g["value"] for g in gaps}
    for row in rows:
        base, other = (", ".join(f"{c}={v}" for c, v in s) or "Overall" for s in row["cross_slice"])
        name = (row["model"] + "/" if row["model"] else "") + row["metric"]
        name += "@" + format(row["threshold"], "g") if "threshold" in row else ""
        name += "" if row["weighted"] else " (unweighted)"
        assert by_pair[(base, other, name)] == pytest.approx(row["value"], rel=1e-12)


def test_slices_of_no_known_spec_are_still_on_the_page(run):
    d, _ = run
    result = load_result(str(d / "out"))
    result._thresholds, result._slice_specs = {}, []  # as when the config cannot be resolved
    r = page_data([result])["runs"][0]
    assert [s["name"] for s in r["specs"]] == ["other slices"]
    assert len(r["specs"][0]["table"]) == len(result.metrics) == 1 + 7 + 14


def test_a_flag_typo_in_a_reading_command_is_named(run, capsys, tmp_path):
    d, _ = run
    for argv, typo, meant in (
            (["report", str(d / "out"), "--outptu", str(tmp_path / "r.html")], "--outptu", "--output"),
            (["show", str(d / "out"), "--metirc", "auc"], "--metirc", "--metric"),
            (["history", str(d / "out"), "--fail-on-alrt"], "--fail-on-alrt", "--fail-on-alert")):
        capsys.readouterr()
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert f"unknown flag {typo} (did you mean {meant}?)" in err and "\n" not in err
    assert not (tmp_path / "r.html").exists()
