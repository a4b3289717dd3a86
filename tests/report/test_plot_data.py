"""The report's plots of a slice: the compact data (report/plot_data.py) against scikit-learn
and numpy by hand on the rows of real runs, its size for workload B1, and plots.js drawing it
in headless Chromium."""
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import confusion_matrix, roc_curve

from evalbeam import load_result
from evalbeam.cli import main
from evalbeam.report import plot_data
from evalbeam.report.plot_data import MAX_BUCKETS, MAX_POINTS, slice_plots

BINARY_PLOTS = """
metrics_specs {
  metrics { class_name: "ConfusionMatrixPlot" }
  metrics { class_name: "CalibrationPlot" }
  metrics { class_name: "CalibrationPlot" config: '"name": "mid", "left": 0.2, "right": 0.8, "num_buckets": 120' }
  metrics { class_name: "GainCurve" config: '"num_points": 500' }
  metrics { class_name: "LiftCurve" }
  metrics { class_name: "ScoreDistributionPlot" }
  metrics { class_name: "PredictedVsTrue" }
  metrics { class_name: "ResidualHistogram" }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
"""
ONE_MODEL = 'model_specs { label_key: "y" prediction_key: "p" example_weight_key: "w" }\n'
TWO_MODELS = """
model_specs { name: "base" label_key: "y" prediction_key: "p_base" example_weight_key: "w" is_baseline: true }
model_specs { name: "cand" label_key: "y" prediction_key: "p" example_weight_key: "w" }
"""


def binary_rows(n=4000, seed=3):
    """Labels, weights and predictions between the plot thresholds (k + 0.37) / 1000, so no
    prediction sits on a threshold or on an edge of the 1e-4 histogram buckets. Country "nz"
    has no positives, "is" only 12 rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    k = np.clip(np.round(rng.beta(2, 3, n) * 1000 + 250 * y), 0, 999)
    p = (k + 0.37) / 1000
    p_base = (np.clip(np.round(rng.beta(2, 3, n) * 1000 + 120 * y), 0, 999) + 0.37) / 1000
    country = rng.choice(["us", "de", "nz"], n, p=[0.6, 0.3, 0.1])
    country[-12:] = "is"
    y[country == "nz"] = 0
    return {"y": y, "p": p, "p_base": p_base, "w": rng.choice([0.5, 1.0, 2.0], n),
            "country": country}


def evaluate(tmp_path, config: str, rows: dict, name="run"):
    """A run through the command line, read back."""
    data, cfg, out = tmp_path / f"{name}.parquet", tmp_path / f"{name}.textproto", tmp_path / name
    pq.write_table(pa.table(rows), data)
    cfg.write_text(config)
    assert main(["evaluate", "--config", str(cfg), "--data", str(data), "--output", str(out),
                 "--no_report"]) == 0
    return load_result(str(out))


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    rows = binary_rows()
    return evaluate(tmp_path_factory.mktemp("binary"), ONE_MODEL + BINARY_PLOTS, rows), rows


def of_kind(plots, kind, model=None):
    found = [p for p in plots if p["kind"] == kind and (model is None or p["model"] == model)]
    assert len(found) == 1, [(p["kind"], p["model"]) for p in plots]
    return found[0]


def in_slice(rows, country):
    keep = np.ones(len(rows["y"]), bool) if country is None else rows["country"] == country
    return {name: np.asarray(v)[keep] for name, v in rows.items()}


def inside(values, lo, hi, left_closed=True):
    """Which values are in the bucket from lo to hi (None: unbounded), closed on the left
    ([lo, hi)) or on the right ((lo, hi])."""
    lo, hi = -np.inf if lo is None else lo, np.inf if hi is None else hi
    return (values >= lo) & (values < hi) if left_closed else (values > lo) & (values <= hi)


def by_hand(rows, t):
    """Weighted tp, fp, tn, fn at threshold t (positive: prediction > t)."""
    y, p, w = rows["y"], rows["p"], rows["w"]
    return [float(w[(y == a) & ((p > t) == b)].sum()) for a, b in ((1, 1), (0, 1), (0, 0), (1, 0))]


@pytest.mark.parametrize("country", [None, "us", "is"])
def test_kept_thresholds_are_points_of_the_full_roc_curve(binary, country):
    result, rows = binary
    key = () if country is None else (("country", country),)
    matrices = of_kind(slice_plots(result, key), "confusion_matrix_at_thresholds")
    assert matrices["name"] == "confusion_matrix_plot" and matrices["weighted"] is True
    assert matrices["thresholds_stored"] == 1002
    kept = matrices["threshold"]
    assert 2 < len(kept) <= MAX_POINTS and kept == sorted(kept)
    assert kept[0] == -1e-06 and kept[-1] == 1  # the ends: everything and nothing positive
    mine = in_slice(rows, country)
    fpr, tpr, at = roc_curve(mine["y"], mine["p"], sample_weight=mine["w"],
                            drop_intermediate=False)
    for i, t in enumerate(kept):
        counts = [matrices[f][i] for f in ("tp", "fp", "tn", "fn")]
        assert counts == pytest.approx(by_hand(mine, t), rel=1e-6)
        # scikit-learn's point for "prediction >= s" with the lowest score s above t
        above = np.flatnonzero(at > t)
        j = above[-1] if len(above) else 0
        tp, fp, tn, fn = counts
        assert (fp / (fp + tn), tp / (tp + fn)) == pytest.approx((fpr[j], tpr[j]), abs=1e-6)


def test_only_thresholds_that_add_no_point_are_left_out(binary):
    result, rows = binary
    small = (("country", "is"),)  # 12 rows: far fewer distinct points than the cap
    stored = result.plots[small]
    full = next(p["confusion_matrix_at_thresholds"] for k, p in stored.items()
                if "confusion_matrix_at_thresholds" in p and k.name == "")
    kept = of_kind(slice_plots(result, small), "confusion_matrix_at_thresholds")
    points = set(zip(full["true_positives"].tolist(), full["false_positives"].tolist()))
    assert set(zip(kept["tp"], kept["fp"])) == points
    # one threshold per point, plus the last threshold (its point is the one before it)
    assert len(kept["threshold"]) == len(points) + 1
    mine = in_slice(rows, "is")
    assert len(points) == len(np.unique(mine["p"])) + 1  # each distinct prediction, and (0, 0)


def test_point_cap_spreads_over_curve_and_thresholds():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 10_000), rng.random(10_000)  # a curve of 1002 distinct points
    t = np.arange(1002) / 1001
    positive = p[None, :] > t[:, None]
    columns = {"threshold": t, "true_positives": (positive & (y == 1)).sum(axis=1).astype(float),
               "false_positives": (positive & (y == 0)).sum(axis=1).astype(float)}
    columns["false_negatives"] = (y == 1).sum() - columns["true_positives"]
    columns["true_negatives"] = (y == 0).sum() - columns["false_positives"]
    rows = plot_data.kept_thresholds([columns])
    assert len(rows) <= MAX_POINTS and rows[0] == 0 and rows[-1] == 1001
    assert np.all(np.diff(rows) > 0)
    # the widest gap between kept thresholds is at most about twice the even spacing
    assert np.diff(rows).max() <= 2 * 1001 / (MAX_POINTS - 1) + 1


def calibration_plots(plots):
    return {p["name"]: p for p in plots if p["kind"] == "calibration_histogram_buckets"}


@pytest.mark.parametrize("country", [None, "de", "is"])
def test_calibration_buckets_are_the_sums_of_their_rows(binary, country):
    result, rows = binary
    key = () if country is None else (("country", country),)
    plots = calibration_plots(slice_plots(result, key))
    assert set(plots) == {"calibration_plot", "mid"}
    mine = in_slice(rows, country)
    y, p, w = mine["y"], mine["p"], mine["w"]
    for plot, stored, extent in ((plots["calibration_plot"], 1002, [0, 1]),
                                 (plots["mid"], 122, [0.2, 0.8])):
        assert plot["buckets_stored"] == stored and plot["range"] == extent
        assert len(plot["weight"]) <= MAX_BUCKETS + 2
        for i, (lo, hi) in enumerate(zip(plot["lower"], plot["upper"])):
            into = inside(p, lo, hi)
            assert plot["weight"][i] == pytest.approx(w[into].sum(), rel=1e-6)
            assert plot["weighted_label"][i] == pytest.approx((w * y)[into].sum(), rel=1e-6)
            assert plot["weighted_prediction"][i] == pytest.approx((w * p)[into].sum(), rel=1e-5)
        assert sum(plot["weight"]) == pytest.approx(w.sum())  # no bucket with weight left out
        assert all(v > 0 for v in plot["weight"])


def test_calibration_buckets_merge_inside_the_range_only(binary):
    result, _ = binary
    plots = calibration_plots(slice_plots(result, ()))
    # 1000 buckets of 0.001 -> 50 of 0.02; 120 of 0.005 -> 40 of 0.015 and the two outside
    assert plots["calibration_plot"]["lower"][:3] == [0, 0.02, 0.04]
    mid = plots["mid"]
    assert mid["lower"][:3] == [None, 0.2, 0.215] and mid["upper"][:2] == [0.2, 0.215]
    assert mid["lower"][-1] == 0.8 and mid["upper"][-2:] == [0.8, None]
    assert len(mid["weight"]) == 42


def test_other_bucket_plots_are_sums_and_means_of_their_rows(binary):
    result, rows = binary
    plots = slice_plots(result, (("country", "de"),))
    mine = in_slice(rows, "de")
    y, p, w = mine["y"], mine["p"], mine["w"]
    scores = of_kind(plots, "score_distribution")
    assert scores["buckets_stored"] == 1003 and len(scores["lower"]) <= MAX_BUCKETS + 2
    for i, (lo, hi) in enumerate(zip(scores["lower"], scores["upper"])):
        into = inside(p, lo, hi, left_closed=False)
        assert scores["negatives"][i] == pytest.approx(w[into & (y == 0)].sum(), rel=1e-6)
        assert scores["positives"][i] == pytest.approx(w[into & (y == 1)].sum(), rel=1e-6)
    assert sum(scores["negatives"]) + sum(scores["positives"]) == pytest.approx(w.sum())
    versus = of_kind(plots, "predicted_vs_true")
    residuals = of_kind(plots, "residual_histogram")
    for plot, value in ((versus, p), (residuals, y - p)):
        for i, (lo, hi) in enumerate(zip(plot["lower"], plot["upper"])):
            into = inside(value, lo, hi)
            assert plot["weight"][i] == pytest.approx(w[into].sum(), rel=1e-6)
            if plot is versus:
                for column, v in (("mean_label", y), ("mean_prediction", p)):
                    mean = np.average(v[into], weights=w[into])
                    assert plot[column][i] == pytest.approx(mean, rel=1e-5)
        assert sum(plot["weight"]) == pytest.approx(w.sum())


def test_gain_and_lift_keep_stored_points_and_ends(binary):
    result, _ = binary
    plots = slice_plots(result, ())
    gain, lift = of_kind(plots, "gain_curve"), of_kind(plots, "lift_curve")
    assert gain["points_stored"] == 500 and len(gain["gain"]) == MAX_POINTS
    assert lift["points_stored"] == 100 and len(lift["lift"]) == 100
    stored = result.gain_curve(())
    fractions = stored["population_fraction"].tolist()
    assert gain["population_fraction"][0] == fractions[0] and gain["population_fraction"][-1] == 1
    for f, g in zip(gain["population_fraction"], gain["gain"]):
        assert g == pytest.approx(stored["gain"][fractions.index(f)], rel=1e-5)  # 6 digits
    assert gain["gain"][-1] == 1


def test_nan_becomes_null_and_the_data_is_strict_json(binary):
    result, _ = binary
    plots = slice_plots(result, (("country", "nz"),))  # no positives: gain and lift undefined
    assert set(of_kind(plots, "gain_curve")["gain"]) == {None}
    assert set(of_kind(plots, "lift_curve")["lift"]) == {None}
    json.dumps(plots, allow_nan=False)
    assert plot_data.numbers([np.nan, np.inf, -np.inf, 2.0, 0.1234567, 1234567.8]) == \
        [None, None, None, 2, 0.123457, 1234570]


def test_every_plot_is_there_once_per_kind(binary):
    result, _ = binary
    kinds = sorted((p["kind"], p["name"]) for p in slice_plots(result, ()))
    # the ScoreDistributionPlot's own TFMA-form matrices are not a curve: not drawn twice
    assert kinds == [("calibration_histogram_buckets", "calibration_plot"),
                     ("calibration_histogram_buckets", "mid"),
                     ("confusion_matrix_at_thresholds", "confusion_matrix_plot"),
                     ("gain_curve", "gain_curve"), ("lift_curve", "lift_curve"),
                     ("predicted_vs_true", "predicted_vs_true"),
                     ("residual_histogram", "residual_histogram"),
                     ("score_distribution", "score_distribution_plot")]
    assert slice_plots(result, (("country", "xx"),)) == []


def test_baseline_and_candidate_share_the_kept_thresholds(tmp_path):
    rows = binary_rows(3000, seed=5)
    result = evaluate(tmp_path, TWO_MODELS + BINARY_PLOTS, rows)
    plots = slice_plots(result, (), {"candidate": "cand", "baseline": "base"})
    for kind in ("confusion_matrix_at_thresholds", "calibration_histogram_buckets", "gain_curve",
                 "lift_curve", "score_distribution", "predicted_vs_true", "residual_histogram"):
        assert {p["model"] for p in plots if p["kind"] == kind} == {"cand", "base"}, kind
    cand = of_kind(plots, "confusion_matrix_at_thresholds", "cand")
    base = of_kind(plots, "confusion_matrix_at_thresholds", "base")
    assert cand["threshold"] == base["threshold"] and len(cand["threshold"]) <= MAX_POINTS
    base_rows = dict(rows, p=rows["p_base"])
    for i, t in enumerate(base["threshold"]):
        for plot, mine in ((base, base_rows), (cand, rows)):
            assert [plot[f][i] for f in ("tp", "fp", "tn", "fn")] == pytest.approx(by_hand(mine, t))
    only = slice_plots(result, (), {"candidate": "cand", "baseline": None})
    assert {p["model"] for p in only} == {"cand"}
    assert {p["model"] for p in slice_plots(result, (), {"candidate": None, "baseline": "base"})} \
        == {"cand", "base"}  # several candidates: every model


def test_class_matrices_equal_scikit_learn(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    n, k = 600, 4
    y = rng.integers(0, k, n)
    scores = rng.dirichlet(np.ones(k), n)
    scores[np.arange(n), y] += 0.4
    scores /= scores.sum(axis=1, keepdims=True)
    rows = {"y": y, "p": pa.array(list(scores)), "w": rng.choice([0.5, 1.0, 2.0], n)}
    config = ONE_MODEL + """metrics_specs {
      metrics { class_name: "MultiClassConfusionMatrixPlot" config: '"thresholds": [0.0, 0.5]' }
      metrics { class_name: "MultiClassConfusionMatrixAtThresholds" config: '"thresholds": [0.4]' }
      metrics { class_name: "MultiClassConfusionMatrixPlot"
                config: '"name": "many", "num_thresholds": 11' }
    } slicing_specs {}"""
    monkeypatch.setattr(plot_data, "MAX_CELLS", 60)  # 11 thresholds of up to 20 cells: 3 fit
    plots = slice_plots(evaluate(tmp_path, config, rows), ())
    matrices = {p["name"]: p for p in plots
                if p["kind"] == "multi_class_confusion_matrix_at_thresholds"}
    assert set(matrices) == {"multi_class_confusion_matrix_plot",
                             "multi_class_confusion_matrix_at_thresholds", "many"}
    assert matrices["many"]["thresholds_stored"] == 11
    labels = [-1, *range(k)]
    for plot, thresholds in ((matrices["multi_class_confusion_matrix_plot"], (0.0, 0.5)),
                             (matrices["multi_class_confusion_matrix_at_thresholds"], (0.4,)),
                             (matrices["many"], (0.0, 0.5, 1.0))):  # evenly spread, ends kept
        assert sorted(set(plot["threshold"])) == list(thresholds)
        for t in thresholds:
            top = scores.argmax(axis=1)
            predicted = np.where(scores.max(axis=1) > t, top, -1)
            expected = confusion_matrix(y, predicted, labels=labels, sample_weight=rows["w"])
            got = np.zeros((k + 1, k + 1))
            for u, a, p, weight in zip(plot["threshold"], plot["actual"], plot["predicted"],
                                       plot["weight"]):
                if u == t:
                    got[labels.index(a), labels.index(p)] += weight
            np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_multi_label_matrices_equal_counts_by_hand(tmp_path):
    rng = np.random.default_rng(4)
    n, k = 300, 3
    y = (rng.random((n, k)) < 0.4).astype(np.int64)
    scores = np.clip(0.6 * y + 0.5 * rng.random((n, k)), 0, 1)
    w = rng.choice([0.5, 1.0, 2.0], n)
    rows = {"y": pa.array(list(y)), "p": pa.array(list(scores)), "w": w}
    config = ONE_MODEL + ("metrics_specs { metrics { class_name: \"MultiLabelConfusionMatrixPlot\" "
                          "config: '\"thresholds\": [0.3, 0.7]' } } slicing_specs {}")
    (plot,) = slice_plots(evaluate(tmp_path, config, rows), ())
    assert plot["kind"] == "multi_label_confusion_matrix_at_thresholds"
    for t in (0.3, 0.7):
        expected = {}  # (labelled class i, class j) -> [tp, fp, tn, fn] of class j
        for e, i in zip(*np.nonzero(y)):
            for j in range(k):
                cell = expected.setdefault((i, j), [0.0] * 4)
                label, positive = y[e, j] > 0, scores[e, j] > t
                cell[[(True, True), (False, True), (False, False), (True, False)].index(
                    (label, positive))] += w[e]
        cells = zip(plot["threshold"], plot["actual"], plot["predicted"])
        got = {(a, b): [plot[f][r] for f in ("tp", "fp", "tn", "fn")]
               for r, (u, a, b) in enumerate(cells) if u == t}
        assert got.keys() == expected.keys()
        for cell, counts in expected.items():
            assert got[cell] == pytest.approx(counts), cell


def test_what_is_not_drawn_says_why(tmp_path):
    rng = np.random.default_rng(8)
    n, k = 400, plot_data.MAX_CLASSES + 5
    scores = rng.dirichlet(np.ones(k), n)
    rows = {"y": rng.integers(0, k, n), "p": pa.array(list(scores)), "w": np.ones(n)}
    config = ONE_MODEL + ('metrics_specs { metrics { class_name: "MultiClassConfusionMatrixPlot" } }'
                          ' slicing_specs {}')
    (plot,) = slice_plots(evaluate(tmp_path, config, rows), ())
    assert plot["not_drawn"] == \
        f"{k} classes, more than the {plot_data.MAX_CLASSES} a heatmap shows"
    assert "actual" not in plot

    from evalbeam.keys import MetricKey

    class Result:  # an artifact with a plot kind the page does not know
        plots = {(): {MetricKey("future_plot", example_weighted=True):
                      {"future_curve": {"x": np.zeros(3)}}}}
        metrics = {}

    (plot,) = slice_plots(Result(), ())
    assert plot["name"] == "future_plot" and plot["kind"] == "future_curve"
    assert plot["not_drawn"] == "plots of kind future_curve are not drawn by this report"


def test_b1_plots_fit_the_page_budget(tmp_path, capsys):
    """Workload B1 at 100k rows (144 slices, a ConfusionMatrixPlot and a CalibrationPlot
    each): at most 8 KB of plot JSON per slice on average, as the page embeds it."""
    assert main(["demo", "--rows", "100000", "--output", str(tmp_path / "b1")]) == 0
    capsys.readouterr()
    result = load_result(str(tmp_path / "b1" / "result"))
    assert len(result.plots) == 144
    sizes = [len(json.dumps(slice_plots(result, key), separators=(",", ":")))
             for key in result.plots]
    per_slice = sum(sizes) / len(sizes)
    print(f"B1 100k: {per_slice:.0f} bytes of plot JSON per slice, {sum(sizes)} in all")
    assert per_slice <= 8192 and max(sizes) <= 10_000


# -- in Chromium ----------------------------------------------------------------------------
REPORT = Path(plot_data.__file__).parent
VENDOR = [REPORT / "vendor" / name for name in ("vega.min.js", "vega-lite.min.js",
                                                "vega-embed.min.js")]
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div id="plots"></div>
<script type="application/json" id="data">@DATA@</script>
@SCRIPTS@
<script>
window.errors = [];
window.addEventListener("error", (e) => window.errors.push(String(e.message)));
const views = {};
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.forEach((c) => node.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
  return node;
}
function embed(node, spec) {
  return vegaEmbed(node, spec, {renderer: "svg", actions: false})
    .then((r) => (views[node.id] = r.view));
}
const data = JSON.parse(document.getElementById("data").textContent);
EB_PLOTS.render(document.getElementById("plots"), data.plots,
                {candidate: data.candidate, baseline: data.baseline, vegaEmbed: embed, el: el});
</script></body></html>"""


def _browser():
    """Headless Chromium with the chromedriver on PATH (selenium never downloads one)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("chromium and chromedriver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver_path))


def _page(tmp_path, plots, candidate, baseline) -> str:
    scripts = [p.read_text(encoding="utf-8") for p in VENDOR]
    scripts.append((REPORT / "assets" / "plots.js").read_text(encoding="utf-8"))
    data = json.dumps({"plots": plots, "candidate": candidate, "baseline": baseline})
    page = PAGE.replace("@DATA@", data.replace("<", "\\u003c")).replace(
        "@SCRIPTS@", "".join(f"<script>{s}</script>" for s in scripts))
    path = tmp_path / "plots.html"
    path.write_text(page, encoding="utf-8")
    return path.as_uri()


def drawn(driver, address):
    """Open the page and wait until every chart is embedded."""
    driver.get(address)
    driver.set_script_timeout(30)
    driver.execute_async_script("const done = arguments[0];"
                                "document.getElementById('plots').ebPlotsDrawn.then(() => done());")


MARKUP = "<img src=x onerror=window.injected=1>"  # a model name from a user's config


def marks(js, part, mark="symbol") -> int:
    """The marks (not legend symbols) a chart drew."""
    return js(f"return document.querySelectorAll('[data-plot=\"{part}\"] svg "
              f".mark-{mark}.role-mark path').length")


def test_plots_render_in_chromium_and_the_slider_shows_the_counts(tmp_path):
    rows = binary_rows(3000, seed=11)
    config = TWO_MODELS.replace('name: "cand"', f'name: "{MARKUP}"') + BINARY_PLOTS
    plots = slice_plots(evaluate(tmp_path, config, rows), (),
                        {"candidate": MARKUP, "baseline": "base"})
    plots.append({"kind": "future_curve", "name": "future_plot", "model": "base", "output": "",
                  "sub_key": "", "weighted": True,
                  "not_drawn": "plots of kind future_curve are not drawn by this report"})
    driver = _browser()
    try:
        drawn(driver, _page(tmp_path, plots, MARKUP, "base"))
        js = driver.execute_script
        parts = js("return [...document.querySelectorAll('[data-plot]')].map(n => n.dataset.plot)")
        assert sorted(parts) == ["calibration", "calibration", "gain", "lift", "matrix", "pr",
                                 "predicted-vs-true", "residual", "roc", "score"]
        for part in parts:  # every chart drew its marks
            assert marks(js, part) + marks(js, part, "rect") > 0, part
        roc = js("return document.querySelector('[data-plot=\"roc\"] svg').textContent")
        assert f"ROC curve: confusion_matrix_plot{MARKUP} vs base · weighted" in roc
        cand = of_kind(plots, "confusion_matrix_at_thresholds", MARKUP)
        assert marks(js, "roc") == 2 * len(cand["threshold"])  # a point per threshold and model
        note = js("return document.querySelector('.eb-plot-not-drawn').textContent")
        assert note == ("plot future_curve future_plot (base, weighted): not drawn (plots of kind "
                        "future_curve are not drawn by this report)")

        for index in (0, len(cand["threshold"]) // 3, len(cand["threshold"]) - 1):
            js("const s = document.querySelector('input.eb-threshold'); s.value = arguments[0];"
               "s.dispatchEvent(new Event('input'));", str(index))
            t = cand["threshold"][index]
            shown = js("return document.querySelector('.eb-threshold-value').textContent")
            assert float(shown) == pytest.approx(t, rel=1e-3)
            table = {row[0]: row[1:] for row in js("""return [...document.querySelectorAll(
                '.eb-plot-counts tbody tr')].map((tr) => [...tr.querySelectorAll('td')]
                .map((td) => td.textContent))""")}
            for model, mine in ((MARKUP, rows), ("base", dict(rows, p=rows["p_base"]))):
                counts = by_hand(mine, t)
                assert [float(v) for v in table[model][1:5]] == pytest.approx(counts, rel=1e-6)
                tp, fp, tn, fn = counts
                assert float(table[model][6]) == pytest.approx(tp / (tp + fn), rel=1e-3)
                assert float(table[model][7]) == pytest.approx(fp / (fp + tn), rel=1e-3)
            # the heatmap's cells follow the slider too
            driver.execute_async_script("""const done = arguments[0];
                const id = document.querySelector('[data-plot="matrix"]').id;
                views[id].runAsync().then(() => done())""")
            cells = js("""return [...document.querySelectorAll(
                '[data-plot="matrix"] svg .mark-text.role-mark text')].map((n) => n.textContent)""")
            tp, fp, tn, fn = by_hand(rows, t)
            assert {f"TP {tp:g}", f"FP {fp:g}", f"TN {tn:g}", f"FN {fn:g}"} <= set(cells)
        found = js("return [window.errors, window.injected, document.querySelectorAll('img').length]")
        assert found == [[], None, 0]  # no error, no markup run or made
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()


def test_class_matrix_threshold_selector_in_chromium(tmp_path):
    rng = np.random.default_rng(9)
    n, k = 500, 3
    y = rng.integers(0, k, n)
    scores = rng.dirichlet(np.ones(k), n)
    rows = {"y": y, "p": pa.array(list(scores)), "w": np.ones(n)}
    config = ONE_MODEL + ("metrics_specs { metrics { class_name: \"MultiClassConfusionMatrixPlot\" "
                          "config: '\"thresholds\": [0.0, 0.6]' } } slicing_specs {}")
    plots = slice_plots(evaluate(tmp_path, config, rows), ())
    multi_hot = (rng.random((n, k)) < 0.4).astype(np.int64)
    config = ONE_MODEL + ('metrics_specs { metrics { class_name: "MultiLabelConfusionMatrixPlot" } }'
                          ' slicing_specs {}')
    labelled = slice_plots(evaluate(tmp_path, config, dict(rows, y=pa.array(list(multi_hot))),
                                    "multi_label"), ())
    plots += labelled
    driver = _browser()
    try:
        drawn(driver, _page(tmp_path, plots, "", None))
        js = driver.execute_script

        def cells(part="multi-class"):
            driver.execute_async_script("""const done = arguments[1];
                const id = document.querySelector('[data-plot="' + arguments[0] + '"]').id;
                views[id].runAsync().then(() => done())""", part)
            return js("return document.querySelectorAll("
                      "'[data-plot=\"' + arguments[0] + '\"] svg .mark-rect.role-mark path').length",
                      part)

        # one cell per (labelled class, class) seen
        assert cells("multi-label") == len(labelled[0]["actual"]) == k * k
        assert cells() == k * k  # at 0.0 every example has a predicted class
        js("const s = document.querySelector('select.eb-class-threshold'); s.value = '1';"
           "s.dispatchEvent(new Event('change'));")
        none = (scores.max(axis=1) <= 0.6)
        assert cells() == k * k + len(set(y[none]))  # plus the cells of "none"
        assert js("return window.errors") == []
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
