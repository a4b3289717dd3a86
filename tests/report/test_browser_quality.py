"""The report's Data quality tab in headless Chromium: what it shows, read from the DOM, against
the protos written into the run (``dq_artifacts``). Every page must log no console error and
request nothing (the ``page`` fixture checks after each test)."""
import os

import pytest

import chromium
import dq_artifacts
from evalbeam import cli

wait = chromium.wait


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dq")
    r = dq_artifacts.full_run(str(folder))
    r["report"] = str(folder / "report.html")
    assert cli.main(["report", r["dir"], "-o", r["report"]]) == 0
    return r


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    out = dq_artifacts.evaluated(str(tmp_path_factory.mktemp("plain")), dq_artifacts.rows(500, 1))
    return os.path.join(out, "report.html")


def tab(d, name):
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, f'nav#tabs button[data-tab="{name}"]').click()
    wait(d, lambda d: d.execute_script(
        "return [...document.querySelectorAll('[id^=\"panel-\"]')].filter(p => !p.hidden)"
        ".map(p => p.id)") == [f"panel-{name}"], f"the {name} tab")


def choose(d, select_id, value):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(d.find_element(By.ID, select_id)).select_by_value(value)


_DRIFT = """
return [...document.querySelectorAll('#dq-drift tbody tr')].map(tr => ({
  feature: tr.dataset.feature, measure: tr.dataset.measure, failed: tr.classList.contains('fail'),
  value: Number(tr.querySelector('td[data-col=value]').dataset.value),
  threshold: tr.querySelector('td[data-col=threshold]').dataset.value === undefined ? null :
    Number(tr.querySelector('td[data-col=threshold]').dataset.value),
  threshold_text: tr.querySelector('td[data-col=threshold]').textContent,
  status: tr.querySelector('td[data-col=status]').textContent}));
"""

_STATS = """
return [...document.querySelectorAll('#dq-stats tbody tr')].map(tr => ({
  feature: tr.dataset.feature, role: tr.dataset.role,
  failed: tr.querySelector('td[data-col=feature]').classList.contains('fail'),
  name: tr.querySelector('td[data-col=feature]').textContent,
  cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map(td =>
    [td.dataset.col, td.hasAttribute('data-value') ? Number(td.dataset.value) : td.textContent]))}));
"""


def drift(d):
    return d.execute_script(_DRIFT)


def _measures(anomalies):
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    name = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name
    return [(i.path.step[0], name(i.drift_measurements[0].type), i.drift_measurements[0].value,
             i.drift_measurements[0].threshold or None) for i in anomalies.drift_skew_info]


def _failing(run, key):
    return {f.feature for f in run["failures"] if f.kind == 2 and tuple(
        (e.column, e.bytes_value.decode()) for e in f.slice_key.single_slice_keys) == key}


def test_the_tab_shows_drift_with_thresholds_and_marks_failing_features(page, run):
    chromium.open_page(page, run["report"])
    tab(page, "quality")
    assert page.execute_script("return document.getElementById('dq-slice').value") == "Overall"
    rows = drift(page)
    assert [(r["feature"], r["measure"], r["value"], r["threshold"]) for r in rows] == \
        _measures(run["anomalies"])
    assert {r["feature"] for r in rows if r["failed"]} == _failing(run, ()) == \
        {"country", "prediction"}
    for r in rows:
        assert r["status"] == ("fails" if r["failed"] else "" if r["threshold"] is None else "ok")
        if r["threshold"] is None:
            assert r["threshold_text"] == "none (reported only)"
        else:
            assert r["threshold_text"] == page.execute_script("return EB.fmt(arguments[0])",
                                                              r["threshold"])
    failures = page.execute_script(
        "return [...document.querySelectorAll('#dq-failures tbody tr')].map(tr => "
        "[...tr.children].map(td => td.textContent))")
    assert [row[-1] for row in failures] == [f.message for f in run["failures"][:3]]


def test_statistics_per_feature_with_the_baseline_beside(page, run):
    chromium.open_page(page, chromium.url(run["report"]) + "#tab=quality")
    wait(page, lambda d: d.execute_script("return !!document.getElementById('dq-stats')"),
         "the statistics table")
    rows = page.execute_script(_STATS)
    overall, base = run["statistics"].datasets[0], run["baseline"].datasets[0]
    assert [(r["feature"], r["role"]) for r in rows] == [
        (f.name, role) for f in overall.features for role in ("current", "baseline")]
    for r in rows:
        f = next(x for x in (overall if r["role"] == "current" else base).features
                 if x.name == r["feature"])
        kind = f.WhichOneof("stats")
        common = getattr(f, kind).common_stats
        assert r["cells"]["count"] == common.num_non_missing
        assert r["cells"]["missing"] == common.num_missing
        if kind == "num_stats":
            n = f.num_stats
            assert [r["cells"][c] for c in ("mean", "std_dev", "min", "median", "max", "zeros")] \
                == [n.mean, n.std_dev, n.min, n.median, n.max, n.num_zeros]
        else:
            s = f.string_stats
            assert r["cells"]["unique"] == s.unique
            assert r["cells"]["top_values"].startswith(f"{s.top_values[0].value} (")
        assert r["failed"] == (r["role"] == "current" and r["feature"] in
                               {"country", "prediction"})
    assert rows[0]["name"] == "prediction" and rows[1]["name"].strip() == "baseline"
    # a chart per feature: histograms of numbers, top-value bars of strings
    wait(page, lambda d: d.execute_script(
        "return document.querySelectorAll('#dq-charts .dq-chart svg').length") ==
        len(overall.features), "a chart per feature")
    captions = page.execute_script(
        "return [...document.querySelectorAll('#dq-charts figcaption')].map(c => c.textContent)")
    assert captions == [f.name for f in overall.features]
    assert dq_artifacts.HOSTILE_FEATURE in captions  # a name with markup, as text
    assert page.execute_script("return typeof window.__pwned") == "undefined"
    assert page.execute_script("return document.querySelectorAll('img, [onerror]').length") == 0


def test_switching_slice_is_shared_with_the_page(page, run):
    chromium.open_page(page, run["report"])
    tab(page, "quality")
    choose(page, "dq-slice", "country=fr")
    key = (("country", "fr"),)
    wait(page, lambda d: [(r["feature"], r["value"]) for r in drift(d)] == [
        (f, v) for f, _, v, _ in _measures(run["slice_anomalies"][key])], "the drift of fr")
    rows = drift(page)
    assert {r["feature"] for r in rows if r["failed"]} == _failing(run, key) == {"prediction"}
    assert [r["threshold"] for r in rows] == [t for *_, t in _measures(run["slice_anomalies"][key])]
    anomalies = page.execute_script(
        "return [...document.querySelectorAll('#dq-anomalies tbody tr')].map(tr => "
        "[tr.dataset.feature, tr.children[3].textContent])")
    assert anomalies == [["age", "Unexpectedly large value: 69."]]
    stats = page.execute_script(_STATS)
    fr = run["statistics"].datasets[[d.name for d in run["statistics"].datasets].index("country_fr")]
    assert stats[0]["cells"]["count"] == fr.features[0].num_stats.common_stats.num_non_missing
    assert "slice=country%3Dfr" in page.current_url
    tab(page, "plots")  # the page's one selected slice
    assert page.execute_script("return document.getElementById('plot-slice').value") == "country=fr"
    # a deep link opens on the same slice
    chromium.open_in_new_tab(page, page.current_url.replace("tab=plots", "tab=quality"))
    wait(page, lambda d: d.execute_script(
        "return (document.getElementById('dq-slice') || {}).value") == "country=fr",
        "the linked slice")
    choose(page, "dq-slice", "country=de")
    wait(page, lambda d: {r["feature"] for r in drift(d) if r["failed"]} == {"device"},
         "de's failing device drift")


def test_validation_lists_every_data_quality_failure(page, run):
    chromium.open_page(page, run["report"])
    assert page.find_element("id", "verdict").text == "NOT_BLESSED"
    tab(page, "validation")
    rows = page.execute_script(
        "return [...document.querySelectorAll('#dq-all-failures tbody tr')].map(tr => "
        "[...tr.children].map(td => td.textContent))")
    names = {(): "Overall", (("country", "de"),): "country=de", (("country", "fr"),): "country=fr"}
    assert [(r[0], r[1], r[2], r[3], r[-1]) for r in rows] == [
        (names[tuple((e.column, e.bytes_value.decode()) for e in f.slice_key.single_slice_keys)],
         f.feature, "ANOMALY" if f.kind == 1 else "DRIFT", f.measure, f.message)
        for f in run["failures"]]
    tab(page, "facts")
    assert "6 failed check(s)" in page.find_element("id", "facts").text


def test_a_run_without_data_quality_has_no_tab_and_says_so(page, plain_run):
    chromium.open_page(page, plain_run)
    tabs = page.execute_script(
        "return [...document.querySelectorAll('nav#tabs button[data-tab]')]"
        ".map(b => b.dataset.tab)")
    assert "quality" not in tabs
    tab(page, "facts")
    assert "no statistics computed (run with --statistics)" in \
        page.find_element("id", "facts").text


def test_a_report_of_several_runs_shows_each_runs_data_quality(page, run, plain_run, tmp_path):
    both = str(tmp_path / "both.html")
    assert cli.main(["report", run["dir"], os.path.dirname(plain_run), "-o", both]) == 0
    chromium.open_page(page, both)
    options = page.execute_script(
        "return [...document.querySelectorAll('#run option')].map(o => o.value)")
    assert sorted(options) == ["0", "1"]
    choose(page, "run", "0")
    wait(page, lambda d: d.execute_script("return EB.state.run") == 0, "the first run")
    tab(page, "quality")
    wait(page, lambda d: len(drift(d)) == 4, "the drift of the run with data quality")
    choose(page, "run", "1")
    wait(page, lambda d: d.execute_script(
        "return (document.getElementById('dq-none') || {}).textContent") ==
        "This run has no data quality: no statistics computed (run with --statistics).",
        "the run without data quality saying so")


def test_statistics_alone_many_features_charts_drawn_on_request(page, run, tmp_path):
    import shutil

    d = tmp_path / "statistics_only"
    shutil.copytree(run["dir"], d)
    for name in ("statistics.tfrecord", "baseline_statistics.tfrecord", "anomalies.pbtxt",
                 "slice_anomalies.tfrecord"):
        dq_artifacts.remove(str(d), name)
    frame = run["frame"].copy()
    for i in range(30):
        frame[f"f{i:02d}"] = frame["age"] * (i + 1)
    stats = dq_artifacts.statistics_list(frame, [f"f{i:02d}" for i in range(30)], [])
    dq_artifacts.write(str(d), statistics=stats)
    report = str(tmp_path / "report.html")
    assert cli.main(["report", str(d), "-o", report]) == 0
    chromium.open_page(page, chromium.url(report) + "#tab=quality")
    wait(page, lambda d: d.execute_script(
        "return document.querySelectorAll('#dq-charts .dq-chart svg').length") == 24,
        "the first 24 charts")
    assert page.find_element("id", "dq-drift-none").text == "Not measured for this slice."
    assert page.find_element("id", "dq-anomalies-none").text == "No schema checked for this slice."
    assert "no baseline statistics" in page.find_element("id", "dq-stats-note").text
    rows = page.execute_script(_STATS)
    assert [r["feature"] for r in rows] == [f"f{i:02d}" for i in range(30)]
    assert {r["role"] for r in rows} == {"current"}
    page.find_element("id", "dq-more-charts").click()
    wait(page, lambda d: d.execute_script(
        "return document.querySelectorAll('#dq-charts .dq-chart svg').length") == 30,
        "all 30 charts")
