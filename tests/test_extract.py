"""Extract: labels, predictions and weights read from each batch and checked; a bad value is
one line naming the file, the column and what was wrong, and null labels or predictions are
dropped and counted."""
import pyarrow as pa
import pytest

from bad_input import one_line_error, with_column
from conftest import BASE, make_table
from evalbeam import run_evaluation
from helpers_io import write

NULLS_CONFIG = BASE + 'metrics_specs { metrics { class_name: "ExampleCount" } }'


def test_missing_column(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, make_table(50).drop_columns(["weight"]))
    assert "d.parquet" in msg and "no column 'weight'" in msg and "columns present: label" in msg
    msg = one_line_error(capsys, tmp_path, make_table(50).drop_columns(["age"]))
    assert "no column 'age' (slicing spec age)" in msg


def test_labels_not_binary(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, with_column("label", [0, 2, 5, 1]))
    assert "'label'" in msg and "2 label(s) that are not 0 or 1 (e.g. 2, 5)" in msg and "AUC" in msg


def test_predictions_outside_unit_interval(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, with_column("prediction", [0.1, 1.5, -0.2, 0.3]))
    assert "'prediction'" in msg and "2 prediction(s) outside [0, 1]" in msg


@pytest.mark.parametrize("column", ["label", "prediction", "weight"])
def test_nan_or_infinite(capsys, tmp_path, column):
    msg = one_line_error(capsys, tmp_path, with_column(column, [0.0, float("nan"), float("inf"), 1.0]))
    assert f"'{column}'" in msg and "2 NaN or infinite value(s)" in msg


def test_negative_weights(capsys, tmp_path):
    msg = one_line_error(capsys, tmp_path, with_column("weight", [1.0, -2.0, 1.0, 0.5]))
    assert "1 negative weight(s) (e.g. -2)" in msg


def test_bad_value_in_a_later_file_names_that_file(capsys, tmp_path):
    write(make_table(50), str(tmp_path / "a.parquet"))
    write(with_column("label", [0, 1, 7, 1]), str(tmp_path / "b.parquet"))
    msg = one_line_error(capsys, tmp_path, data=str(tmp_path / "*.parquet"))
    assert "b.parquet" in msg and "not 0 or 1" in msg


def test_null_labels_are_dropped_and_counted(tmp_path):
    t = pa.table({"label": [1, None, 0, 1], "prediction": [0.9, 0.2, None, 0.6],
                  "weight": [1.0, 1.0, 1.0, 1.0], "country": ["us"] * 4})
    result = run_evaluation(NULLS_CONFIG, t, str(tmp_path / "out"))
    assert result.summary["rows_read"] == 4 and result.summary["rows_used"] == 2
    assert result.summary["rows_dropped"] == {"null label ('label')": 1,
                                              "null prediction ('prediction')": 1}
