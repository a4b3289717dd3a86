"""What a run leaves out is said: slices below min_slice_size (once each, named by `show`) and
an input without rows (a warning on stderr, in summary.json and from Python)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam import run_evaluation
from evalbeam.cli import main
from evalbeam.errors import EvalbeamWarning

MODEL = 'model_specs { label_key: "y" prediction_key: "p" }\n'


def test_a_slice_omitted_by_two_specs_is_counted_once_and_named(tmp_path, capsys):
    table = pa.table({"y": [1, 0, 1, 0, 1], "p": [0.9, 0.2, 0.6, 0.4, 0.7],
                      "country": ["us", "us", "us", "de", "de"]})
    pq.write_table(table, tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(
        MODEL + 'metrics_specs { metrics { class_name: "BinaryAccuracy" '
        'threshold { value_threshold { lower_bound { value: 0 } } } } }\n'
        'slicing_specs {} slicing_specs { feature_keys: ["country"] }\n'
        'slicing_specs { feature_values { key: "country" value: "de" } }\n'
        'options { min_slice_size { value: 3 } }')
    out = str(tmp_path / "o")
    assert main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data",
                 str(tmp_path / "d.parquet"), "--output", out]) == 0
    summary = json.load(open(tmp_path / "o" / "summary.json"))
    assert summary["slices_omitted_below_min_slice_size"] == 1  # de: 2 rows < 3, us: 3 rows
    from evalbeam import load_result
    result = load_result(out)
    assert len(result.validation.omitted_slices) == 1
    assert result.omitted == [(("country", "de"),)]
    capsys.readouterr()
    main(["show", out])
    assert "1 slice(s) below min_slice_size omitted: country=de\n" in capsys.readouterr().out


def test_show_names_at_most_20_omitted_slices(tmp_path, capsys):
    n = 25
    table = pa.table({"y": [1, 0] * n, "p": [0.9, 0.1] * n,
                      "user": [f"u{i:02d}" for i in range(n)] * 2})
    run_evaluation(MODEL + 'metrics_specs { metrics { class_name: "BinaryAccuracy" } }\n'
                   'slicing_specs {} slicing_specs { feature_keys: ["user"] }\n'
                   'options { min_slice_size { value: 3 } }', table, str(tmp_path / "o"))
    main(["show", str(tmp_path / "o")])
    (line,) = [x for x in capsys.readouterr().out.splitlines()
               if "below min_slice_size omitted" in x]  # (the spec line counts them too)
    names = "; ".join(f"user=u{i:02d}" for i in range(20))
    assert line == f"25 slice(s) below min_slice_size omitted: {names} ... and 5 more"


def test_an_input_without_rows_is_warned_about(tmp_path, capsys):
    empty = pa.table({"y": pa.array([], pa.int64()), "p": pa.array([], pa.float64())})
    pq.write_table(empty, tmp_path / "d.parquet")
    (tmp_path / "c.textproto").write_text(MODEL + 'metrics_specs { metrics { class_name: "AUC" } }')
    out = str(tmp_path / "o")
    assert main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data",
                 str(tmp_path / "d.parquet"), "--output", out]) == 0
    captured = capsys.readouterr()
    warning = "the input has no rows: every slice is empty (no metric has a value)"
    assert captured.err.splitlines() == [f"evalbeam: warning: {warning}"]
    assert json.load(open(tmp_path / "o" / "summary.json"))["warnings"] == [warning]
    main(["show", out])
    assert f"warning: {warning}" in capsys.readouterr().out
    with pytest.warns(EvalbeamWarning, match="the input has no rows"):
        run_evaluation(MODEL + 'metrics_specs { metrics { class_name: "AUC" } }', empty,
                       str(tmp_path / "o2"))


def test_an_input_whose_rows_are_all_dropped_is_warned_about(tmp_path):
    table = pa.table({"y": pa.array([None, None], pa.int64()), "p": [0.1, 0.2]})
    with pytest.warns(EvalbeamWarning, match="all 2 rows read were dropped"):
        result = run_evaluation(MODEL + 'metrics_specs { metrics { class_name: "AUC" } }', table,
                                str(tmp_path / "o"))
    assert result.summary["warnings"] == [
        "all 2 rows read were dropped (see rows_dropped): every slice is empty"]
