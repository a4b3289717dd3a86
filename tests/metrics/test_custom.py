"""Metrics of your own: the documented example module, checked against numpy, through the
in-process accumulator, the Beam pipeline, and with confidence intervals; and the errors."""
import pathlib
import sys
import types

import numpy as np
import pytest

from conftest import evaluate_in_process, make_table, plan, split_batches, BASE
from evalbeam import run_evaluation
from evalbeam.errors import ConfigError
from evalbeam.metrics import custom

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))

CONFIG = """metrics_specs {
  metrics { module: "custom_metrics" class_name: "MeanAbsoluteLogError" }
  metrics { module: "custom_metrics" class_name: "MeanAbsoluteLogError" config: '"offset": 2.0, "name": "male2"' }
  metrics { class_name: "TruePositives" } metrics { class_name: "FalsePositives" }
  metrics { module: "custom_metrics" class_name: "FalsePositivesPerTruePositive" }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


def test_custom_and_derived_metrics_match_numpy(table):
    metrics, _, _ = evaluate_in_process(plan(CONFIG), split_batches(table, sizes_seed=3))
    y = table.column("label").to_numpy().astype(float)
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy()
    country = np.array(table.column("country").to_pylist())
    for key, got in metrics.items():
        m = np.ones(len(y), bool) if not key else country == key[0][1]
        for name, offset in (("mean_absolute_log_error", 1.0), ("male2", 2.0)):
            want = np.average(np.abs(np.log(offset + p[m]) - np.log(offset + y[m])), weights=w[m])
            assert got[name] == pytest.approx(want, rel=1e-12)
        hard = p[m] > 0.5
        ratio = w[m][hard & (y[m] == 0)].sum() / w[m][hard & (y[m] == 1)].sum()
        assert got["false_positives_per_true_positive"] == pytest.approx(ratio, rel=1e-12)


def test_custom_metrics_in_the_pipeline_with_intervals(tmp_path):
    text = BASE + CONFIG + "options { compute_confidence_intervals { value: true } }"
    result = run_evaluation(text, make_table(3000), str(tmp_path / "o"))
    low, high = result.interval("mean_absolute_log_error")
    assert low < result.value("mean_absolute_log_error") < high
    low, high = result.interval("false_positives_per_true_positive")
    assert low < result.value("false_positives_per_true_positive") < high


@pytest.mark.parametrize("method", ["", "confidence_intervals { method: POISSON_BOOTSTRAP }"])
def test_a_max_state_in_the_pipeline_with_intervals(tmp_path, method):
    text = (BASE + 'metrics_specs { metrics { module: "custom_metrics" class_name: '
            '"MaxAbsoluteError" } }\nslicing_specs {} slicing_specs { feature_keys: ["country"] }\n'
            "options { compute_confidence_intervals { value: true } %s }" % method)
    table = make_table(400, seed=5)
    result = run_evaluation(text, table, str(tmp_path / "o"))
    y = table.column("label").to_numpy().astype(float)
    p = table.column("prediction").to_numpy().astype(float)
    w = table.column("weight").to_numpy()
    country = np.array(table.column("country").to_pylist())
    for value in ("us", "jp"):
        m = (country == value) & (w > 0)
        want = np.abs(y[m] - p[m]).max()
        key = (("country", value),)
        assert result.value("max_absolute_error", slice_key=key) == pytest.approx(want, rel=1e-6)
        low, high = result.interval("max_absolute_error", slice_key=key)
        # no resample's max exceeds the slice's (an interval summing maxima would be far above)
        assert 0.0 <= low <= want and high < 2 * want


def test_a_value_range_must_be_low_high():
    class Odd(custom.CustomMetric):
        states = (custom.StateSpec("s"),)
        value_range = (1.0, 0.0)

    sys.modules["odd_range_metrics"] = types.SimpleNamespace(Odd=Odd)
    with pytest.raises(ConfigError, match=r"Odd.value_range to be \(low, high\) with low <= "
                                          r"high, got \(1.0, 0.0\)"):
        plan('metrics_specs { metrics { module: "odd_range_metrics" class_name: "Odd" } }')


@pytest.mark.parametrize("metric, match", [
    ('module: "no_such_module" class_name: "X"', "cannot import module 'no_such_module'"),
    ('module: "custom_metrics" class_name: "Missing"', "has no CustomMetric or DerivedMetric named 'Missing'"),
    ('module: "custom_metrics" class_name: "MeanAbsoluteLogError" config: \'"offsett": 1\'',
     r"MeanAbsoluteLogError\({'offsett': 1}\) raised TypeError: .*unexpected keyword argument 'offsett'$"),
    ('module: "custom_metrics" class_name: "FalsePositivesPerTruePositive"',
     r"needs metrics \['false_positives', 'true_positives'\]"),
])
def test_errors_name_the_problem(metric, match):
    with pytest.raises(ConfigError, match=match):
        plan("metrics_specs { metrics { %s } }" % metric)


# -- An error in the user's module names the module, the error and the line -------------------
GOOD = '''import numpy as np
from evalbeam.metrics import CustomMetric, StateSpec


class Sums(CustomMetric):
    states = (StateSpec("w"),)

    def add_batch(self, labels, predictions, weights, slice_codes, n_slices):
        return {"w": np.bincount(slice_codes, weights, n_slices)}

    def result(self, state):
        return state["w"]
'''


def _run_cli(tmp_path, capsys, module, source, class_name="Sums"):
    """evaluate with the metric ``module.class_name`` written from ``source``: (code, stderr
    lines, the module's file)."""
    from evalbeam.cli import main
    from helpers_io import write

    folder = tmp_path / "user"
    folder.mkdir(exist_ok=True)
    path = folder / f"{module}.py"
    path.write_text(source)
    sys.path.insert(0, str(folder))
    try:
        config = tmp_path / "config.textproto"
        config.write_text(BASE + 'metrics_specs { metrics { module: "%s" class_name: "%s" } }'
                          % (module, class_name))
        data = write(make_table(300), str(tmp_path / "d.parquet"))
        code = main(["evaluate", "--config", str(config), "--data", data,
                     "--output", str(tmp_path / "out"), "--no_report"])
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)
    return code, capsys.readouterr().err.splitlines(), str(path)


def _line(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.mark.parametrize("module, change, error", [
    ("import_fails_metrics", ("import numpy as np\n", "import numpy as np\nSCALE = 1 / 0\n"),
     "ZeroDivisionError: division by zero"),
    ("dependency_missing_metrics", ("import numpy as np\n", "import numpy as np\nimport no_such_dep\n"),
     "ModuleNotFoundError: No module named 'no_such_dep'"),
    ("syntax_error_metrics", ("return state", "return state ="), "SyntaxError: invalid syntax"),
])
def test_an_error_importing_the_module_names_its_line(tmp_path, capsys, module, change, error):
    source = GOOD.replace(*change)
    code, err, path = _run_cli(tmp_path, capsys, module, source)
    line = _line(source, change[1].splitlines()[-1])
    assert code == 2
    assert err == [f"evalbeam: error: metrics_specs[0].metrics[0] (Sums): cannot import module "
                   f"{module!r}: {error} (at {path} line {line})"]


@pytest.mark.parametrize("module, change, method, error", [
    ("add_batch_fails_metrics",  # numpy raises: the user's line that called it is named
     ("np.bincount(slice_codes, weights, n_slices)", "np.bincount(slice_codes, weights[:1], n_slices)"),
     "add_batch", "ValueError: The weights and list don't have the same length."),
    ("result_fails_metrics", ('return state["w"]', 'return state["weight"]'), "result",
     "KeyError: 'weight'"),
])
def test_an_error_inside_the_users_code_names_its_line(tmp_path, capsys, module, change,
                                                       method, error):
    source = GOOD.replace(*change)
    code, err, path = _run_cli(tmp_path, capsys, module, source)
    assert code == 2
    assert err == [f"evalbeam: error: custom metric {module}.Sums: {method} raised {error} "
                   f"(at {path} line {_line(source, change[1])})"]


def test_a_state_of_the_wrong_shape_is_the_users_error(tmp_path, capsys):
    source = GOOD.replace('return {"w": np.bincount(slice_codes, weights, n_slices)}',
                          'return {"w": weights}')
    code, err, _ = _run_cli(tmp_path, capsys, "wrong_shape_metrics", source)
    assert code == 2
    assert err == ["evalbeam: error: custom metric wrong_shape_metrics.Sums: add_batch must "
                   "return state 'w' of shape (1,), got (300,)"]
