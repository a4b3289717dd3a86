"""The HTML report in headless Chromium: what the page shows, read from its DOM.

The runs are made the user's way (``evalbeam evaluate``, ``evalbeam report``) once per module
on small generated data whose slice values include markup and a ``</script>``; the expected
numbers come from ``evalbeam show --json``. Every test's pages must log no console error and
request nothing over the network (the ``page`` fixture checks after each test).
"""
import contextlib
import datetime
import io
import json
import math
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import chromium
from evalbeam import cli

# slice values that would run script if the page inserted them as markup
PWN_IMG = '<img src=x onerror="window.__pwned=1">'
ALERT_IMG = "<img src=x onerror=alert(1)>"
CLOSE_SCRIPT = "</script><script>window.__pwned=2</script>"
COMMENT = "<!--<script>window.__pwned=3</script>"
HOSTILE = [PWN_IMG, ALERT_IMG, CLOSE_SCRIPT, COMMENT]
AUC_FLOOR = 0.75

CONFIG = f"""
model_specs {{ label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }}
metrics_specs {{
  metrics {{ class_name: "ExampleCount" }}
  metrics {{ class_name: "WeightedExampleCount" }}
  metrics {{ class_name: "AUC"
             threshold {{ value_threshold {{ lower_bound {{ value: {AUC_FLOOR} }} }} }} }}
  metrics {{ class_name: "Precision" config: '"thresholds": [0.3, 0.5]' }}
  metrics {{ class_name: "MeanLabel" }}
  metrics {{ class_name: "BinaryAccuracy" }}
  metrics {{ class_name: "CalibrationPlot" }}
  metrics {{ class_name: "ConfusionMatrixPlot" }}
  example_weights {{ weighted: true unweighted: true }}
}}
slicing_specs {{}}
slicing_specs {{ feature_keys: ["country"] }}
slicing_specs {{ feature_keys: ["country", "device"] }}
slicing_specs {{ feature_keys: ["age"] }}
"""


def predictions(n, seed, noise=1.0):
    """B1-like columns; countries skewed, four of them markup; ``noise`` blurs the scores."""
    rng = np.random.default_rng(seed)
    countries = ["us", "de", "fr", "jp", "br"] + HOSTILE
    p = np.array([30, 20, 15, 10, 9, 4, 4, 4, 4], float)
    z = rng.normal(size=n)
    label = (z + rng.normal(size=n) > 0.4).astype(np.int64)
    score = 1 / (1 + np.exp(-(1.3 * z - 0.5 + rng.normal(scale=noise, size=n))))
    return pa.table({
        "label": label, "prediction": score.astype(np.float32),
        "weight": rng.choice([0.5, 1.0, 2.0], size=n, p=[0.2, 0.6, 0.2]).astype(np.float32),
        "country": rng.choice(countries, size=n, p=p / p.sum()),
        "device": rng.choice(["mobile", "desktop", "tablet"], size=n, p=[0.6, 0.3, 0.1]),
        "age": rng.integers(18, 60, size=n)})


def evaluate(folder, table, config=CONFIG, flags=()):
    """``evalbeam evaluate`` of ``table`` into ``folder``/result; the result directory."""
    os.makedirs(folder, exist_ok=True)
    data, cfg, out = (os.path.join(folder, n) for n in ("data.parquet", "cfg.textproto", "result"))
    pq.write_table(table, data)
    with open(cfg, "w") as f:
        f.write(config)
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["evaluate", "--config", cfg, "--data", data, "--output", out, *flags])
    assert code in (0, 1), f"evalbeam evaluate exited {code}"
    return out


def column_label(row: dict) -> str:
    """The table's column of one ``show --json`` value: metric, @threshold, (unweighted)."""
    name = row["metric"] + (f".{row['field']}" if row.get("field") else "")
    if "threshold" in row:
        t = float(row["threshold"])
        name += "@" + (str(int(t)) if t.is_integer() else repr(t))
    return name + ("" if row["weighted"] else " (unweighted)")


def slice_label(pairs) -> str:
    return ", ".join(f"{c}={v}" for c, v in pairs) or "Overall"


def shown(result_dir) -> dict:
    """{spec name: {slice name: {column: value}}} from ``evalbeam show --json``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["show", result_dir, "--json"]) == 0
    specs = {}
    for line in out.getvalue().splitlines():
        row = json.loads(line)
        if "slice" not in row:
            continue
        spec = " x ".join(c for c, _ in row["slice"]) or "overall"  # as summary.json names it
        specs.setdefault(spec, {}).setdefault(slice_label(row["slice"]), {})[
            column_label(row)] = row["value"]
    return specs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One evaluated run: its directory, its report and ``show --json``'s numbers."""
    out = evaluate(tmp_path_factory.mktemp("report"), predictions(4000, seed=5))
    report = os.path.join(out, "report.html")
    assert os.path.isfile(report), "evalbeam evaluate wrote no report.html beside the artifacts"
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    return {"dir": out, "report": report, "show": shown(out), "summary": summary}


# --- reading and driving the page --------------------------------------------------------

wait = chromium.wait


_ROWS = """
return [...document.querySelectorAll('#metric-table tbody tr')]
  .filter(tr => !tr.hidden && getComputedStyle(tr).display !== 'none')
  .map(tr => ({slice: tr.dataset.slice,
               text: (tr.querySelector('td[data-col="slice"]') || {}).textContent,
               cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map(td =>
                 [td.dataset.col,
                  td.hasAttribute('data-value') ? Number(td.dataset.value) : null])),
               fails: Object.fromEntries([...tr.querySelectorAll('td.fail')].map(td =>
                 [td.dataset.col, td.title]))}));
"""


def rows(d) -> list:
    """The table's shown rows: slice name, slice cell's text, {column: data-value}, {failed
    column: title}."""
    return d.execute_script(_ROWS)


def names(d) -> list:
    return [r["slice"] for r in rows(d)]


def columns(d) -> list:
    return d.execute_script(
        "return [...document.querySelectorAll('#metric-table thead th[data-col]')]"
        ".map(th => th.dataset.col)")


def active_panels(d) -> list:
    return d.execute_script(
        "return [...document.querySelectorAll('[id^=\"panel-\"]')].filter(p => !p.hidden)"
        ".map(p => p.id)")


def tab(d, name):
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, f'nav#tabs button[data-tab="{name}"]').click()
    wait(d, lambda d: active_panels(d) == [f"panel-{name}"], f"the {name} tab")


def choose(d, select_id, value):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(d.find_element(By.ID, select_id)).select_by_value(value)


def type_into(d, input_id, text):
    """Replace an input's text as a user does, then leave it (input and change events)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    el = d.find_element(By.ID, input_id)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(str(text), Keys.TAB)
    if input_id == "search":  # applied after a pause in typing: until then the page may redraw
        wait(d, lambda d: d.execute_script(
            "return new URLSearchParams(location.hash.slice(1)).get('q') || ''") == str(text),
            f"the search for {text!r} in the address")


def header(d, col):
    return d.execute_script(
        "return [...document.querySelectorAll('#metric-table thead th[data-col]')]"
        ".find(th => th.dataset.col === arguments[0])", col)


def sort_state(d, col):
    return header(d, col).get_attribute("aria-sort")


def metric_button(d, metric, button):
    return d.execute_script(
        "const li = [...document.querySelectorAll('#metric-list li')]"
        ".find(li => li.dataset.metric === arguments[0]);"
        "return li && li.querySelector(arguments[1]);", metric, "." + button)


def open_table(d, report, spec):
    chromium.open_page(d, report)
    tab(d, "table")
    choose(d, "spec", spec)


def wait_rows(d, expected, what):
    """Until the table shows exactly the slices ``expected`` (a set or a list in order)."""
    ordered = isinstance(expected, list)
    return wait(d, lambda d: (names(d) if ordered else set(names(d))) == expected, what)


def close(a, b, rel=1e-12):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


# --- the tests ---------------------------------------------------------------------------

def test_the_checks_see_console_errors_and_network_requests(browser, tmp_path):
    """The no-error / no-request checks every test ends with can fail."""
    page = tmp_path / "bad.html"
    page.write_text("<script>console.error('boom'); fetch('http://127.0.0.1:9/x').catch(() => 0);"
                    "window.EB = {ready: true};</script>")
    chromium.open_page(browser, str(page))
    wait(browser, lambda d: chromium.network_requests(d), "the request in the log")
    errors, requests = chromium.logs(browser).take()
    assert any("boom" in e["message"] for e in errors)
    assert requests == ["http://127.0.0.1:9/x"]


def test_the_table_has_one_row_per_slice_with_the_values_of_show_json(page, run):
    chromium.open_page(page, run["report"])
    assert page.find_element("id", "verdict").text == "NOT_BLESSED"
    tab(page, "table")
    spec_options = page.execute_script(
        "return [...document.querySelectorAll('#spec option')].map(o => o.value)")
    assert spec_options == [s["spec"] for s in run["summary"]["specs"]]
    for spec, slices in run["show"].items():
        choose(page, "spec", spec)
        wait_rows(page, set(slices), f"the slices of {spec}")
        labels = set().union(*slices.values())
        cols = columns(page)
        assert cols[:2] == ["slice", "weighted_example_count"]
        assert set(cols[2:]) | {"weighted_example_count"} == labels
        shown_rows = rows(page)
        assert len(shown_rows) == len(slices) == \
            next(s["slices"] for s in run["summary"]["specs"] if s["spec"] == spec)
        for row in shown_rows:
            want = slices[row["slice"]]
            assert row["text"] == row["slice"]
            for col, value in row["cells"].items():
                if col != "slice":
                    assert close(value, want.get(col)), (spec, row["slice"], col, value, want)
        note = page.find_element("id", "table-note").text
        assert str(len(slices)) in note


def test_the_overall_line_shows_the_overall_values_of_the_selected_metrics(page, run):
    chromium.open_page(page, run["report"])
    want = run["show"]["overall"]["Overall"]
    got = page.execute_script(
        "return [...document.querySelectorAll('#overall [data-metric]')]"
        ".map(e => [e.dataset.metric, e.lastChild.textContent, e.className])")
    assert [m for m, _, _ in got] == sorted(want)  # every metric, alphabetically
    for metric, text, css in got:
        value = want[metric]
        assert text == ("n/a" if value is None else page.execute_script(
            "return EB.fmt(arguments[0])", value))
        assert ("fail" in css) == (metric in ("auc", "auc (unweighted)") and value < AUC_FLOOR)
    metric_button(page, got[0][0], "remove").click()
    wait(page, lambda d: got[0][0] not in d.execute_script(
        "return [...document.querySelectorAll('#overall [data-metric]')]"
        ".map(e => e.dataset.metric)"), "the removed metric to leave the overall line")


def test_cells_that_fail_a_threshold_are_marked_with_it(page, run):
    open_table(page, run["report"], "country x device")
    slices = run["show"]["country x device"]
    wait_rows(page, set(slices), "the country x device slices")
    failed = 0
    for row in rows(page):
        for col in ("auc", "auc (unweighted)"):
            value = slices[row["slice"]][col]
            below = value is not None and value < AUC_FLOOR
            assert (col in row["fails"]) == below, (row["slice"], col, value, row["fails"])
            if below:
                assert str(AUC_FLOOR) in row["fails"][col]
                failed += 1
        assert set(row["fails"]) <= {"auc", "auc (unweighted)"}
    assert failed > 0
    tab(page, "validation")
    listed = page.execute_script("return document.querySelectorAll('#failures tbody tr').length")
    assert listed == run["summary"]["validation_failures"]


def test_clicking_a_header_sorts_the_rows_both_ways(page, run):
    open_table(page, run["report"], "country x device")
    slices = run["show"]["country x device"]
    wait_rows(page, set(slices), "the country x device slices")
    for col in ("auc", "weighted_example_count"):
        seen = []
        for _ in range(2):
            header(page, col).click()
            direction = wait(page, lambda d: sort_state(d, col) not in (None, "none", *seen[-1:])
                             and sort_state(d, col), f"{col} sorted")
            seen.append(direction)
            assert direction in ("ascending", "descending")
            values = [r["cells"][col] for r in rows(page)]
            assert len(values) == len(slices)
            known = [v for v in values if v is not None]
            assert known == sorted(known, reverse=direction == "descending"), (col, direction)
            assert known != sorted(known, reverse=direction != "descending")
            # the sort reorders rows: the cells still hold their own slice's values
            for r in rows(page):
                assert close(r["cells"][col], slices[r["slice"]].get(col))
        assert set(seen) == {"ascending", "descending"}


def test_the_metric_selector_removes_adds_and_moves_columns(page, run):
    open_table(page, run["report"], "country")
    before = columns(page)
    assert "auc" in before and "precision@0.5" in before
    metric_button(page, "auc", "remove").click()
    wait(page, lambda d: "auc" not in columns(d), "the auc column to go")
    assert columns(page) == [c for c in before if c != "auc"]
    assert all("auc" not in r["cells"] for r in rows(page))
    options = page.execute_script(
        "return [...document.querySelectorAll('#metric-add option')].map(o => o.value)")
    assert "auc" in options
    choose(page, "metric-add", "auc")
    wait(page, lambda d: "auc" in columns(d), "the auc column back")
    cols = columns(page)
    i = cols.index("precision@0.5")
    metric_button(page, "precision@0.5", "up").click()
    wait(page, lambda d: columns(d).index("precision@0.5") == i - 1, "precision@0.5 moved left")
    assert sorted(columns(page)) == sorted(cols)


def test_the_count_filter_hides_small_slices(page, run):
    open_table(page, run["report"], "country x device")
    slices = run["show"]["country x device"]
    wait_rows(page, set(slices), "the country x device slices")
    counts = sorted(s["weighted_example_count"] for s in slices.values())
    least = counts[len(counts) // 2]  # a count some slices have: >= keeps them
    type_into(page, "min-count", least)
    keep = {name for name, s in slices.items() if s["weighted_example_count"] >= least}
    assert 0 < len(keep) < len(slices)
    wait_rows(page, keep, f"slices of weighted count >= {least}")
    for r in rows(page):
        assert r["cells"]["weighted_example_count"] >= least
    # and in the other views: the histogram counts the kept slices, the overview draws them
    tab(page, "histogram")
    choose(page, "hist-metric", "mean_label")
    bins = wait(page, lambda d: d.execute_script(
        "const v = EB.views['histogram-chart']; return v && v.data('bins')"), "the histogram")
    assert sum(b["slices"] for b in bins) == len(keep)
    tab(page, "overview")
    bars = wait(page, lambda d: d.execute_script(
        "const v = EB.views['overview-chart']; return v && v.data('bars')"), "the overview")
    assert {b["slice"] for b in bars} == keep


def test_the_search_box_finds_slices_by_name(page, run):
    open_table(page, run["report"], "country x device")
    slices = run["show"]["country x device"]
    type_into(page, "search", "MoBiLe")
    wait_rows(page, {n for n in slices if "mobile" in n.lower()}, "the mobile slices")
    type_into(page, "search", "<img")
    wait_rows(page, {n for n in slices if "<img" in n}, "the slices named with markup")


def _brushed(d, column, lo_text, hi_text, slices):
    """The shown rows after a histogram range [lo, hi] on ``column``: exactly the slices
    inside it (up to the inputs' display rounding)."""
    lo, hi = float(lo_text), float(hi_text)
    eps = max(0.5 * 10 ** -len(t.partition(".")[2]) for t in (lo_text, hi_text)) + 1e-12
    inside = {n for n, s in slices.items() if s.get(column) is not None and
              lo + eps <= s[column] <= hi - eps}
    outside = {n for n, s in slices.items() if s.get(column) is None or
               not lo - eps <= s[column] <= hi + eps}
    got = set(names(d))
    assert inside <= got and not got & outside, (lo, hi, sorted(got))
    return got


def test_dragging_a_range_on_the_histogram_narrows_the_table(page, run):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    chromium.open_page(page, run["report"])
    choose(page, "spec", "country x device")
    slices = run["show"]["country x device"]
    tab(page, "histogram")
    choose(page, "hist-metric", "auc")
    wait(page, lambda d: d.execute_script("return !!(EB.views['histogram-chart'])"), "the chart")
    chart = page.find_element(By.ID, "histogram-chart")
    width = chart.size["width"]
    ActionChains(page).move_to_element_with_offset(chart, int(-width * 0.15), 0).click_and_hold() \
        .move_by_offset(int(width * 0.25), 0).pause(0.2).release().perform()
    lo, hi = wait(page, lambda d: d.execute_script(
        "const [lo, hi] = ['hist-lo', 'hist-hi'].map(i => document.getElementById(i).value);"
        "return lo && hi ? [lo, hi] : null;"), "the brush's range in #hist-lo / #hist-hi")
    assert float(lo) < float(hi)
    tab(page, "table")
    got = _brushed(page, "auc", lo, hi, slices)
    assert 0 < len(got) < len(slices)


def test_a_typed_histogram_range_filters_and_clear_restores(page, run):
    from selenium.webdriver.common.by import By

    open_table(page, run["report"], "country x device")
    slices = run["show"]["country x device"]
    wait_rows(page, set(slices), "the country x device slices")
    tab(page, "histogram")
    choose(page, "hist-metric", "auc")
    type_into(page, "hist-lo", "0.8")
    type_into(page, "hist-hi", "0.9")
    tab(page, "table")
    inside = {n for n, s in slices.items() if s["auc"] is not None and 0.8 <= s["auc"] <= 0.9}
    assert 0 < len(inside) < len(slices)
    wait_rows(page, inside, "the slices of auc in [0.8, 0.9]")
    tab(page, "histogram")
    page.find_element(By.ID, "hist-clear").click()
    tab(page, "table")
    wait_rows(page, set(slices), "every slice after clearing the range")


def test_a_deep_link_opened_in_a_new_page_restores_the_view(page, run):
    slices = run["show"]["country x device"]
    open_table(page, run["report"], "country x device")
    before = columns(page)
    metric_button(page, "mean_label", "remove").click()
    wait(page, lambda d: "mean_label" not in columns(d), "mean_label removed")
    metric_button(page, "binary_accuracy", "up").click()
    header(page, "precision@0.5").click()
    wait(page, lambda d: sort_state(d, "precision@0.5") in ("ascending", "descending"),
         "the sort")
    type_into(page, "min-count", 20)
    type_into(page, "search", "DESK")
    tab(page, "histogram")
    choose(page, "hist-metric", "auc")
    type_into(page, "hist-lo", "0.6")
    type_into(page, "hist-hi", "0.95")
    tab(page, "table")
    direction = sort_state(page, "precision@0.5")
    view = (names(page), columns(page), active_panels(page), direction)
    # the view is what was asked for
    want = [n for n, s in slices.items() if "desk" in n.lower() and
            s["weighted_example_count"] >= 20 and s["auc"] is not None and 0.6 <= s["auc"] <= 0.95]
    assert 0 < len(want) < len(slices)
    assert sorted(view[0]) == sorted(want)
    precision = [slices[n]["precision@0.5"] for n in view[0]]
    known = [v for v in precision if v is not None]
    assert known == sorted(known, reverse=direction == "descending")
    i = before.index("binary_accuracy")
    assert i > 2
    moved = [c for c in before if c != "mean_label"]
    moved[i - 1], moved[i] = moved[i], moved[i - 1]
    assert view[1] == moved and view[2] == ["panel-table"]
    link = page.current_url
    assert "#" in link and "spec=" in link
    chromium.open_in_new_tab(page, link)
    wait(page, lambda d: (names(d), columns(d), active_panels(d),
                          sort_state(d, "precision@0.5")) == view,
         "the same rows, columns, tab and sort in the new page")
    assert page.find_element("id", "spec").get_attribute("value") == "country x device"
    assert page.find_element("id", "min-count").get_attribute("value") == "20"
    assert page.find_element("id", "search").get_attribute("value") == "DESK"


def test_slice_values_with_markup_are_text_and_run_nothing(page, run):
    from selenium.common.exceptions import NoAlertPresentException

    open_table(page, run["report"], "country")
    wait_rows(page, set(run["show"]["country"]), "the country slices")
    shown_rows = {r["slice"]: r["text"] for r in rows(page)}
    for value in HOSTILE:
        assert shown_rows[f"country={value}"] == f"country={value}"
    choose(page, "spec", "country x device")
    wait_rows(page, set(run["show"]["country x device"]), "the country x device slices")
    for name in ("overview", "histogram", "plots"):
        tab(page, name)
    options = page.execute_script(
        "return [...document.querySelectorAll('#plot-slice option')].map(o => o.value)")
    hostile = [o for o in options if "<" in o]
    assert len(hostile) == len(HOSTILE) * 3  # each with every device
    for name in hostile:
        choose(page, "plot-slice", name)
        wait(page, lambda d: d.execute_script(
            "return document.getElementById('plot-slice').value") == name, f"the plots of {name}")
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert
    assert page.execute_script("return typeof window.__pwned") == "undefined"
    assert page.execute_script("return document.querySelectorAll('img, [onerror]').length") == 0


def test_the_page_data_parses_and_no_value_closes_its_element(page, run):
    with open(run["report"], encoding="utf-8") as f:
        html = f.read()
    found = re.findall(r'<script type="application/json" id="evalbeam-data">(.*?)</script>',
                       html, re.DOTALL)
    assert len(found) == 1
    text = found[0]
    assert "<" not in text and ">" not in text
    data = json.loads(text)
    for value in HOSTILE:
        assert f"country={value}" in data["runs"][0]["slices"]["name"]
    chromium.open_page(page, run["report"])
    in_page = page.execute_script(
        "const el = document.getElementById('evalbeam-data');"
        "return [el.type, JSON.parse(el.textContent), document.querySelectorAll("
        "'script[type=\"application/json\"]').length]")
    assert in_page[0] == "application/json" and in_page[2] == 1
    assert in_page[1] == data


def test_every_tab_shows_its_panel_without_console_errors_or_requests(page, run):
    chromium.open_page(page, run["report"])
    tabs = page.execute_script(
        "return [...document.querySelectorAll('nav#tabs button[data-tab]')]"
        ".map(b => b.dataset.tab)")
    assert set(tabs) == {"overview", "histogram", "table", "plots", "validation", "facts"}
    for name in tabs:
        tab(page, name)
    facts = re.sub(r"[,\s\u00a0\u202f]", "", page.find_element("id", "facts").text)
    assert str(run["summary"]["rows_read"]) in facts
    errors, requests = chromium.logs(page).take()
    assert errors == [] and requests == []


TABLE_CAP = 5000  # the slices of one spec the page's table carries (largest first)
USERS = 6000


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """A run with a spec of more slices than the page's table carries."""
    table = predictions(3 * USERS, seed=9)
    user = np.random.default_rng(9).permutation(np.arange(3 * USERS) % USERS)
    config = CONFIG.split("metrics_specs")[0] + """metrics_specs {
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" }
}
slicing_specs {}
slicing_specs { feature_keys: ["user_id"] }
"""
    out = evaluate(tmp_path_factory.mktemp("capped"),
                   table.append_column("user_id", pa.array(user)), config)
    return {"report": os.path.join(out, "report.html"), "show": shown(out)["user_id"]}


def test_sorting_by_slice_orders_numbers_as_numbers(page, capped):
    open_table(page, capped["report"], "user_id")
    header(page, "slice").click()
    wait(page, lambda d: sort_state(d, "slice") == "descending", "slices sorted")
    header(page, "slice").click()
    wait(page, lambda d: sort_state(d, "slice") == "ascending", "slices sorted back")
    shown_ids = [int(r["slice"].split("=")[1]) for r in rows(page)]
    assert len(shown_ids) >= 100 and shown_ids == sorted(shown_ids)  # 9 before 10
    assert shown_ids[0] < 10 < shown_ids[-1]


def test_a_spec_beyond_the_table_cap_keeps_the_largest_and_counts_all_in_the_histogram(
        page, capped):
    slices = capped["show"]
    assert len(slices) == USERS
    by_count = sorted(slices, key=lambda n: -slices[n]["weighted_example_count"])
    edge = slices[by_count[TABLE_CAP - 1]]["weighted_example_count"]
    kept = [n for n in by_count if slices[n]["weighted_example_count"] > edge]
    left = [n for n in by_count if slices[n]["weighted_example_count"] < edge]
    # four-digit ids: a name no other name contains
    kept_name = next(n for n in kept[::-1] if len(n) == len("user_id=1234"))
    left_name = next(n for n in left if len(n) == len("user_id=1234"))
    open_table(page, capped["report"], "user_id")
    note = page.find_element("id", "table-note").text
    assert str(TABLE_CAP) in note and str(USERS - TABLE_CAP) in note, note
    type_into(page, "search", kept_name)
    wait_rows(page, {kept_name}, f"the search for {kept_name}")
    type_into(page, "search", left_name)
    wait_rows(page, set(), f"no row for {left_name} (beyond the table)")
    type_into(page, "search", "")
    tab(page, "histogram")
    choose(page, "hist-metric", "mean_label")
    view = "EB.views['histogram-chart']"
    bins = wait(page, lambda d: d.execute_script(f"return {view} && {view}.data('bins')"),
                "the histogram's bins")
    assert sum(b["slices"] for b in bins) == USERS
    total = sum(s["weighted_example_count"] for s in slices.values())
    assert math.isclose(sum(b["weight"] for b in bins), total, rel_tol=1e-6)


# --- metrics over time -------------------------------------------------------------------

TREND_RUNS = 5
TREND_FLOOR = 0.8
TREND_CONFIG = CONFIG.replace(f"value: {AUC_FLOOR}", f"value: {TREND_FLOOR}")


@pytest.fixture(scope="module")
def trend(tmp_path_factory):
    """Five weekly runs, the model getting worse each week, and their report (given out of
    order, so the page orders them by data span)."""
    root = tmp_path_factory.mktemp("trend")
    runs = []
    for week in range(TREND_RUNS):
        start = datetime.date(2026, 10, 5) + datetime.timedelta(weeks=week)
        span = f"{start}..{start + datetime.timedelta(days=6)}"
        name = f"week {week + 1} {PWN_IMG}" if week == 2 else f"week {week + 1}"
        out = evaluate(root / f"w{week}", predictions(1500, seed=week, noise=0.3 + 0.5 * week),
                       TREND_CONFIG, ["--run_name", name, "--data_span", span, "--no_report"])
        runs.append({"dir": out, "name": name, "span": span,
                     "auc": shown(out)["overall"]["Overall"]["auc"]})
    report = str(root / "trend.html")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["report", *[r["dir"] for r in runs[::-1]], "-o", report]) == 0
    return {"runs": runs, "report": report}


def test_the_time_series_of_five_runs_has_five_points_and_the_threshold(page, trend):
    from selenium.common.exceptions import NoAlertPresentException

    chromium.open_page(page, trend["report"])
    runs = trend["runs"]  # in week order; the report was given them newest first
    labels = page.execute_script(
        "return [...document.querySelectorAll('#run option')].map(o => o.textContent)")
    assert sorted(labels) == sorted(f"{r['name']} [{r['span']}]" for r in runs)
    tab(page, "trend")
    choose(page, "trend-slice", "Overall")
    page.execute_script(
        "const s = document.getElementById('trend-metric');"
        "for (const o of s.options) o.selected = o.value === 'auc';"
        "s.dispatchEvent(new Event('change', {bubbles: true}));")
    view = "EB.views['trend-chart']"
    points = wait(page, lambda d: (lambda p: p if p and all(x["metric"] == "auc" for x in p)
                                   else None)(d.execute_script(
                                       f"return {view} && {view}.data('points')")),
                  "the trend chart's auc points")
    assert len(points) == TREND_RUNS
    points.sort(key=lambda p: p["order"])
    assert [p["data_span"] for p in points] == [r["span"] for r in runs]
    assert [p["run_name"] for p in points] == [r["name"] for r in runs]
    for p, r in zip(points, runs):
        assert p["metric"] == "auc" and close(p["value"], r["auc"]), (p, r)
        assert (p["status"] == "violates a threshold") == (r["auc"] < TREND_FLOOR), (p, r)
    assert 0 < sum(r["auc"] < TREND_FLOOR for r in runs) < TREND_RUNS
    thresholds = page.execute_script(f"return {view}.data('thresholds')")
    assert [(t["metric"], t["bound"], t["kind"]) for t in thresholds] == \
        [("auc", TREND_FLOOR, "lower bound")]
    assert page.execute_script(
        "return document.querySelectorAll('#trend-chart [stroke-dasharray]').length") >= 1
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert
    assert page.execute_script("return typeof window.__pwned") == "undefined"
    assert page.execute_script("return document.querySelectorAll('img, [onerror]').length") == 0
