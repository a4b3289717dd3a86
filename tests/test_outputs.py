"""Multi-output models: prediction_keys / label_keys / example_weight_keys per output, and
metrics restricted to some outputs with output_names."""
import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from evalbeam import run_evaluation
from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError

rng = np.random.default_rng(4)
N = 400
DATA = pa.table({
    "click": rng.integers(0, 2, N), "p_click": rng.random(N),
    "buy": rng.integers(0, 2, N), "p_buy": rng.random(N),
    "w_buy": rng.choice([1.0, 3.0], N),
})
MODEL = """model_specs { name: "m"
  prediction_keys { key: "click" value: "p_click" } prediction_keys { key: "buy" value: "p_buy" }
  label_keys { key: "click" value: "click" } label_keys { key: "buy" value: "buy" }
  example_weight_keys { key: "buy" value: "w_buy" } }
"""


def test_metrics_per_output_with_their_own_columns(tmp_path):
    config = MODEL + ('metrics_specs { metrics { class_name: "AUC" } '
                      'example_weights { weighted: true } }\n'
                      'metrics_specs { output_names: "buy" metrics { class_name: "MeanLabel" } }')
    result = run_evaluation(config, DATA, str(tmp_path / "o"))
    got = {(k.output_name, k.name): v for k, v in result.metrics[()].items()}
    d = {c: DATA.column(c).to_numpy() for c in DATA.column_names}
    assert got[("click", "auc")] == pytest.approx(roc_auc_score(d["click"], d["p_click"]), abs=1e-3)
    assert got[("buy", "auc")] == pytest.approx(
        roc_auc_score(d["buy"], d["p_buy"], sample_weight=d["w_buy"]), abs=1e-3)
    assert got[("buy", "mean_label")] == pytest.approx(np.average(d["buy"], weights=d["w_buy"]))
    assert ("click", "mean_label") not in got  # restricted by output_names


@pytest.mark.parametrize("spec, match", [
    (MODEL.replace('prediction_keys { key: "buy" value: "p_buy" }', ''),
     r"label_keys \['buy'\] name no output"),
    ('model_specs { prediction_key: "p" prediction_keys { key: "a" value: "p" } label_key: "y" }',
     "prediction_key or prediction_keys, not both"),
])
def test_bad_output_configs(spec, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(parse_config(spec + 'metrics_specs { metrics { class_name: "AUC" } }'))


def test_output_names_must_exist():
    with pytest.raises(ConfigError, match=r"output_names \['sell'\] are not outputs of model 'm'"):
        resolve_config(parse_config(MODEL + 'metrics_specs { output_names: "sell" metrics { class_name: "AUC" } }'))
