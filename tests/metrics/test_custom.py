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
     "unexpected keyword argument 'offsett'"),
    ('module: "custom_metrics" class_name: "FalsePositivesPerTruePositive"',
     r"needs metrics \['false_positives', 'true_positives'\]"),
])
def test_errors_name_the_problem(metric, match):
    with pytest.raises(ConfigError, match=match):
        plan("metrics_specs { metrics { %s } }" % metric)
