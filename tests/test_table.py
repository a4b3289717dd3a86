"""`evalbeam show`: every value (metrics at several thresholds, matrices), readable numbers,
slices in a useful order, filters, sorting, CSV and tables that fit the terminal."""
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import BASE, make_table
from evalbeam.cli import main
from helpers_io import write

CONFIG = BASE + """
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "MeanLabel" }
  metrics { class_name: "AUC" }
  metrics { class_name: "Precision" config: '"thresholds": [0.3, 0.5]' }
  metrics { class_name: "Recall" config: '"thresholds": [0.3, 0.5]' }
  metrics { class_name: "ConfusionMatrixAtThresholds" config: '"thresholds": [0.4]' }
  example_weights { weighted: true unweighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] } slicing_specs { feature_keys: ["age"] }
slicing_specs { feature_keys: ["country", "device"] }
"""
TABLE = make_table(3000, seed=3)
D = {c: TABLE.column(c).to_numpy() for c in TABLE.column_names}
D["prediction"] = D["prediction"].astype(np.float64)


def by_hand(mask=None):
    """Reference numbers of the rows in ``mask``, computed directly with numpy / sklearn."""
    m = np.ones(len(D["label"]), bool) if mask is None else mask
    y, p, w = D["label"][m], D["prediction"][m], D["weight"][m]
    out = {"example_count": float(m.sum()), "weighted_example_count": float(w.sum()),
           "mean_label": float(np.sum(w * y) / np.sum(w)),
           "auc": roc_auc_score(y, p, sample_weight=w)}
    for t in (0.3, 0.4, 0.5):
        pos = p > t
        out[f"tp@{t}"] = float(np.sum(w * y * pos))
        out[f"fp@{t}"] = float(np.sum(w * (1 - y) * pos))
        out[f"precision@{t}"] = out[f"tp@{t}"] / float(np.sum(w * pos))
        out[f"recall@{t}"] = out[f"tp@{t}"] / float(np.sum(w * y))
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("show")
    cfg = tmp / "config.textproto"
    cfg.write_text(CONFIG)
    data = write(TABLE, str(tmp / "data.parquet"))
    assert main(["evaluate", "--config", str(cfg), "--data", data, "--output",
                 str(tmp / "out")]) == 0
    return str(tmp / "out")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one table, whatever terminal runs the tests


def show(capsys, *argv):
    code = main(["show", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(text: str) -> dict:
    """{slice name: {column: cell text}} of the tables ``show`` printed (one table, or several
    of columns when it is wider than the terminal; cells apart by at least two spaces)."""
    out = {}
    for table in text.split("\n\n"):
        lines = table.splitlines()
        if not lines or not lines[0].startswith("slice  "):
            continue
        header = [c.strip() for c in lines[0].split("  ") if c.strip()]
        for line in lines[1:]:
            cells = [c.strip() for c in line.split("  ") if c.strip()]
            out.setdefault(cells[0], {}).update(zip(header[1:], cells[1:]))
    return out


def test_metrics_at_several_thresholds_in_every_view(out, capsys):
    want = by_hand()
    us = by_hand(D["country"] == "us")
    code, stdout, _ = show(capsys, out, "--json")
    rows = [json.loads(line) for line in stdout.splitlines()]
    got = {(r["metric"], r.get("threshold"), tuple(map(tuple, r["slice"]))): r["value"]
           for r in rows if r["weighted"] and "field" not in r}
    for name in ("precision", "recall"):
        for t in (0.3, 0.5):
            assert got[(name, t, ())] == pytest.approx(want[f"{name}@{t}"], rel=1e-12)
            assert got[(name, t, (("country", "us"),))] == pytest.approx(us[f"{name}@{t}"],
                                                                         rel=1e-12)
    # one line per threshold; scalar metrics keep exactly today's keys
    assert sum(1 for r in rows if r["metric"] == "precision" and r["slice"] == []) == 4
    scalar = next(r for r in rows if r["metric"] == "auc")
    assert set(scalar) == {"slice", "model", "output", "sub_key", "aggregation", "metric",
                           "weighted", "value"}

    summary = json.load(open(os.path.join(out, "summary.json")))["overall"]
    assert summary["precision@0.3"] == pytest.approx(want["precision@0.3"], rel=1e-12)
    assert summary["recall@0.5"] == pytest.approx(want["recall@0.5"], rel=1e-12)
    assert "precision@0.5 (unweighted)" in summary

    code, stdout, _ = show(capsys, out, "--metric", "precision", "--metric", "recall")
    overall = table_rows(stdout)["Overall"]
    assert set(overall) == {"precision@0.3", "precision@0.5", "recall@0.3", "recall@0.5",
                            "precision@0.3 (unweighted)", "precision@0.5 (unweighted)",
                            "recall@0.3 (unweighted)", "recall@0.5 (unweighted)"}
    assert overall["precision@0.3"] == f"{want['precision@0.3']:.4g}"

    from evalbeam import load_result
    result = load_result(out)
    assert result.value("precision", weighted=True, threshold=0.3) == pytest.approx(
        want["precision@0.3"], rel=1e-12)
    assert result.value("recall", (("country", "us"),), weighted=True, threshold=0.5) == \
        pytest.approx(us["recall@0.5"], rel=1e-12)
    np.testing.assert_allclose(result.value("precision", weighted=True),
                               [want["precision@0.3"], want["precision@0.5"]], rtol=1e-12)
    with pytest.raises(KeyError, match="no value at threshold 0.4; thresholds: 0.3, 0.5"):
        result.value("precision", weighted=True, threshold=0.4)
    with pytest.raises(KeyError, match="no confidence interval for 'precision' at threshold "
                                       "0.3 .*compute_confidence_intervals"):
        result.interval("precision", weighted=True, threshold=0.3)


def test_confusion_matrix_values_are_shown_field_by_field(out, capsys):
    want = by_hand()
    _, stdout, _ = show(capsys, out, "--json", "--metric", "confusion_matrix_at_thresholds")
    rows = {(r["field"], r["threshold"]): r["value"] for r in map(json.loads, stdout.splitlines())
            if r["slice"] == [] and r["weighted"]}
    assert rows[("true_positives", 0.4)] == pytest.approx(want["tp@0.4"], rel=1e-12)
    assert rows[("false_positives", 0.4)] == pytest.approx(want["fp@0.4"], rel=1e-12)
    assert rows[("precision", 0.4)] == pytest.approx(want["precision@0.4"], rel=1e-12)
    _, stdout, _ = show(capsys, out, "--metric", "confusion_matrix_at_thresholds.recall@0.4")
    assert table_rows(stdout)["Overall"]["confusion_matrix_at_thresholds.recall@0.4"] == \
        f"{want['recall@0.4']:.4g}"


def test_readable_numbers_and_slice_order(out, capsys):
    _, stdout, _ = show(capsys, out, "--metric", "example_count", "--metric", "auc",
                        "--metric", "weighted_example_count")
    rows = table_rows(stdout)
    names = list(rows)
    assert names[0] == "Overall"
    assert rows["Overall"]["example_count (unweighted)"] == "3000"  # not 3000.0 or 3e+03
    total = D["weight"].sum()
    assert rows["Overall"]["weighted_example_count"] == f"{total:.4g}" if total < 1e4 else \
        f"{total:.0f}"
    assert rows["Overall"]["auc"] == f"{by_hand()['auc']:.4g}"
    # each spec's slices in config order, by weighted example count, largest first
    countries = [n for n in names if n.startswith("country=") and "," not in n]
    weights = {c: D["weight"][D["country"] == c].sum() for c in np.unique(D["country"])}
    assert countries == [f"country={c}" for c in sorted(weights, key=lambda c: -weights[c])]
    first = {prefix: next(i for i, n in enumerate(names) if n.startswith(prefix))
             for prefix in ("country=", "age=")}
    crosses = [i for i, n in enumerate(names) if "," in n]
    assert first["country="] < first["age="] < min(crosses)
    assert stdout.count("\ncountry: 4 slices\n") == 1 and "\nage: 12 slices\n" in stdout
    assert "\ncountry x device: 8 slices\n" in stdout and "\noverall: 1 slice\n" in stdout


def _all_slices():
    """{slice name: rows mask} of every slice of CONFIG, by hand."""
    out = {}
    for c in np.unique(D["country"]):
        out[f"country={c}"] = D["country"] == c
        for d in np.unique(D["device"]):
            out[f"country={c}, device={d}"] = (D["country"] == c) & (D["device"] == d)
    for a in np.unique(D["age"]):
        out[f"age={a}"] = D["age"] == a
    return out


def test_sort_top_bottom(out, capsys):
    means = {n: by_hand(m)["mean_label"] for n, m in _all_slices().items()}
    ranked = sorted(means, key=lambda n: -means[n])
    _, stdout, _ = show(capsys, out, "--metric", "mean_label", "--sort", "mean_label",
                        "--bottom", "3")
    rows = table_rows(stdout)
    assert list(rows) == ["Overall"] + ranked[::-1][:3]  # Overall first, then lowest first
    _, stdout, _ = show(capsys, out, "--metric", "mean_label", "--sort", "mean_label",
                        "--top", "4")
    assert list(table_rows(stdout)) == ["Overall"] + ranked[:4]
    assert "5 of 25 slices shown" in stdout
    _, stdout, _ = show(capsys, out, "--sort", "mean_label", "--metric", "auc")
    assert list(table_rows(stdout)) == ["Overall"] + ranked
    # --top without --sort: the largest slices by weighted example count
    sizes = {n: D["weight"][m].sum() for n, m in _all_slices().items()}
    _, stdout, _ = show(capsys, out, "--top", "3", "--metric", "example_count")
    assert list(table_rows(stdout)) == ["Overall"] + sorted(sizes, key=lambda n: -sizes[n])[:3]


def test_slice_filters(out, capsys):
    _, stdout, _ = show(capsys, out, "--slice", "country=us", "--slice", "device=mobile",
                        "--metric", "auc")
    assert list(table_rows(stdout)) == ["country=us, device=mobile"]
    assert "1 of 25 slices shown" in stdout
    _, stdout, _ = show(capsys, out, "--slice", "country=us", "--slice", "country=de",
                        "--metric", "auc")
    assert set(table_rows(stdout)) == {"country=us", "country=de", "country=us, device=mobile",
                                       "country=us, device=desktop", "country=de, device=mobile",
                                       "country=de, device=desktop"}
    _, stdout, _ = show(capsys, out, "--slice", "age=20", "--metric", "mean_label")
    want = by_hand(D["age"] == 20)["mean_label"]
    unweighted = D["label"][D["age"] == 20].mean()
    assert table_rows(stdout) == {"age=20": {"mean_label": f"{want:.4g}",
                                             "mean_label (unweighted)": f"{unweighted:.4g}"}}


@pytest.mark.parametrize("argv, message", [
    (["--metric", "precison"], "--metric precison: no such metric in .*; did you mean precision"),
    (["--slice", "country"], "--slice expects COLUMN=VALUE, got 'country'"),
    (["--slice", "contry=us"], "no slice has column 'contry'; .*did you mean country"),
    (["--slice", "country=usa"], "no slice has country = 'usa'; did you mean us"),
    (["--sort", "precision"], "--sort precision names 4 columns; pick one: precision@0.3, "),
    (["--sort", "acu"], "--sort acu: no such metric; did you mean auc"),
])
def test_bad_choices_are_one_line_with_exit_2(out, capsys, argv, message):
    import re
    code, stdout, err = show(capsys, out, *argv)
    assert code == 2 and stdout == ""
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_csv_holds_full_precision(out, capsys):
    _, stdout, _ = show(capsys, out, "--csv", "--metric", "precision@0.3", "--metric", "auc")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    overall = rows[0]
    assert overall["slice"] == "Overall"
    assert float(overall["precision@0.3"]) == pytest.approx(by_hand()["precision@0.3"], rel=1e-15)
    assert {"auc", "auc (unweighted)", "precision@0.3"} <= set(overall)
    assert len(rows) == 1 + 4 + 12 + 8


def test_a_wide_table_is_split_to_fit_the_terminal(out):
    env = dict(os.environ, COLUMNS="72")
    done = subprocess.run([sys.executable, "-m", "evalbeam.cli", "show", out],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 72
    tables = [t for t in done.stdout.split("\n\n") if "\nOverall " in t]
    assert len(tables) > 3  # many columns: several tables, each with the slice names
    for t in tables:  # each table has every slice, in the same order
        names = [line.split("  ")[0] for line in t.splitlines() if line[:1] not in (" ", "s")]
        assert names[0] == "Overall" and len(names) == 25
    text = "\n".join(tables)
    for name in ("auc", "precision@0.3", "recall@0.5 (unweighted)", "example_count (unweighted)",
                 "confusion_matrix_at_thresholds.", "true_positives@0.4"):
        assert f" {name}\n" in text or f" {name} " in text, name


def test_class_matrices_are_listed_in_json_and_named_in_the_table(tmp_path, capsys):
    import pyarrow as pa
    cfg = tmp_path / "config.textproto"
    cfg.write_text('model_specs { label_key: "label" prediction_key: "scores" }\n'
                   'metrics_specs { metrics { class_name: "MultiClassConfusionMatrixAtThresholds" }'
                   ' metrics { class_name: "ExampleCount" } }')
    # at threshold 0.5 the top score predicts: 0 (label 0), 1 (label 1), 0 (label 1), 2 (label 2)
    data = write(pa.table({"label": [0, 1, 1, 2], "scores": [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1],
                                                             [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]]}),
                 str(tmp_path / "data.parquet"))
    out = str(tmp_path / "out")
    assert main(["evaluate", "--config", str(cfg), "--data", data, "--output", out]) == 0
    capsys.readouterr()
    _, stdout, _ = show(capsys, out, "--json")
    rows = [json.loads(line) for line in stdout.splitlines()]
    cells = {(r["actual_class_id"], r["predicted_class_id"]): r["value"] for r in rows
             if r["metric"] == "multi_class_confusion_matrix_at_thresholds"}
    assert cells == {(0, 0): 1.0, (1, 1): 1.0, (1, 0): 1.0, (2, 2): 1.0}
    matrix = [r for r in rows if "actual_class_id" in r]
    assert all(r["threshold"] == 0.5 and r["field"] == "num_weighted_examples" for r in matrix)
    _, stdout, _ = show(capsys, out)
    assert table_rows(stdout)["Overall"] == {"example_count (unweighted)": "4"}
    assert ("not in the table: multi_class_confusion_matrix_at_thresholds (unweighted) in 1 "
            "slice(s): a class-by-class matrix per threshold (`show --json` lists its entries)"
            in stdout)
    _, _, err = show(capsys, out, "--csv")
    assert err.startswith("evalbeam: note: not in the CSV: multi_class_confusion_matrix")
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["overall"] == {"example_count (unweighted)": 4.0}
    assert "multi_class_confusion_matrix_at_thresholds (unweighted)" in summary[
        "overall_not_listed"]
    from evalbeam import load_result
    df = load_result(out).to_dataframe()
    entry = df[(df["actual_class_id"] == 1) & (df["predicted_class_id"] == 0)]
    assert entry["value"].tolist() == [1.0] and entry["threshold"].tolist() == [0.5]


def test_a_line_per_slicing_spec_from_the_summary(out, capsys, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    summary = json.load(open(copy / "summary.json"))
    summary["specs"] = [
        {"spec": "overall", "slices": 1, "omitted_below_min_slice_size": 0,
         "rows_with_null_slicing_feature": 0, "plot_slices": 1, "plot_slices_cut": 0},
        {"spec": "country", "slices": 4, "omitted_below_min_slice_size": 2,
         "rows_with_null_slicing_feature": 17, "plot_slices": 3, "plot_slices_cut": 1}]
    (copy / "summary.json").write_text(json.dumps(summary))
    _, stdout, _ = show(capsys, str(copy), "--metric", "auc")
    assert "\noverall: 1 slice\n" in stdout
    assert ("\ncountry: 4 slices (and 2 omitted below min_slice_size; 17 row(s) in none: a slicing "
            "feature was null; plots for 3, 1 cut by max_plot_slices)\n") in stdout


def test_diffs_at_several_thresholds(tmp_path, capsys):
    import pyarrow as pa
    # precision (prediction > t): at 0.3 the baseline predicts rows 0, 2, 4 (2 of 3 right),
    # the candidate rows 0, 1, 2 (2 of 3); at 0.5 the baseline rows 0, 2, 4 (2/3), the
    # candidate rows 0, 1 (2 of 2)
    data = write(pa.table({"y": [1, 1, 0, 0, 1, 0], "p_base": [0.9, 0.2, 0.7, 0.1, 0.8, 0.3],
                           "p_cand": [0.9, 0.6, 0.4, 0.1, 0.3, 0.3]}),
                 str(tmp_path / "data.parquet"))
    cfg = tmp_path / "config.textproto"
    cfg.write_text('model_specs { name: "base" label_key: "y" prediction_key: "p_base" '
                   'is_baseline: true }\nmodel_specs { name: "cand" label_key: "y" '
                   'prediction_key: "p_cand" }\nmetrics_specs { metrics { class_name: '
                   '"Precision" config: \'"thresholds": [0.3, 0.5]\' } }')
    out = str(tmp_path / "out")
    main(["evaluate", "--config", str(cfg), "--data", data, "--output", out])
    capsys.readouterr()
    _, stdout, _ = show(capsys, out, "--json")
    got = {(r["model"], r["metric"], r["threshold"]): r["value"]
           for r in map(json.loads, stdout.splitlines())}
    assert got == pytest.approx({("base", "precision", 0.3): 2 / 3, ("base", "precision", 0.5): 2 / 3,
                                 ("cand", "precision", 0.3): 2 / 3, ("cand", "precision", 0.5): 1.0,
                                 ("cand", "precision_diff", 0.3): 0.0,
                                 ("cand", "precision_diff", 0.5): 1 / 3})
    _, stdout, _ = show(capsys, out, "--metric", "precision_diff")
    assert table_rows(stdout)["Overall"] == {"cand/precision_diff@0.3 (unweighted)": "0",
                                             "cand/precision_diff@0.5 (unweighted)": "0.3333"}
