"""Model files' options on the command line (--model_option NAME:KEY=VALUE), what the run
records of its models (summary.json, eval_config.json, show, the report's run facts,
EvalResult.models), and bad options said in one line (exit 2) before anything runs."""
import json
import shutil

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from evalbeam import cli, load_result
from test_onnx_model import sigmoid_scores
from test_onnx_pipeline import onnx_file
from trained import FEATURES, frame, one_line_error as _one_line, save, write

CONFIG = """
model_specs { name: "new" label_key: "label" example_weight_key: "weight"
              feature_keys: ["f0", "f1", "f2", "f3"] }
model_specs { name: "prod" label_key: "label" example_weight_key: "weight" is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "BinaryCrossEntropy" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Data; a network-like ONNX model (input x, two sigmoid outputs a and b, neither named
    'prob': output_name and kind must say which to read and what it is) saved without a
    suffix; a scikit-learn baseline."""
    tmp = tmp_path_factory.mktemp("models_cli")
    df = frame(3000, seed=21)
    path, Wb = sigmoid_scores(tmp)
    bare = tmp / "network"  # no suffix: format=onnx says what it is
    shutil.copy(path, bare)
    prod = LogisticRegression().fit(df[FEATURES], df["label"])
    (tmp / "c.textproto").write_text(CONFIG)
    data = write(df, tmp / "d.parquet", row_group_size=1000)
    scores = 1 / (1 + np.exp(-(df[FEATURES].to_numpy() @ Wb)))
    return tmp, df, data, str(bare), save(prod, tmp / "prod.joblib"), scores, prod


def _evaluate(tmp, data, out, *args):
    return cli.main(["evaluate", "--config", str(tmp / "c.textproto"), "--data", data,
                     "--output", str(out), *args])


NETWORK_OPTIONS = ["--model_option", "new:format=onnx", "--model_option", "new:input_name=x",
                   "--model_option", "new:output_name=b", "--model_option", "new:kind=classifier"]


def test_model_options_pick_the_format_input_output_and_kind(setup, tmp_path, capsys):
    tmp, df, data, network, prod, scores, prod_model = setup
    code = _evaluate(tmp, data, tmp_path / "out", "--model", f"new={network}",
                     "--model", f"prod={prod}", *NETWORK_OPTIONS)
    assert code == 0, capsys.readouterr().err
    result = load_result(str(tmp_path / "out"))
    y, w = df["label"].to_numpy(), df["weight"].to_numpy()
    b = prod_model.predict_proba(df[FEATURES])[:, 1]
    for key, rows in [((), np.ones(len(df), bool))] + [
            ((("country", c),), (df["country"] == c).to_numpy()) for c in ("fr", "de", "jp")]:
        got = {(k.name, k.model_name): v for k, v in result.metrics[key].items()
               if not k.is_diff}
        # the network's scores are float32's
        assert got["binary_crossentropy", "new"] == pytest.approx(
            skm.log_loss(y[rows], scores[rows], sample_weight=w[rows]), rel=1e-5)
        assert got["auc", "new"] == pytest.approx(
            skm.roc_auc_score(y[rows], scores[rows], sample_weight=w[rows]), abs=2e-4)
        assert got["binary_crossentropy", "prod"] == pytest.approx(
            skm.log_loss(y[rows], b[rows], sample_weight=w[rows]), rel=1e-9)


def test_the_run_records_which_model_fed_which_spec_in_every_view(setup, tmp_path, capsys):
    tmp, _, data, network, prod, _, _ = setup
    out = tmp_path / "out"
    assert _evaluate(tmp, data, out, "--model", f"new={network}", "--model", f"prod={prod}",
                     *NETWORK_OPTIONS, "--quiet") == 0
    capsys.readouterr()
    want = [
        {"model_spec": "new", "path": network, "format": "onnx", "loader": "onnxruntime",
         "kind": "classifier",
         "options": {"input_name": "x", "kind": "classifier", "output_name": "b"},
         "prediction_key": "evalbeam.prediction.new", "features": "feature_keys",
         "n_features": 4},
        {"model_spec": "prod", "path": prod, "format": "sklearn", "loader": "joblib",
         "kind": "classifier", "options": {}, "prediction_key": "evalbeam.prediction.prod",
         "features": "recorded in the model", "n_features": 4}]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"] == want
    result = load_result(str(out))
    assert result.models == want
    config = json.loads((out / "eval_config.json").read_text())
    assert config["modelLocations"] == {"new": network, "prod": prod}

    # show: a line per model with every value it holds
    assert cli.main(["show", str(out)]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("model ")]
    assert shown == [
        f"model 'new': {network} (onnx, onnxruntime, classifier; input_name=x, "
        "kind=classifier, output_name=b) -> evalbeam.prediction.new, 4 features (feature_keys)",
        f"model 'prod': {prod} (sklearn, joblib, classifier) -> evalbeam.prediction.prod, "
        "4 features (recorded in the model)"]

    # the report's run facts hold the same lines
    from evalbeam.report.data import page_data

    facts = page_data([result])["runs"][0]["facts"]
    assert facts["model_files"] == shown


def test_a_run_of_stored_predictions_records_no_models(tmp_path):
    df = frame(500, seed=22)
    (tmp_path / "c.textproto").write_text(
        'model_specs { label_key: "label" prediction_key: "p" }\n'
        'metrics_specs { metrics { class_name: "AUC" } }')
    data = write(df.assign(p=0.5), tmp_path / "d.parquet")
    assert cli.main(["evaluate", "--config", str(tmp_path / "c.textproto"), "--data", data,
                     "--output", str(tmp_path / "out"), "--quiet"]) == 0
    assert "models" not in json.loads((tmp_path / "out" / "summary.json").read_text())
    assert load_result(str(tmp_path / "out")).models == []


@pytest.mark.parametrize("options, wanted", [
    (["new:inptu_name=x"], ["--model_option new:inptu_name=x: unknown model option "
                            "'inptu_name' (did you mean input_name?); the options are format, "
                            "input_name, output_name, kind"]),
    (["new:output=b"], ["unknown model option 'output' (did you mean output_name?)"]),
    (["old:input_name=x"], ["--model_option old:input_name=x: no --model old=PATH was given "
                            "(named models: 'new', 'prod')"]),
    (["input_name=x"], ["--model_option input_name=x: no --model PATH without a NAME was "
                        "given; say which model it is for: --model_option NAME:input_name=..."]),
    (["new:kind=onnx"], ["kind 'onnx': expected classifier or regressor (a file's format is "
                         "said by format=onnx)"]),
    (["new:format=tflite"], ["format 'tflite': expected sklearn or onnx"]),
    (["new:input_name"], ["--model_option new:input_name: expected [NAME:]KEY=VALUE"]),
    (["new:input_name=x", "new:input_name=y"], ["input_name given twice for model 'new' "
                                                "('x' and 'y')"]),
    (["prod:input_name=x"], ["--model_option (model 'prod'): model options input_name are for "
                             "ONNX models; ", "prod.joblib is a scikit-learn model (joblib or "
                             "pickle), which takes none"]),
], ids=["misspelt", "short-name", "no-such-model", "no-unnamed-model", "kind-for-format",
        "unknown-format", "no-value", "twice", "onnx-option-for-joblib"])
def test_bad_model_options_are_one_line(setup, tmp_path, capsys, options, wanted):
    tmp, _, data, _, prod, _, _ = setup
    model = onnx_file(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]), tmp_path / "m.onnx",
                      np.eye(4))
    args = ["--model", f"new={model}", "--model", f"prod={prod}"]
    for option in options:
        args += ["--model_option", option]
    assert _evaluate(tmp, data, tmp_path / "out", *args) == 2
    _one_line(capsys, *wanted)
    assert not (tmp_path / "out").exists()


def test_an_input_or_output_the_onnx_file_lacks(setup, tmp_path, capsys):
    tmp, _, data, network, prod, _, _ = setup
    models = ["--model", f"new={network}", "--model", f"prod={prod}",
              "--model_option", "new:format=onnx"]
    assert _evaluate(tmp, data, tmp_path / "out", *models,
                     "--model_option", "new:input_name=features") == 2
    _one_line(capsys, f"{network}: cannot load the model with onnxruntime: no input named "
                      "'features' (inputs: x tensor(float) [N, 4])")
    assert _evaluate(tmp, data, tmp_path / "out", *models,
                     "--model_option", "new:output_name=probabilities") == 2
    _one_line(capsys, f"{network}: cannot load the model with onnxruntime: no output named "
                      "'probabilities' (outputs: a tensor(float) [N, 1], b tensor(float) [N, 1])")
    # without format=onnx, a file whose suffix says nothing
    assert _evaluate(tmp, data, tmp_path / "out", "--model", f"new={network}") == 2
    _one_line(capsys, f"{network}: unknown model format (suffix 'none'); expected .joblib, "
                      ".pkl, .pickle (scikit-learn, joblib or pickle) or .onnx, or say it with "
                      "the model option format=sklearn|onnx")
    assert not (tmp_path / "out").exists()


def test_python_models_take_the_same_options_checked_the_same_way(setup, tmp_path):
    from evalbeam import run_evaluation
    from evalbeam.errors import ConfigError

    tmp, _, data, network, prod, _, _ = setup
    with pytest.raises(ConfigError, match=r"models\['new'\]: unknown model option 'outptu_name' "
                                          r"\(did you mean output_name\?\)"):
        run_evaluation(CONFIG, data, str(tmp_path / "o"),
                       models={"new": (network, {"format": "onnx", "outptu_name": "b"}),
                               "prod": prod})
    result = run_evaluation(CONFIG, data, str(tmp_path / "o"), models={
        "new": (network, {"format": "onnx", "output_name": "b", "kind": "classifier"}),
        "prod": prod})
    assert [m["options"] for m in result.models] == [
        {"kind": "classifier", "output_name": "b"}, {}]


def test_the_report_page_shows_the_models_in_its_run_facts(setup, tmp_path, page):
    """In headless Chromium: the run facts tab lists each model's line, as show prints it."""
    import chromium
    from selenium.webdriver.common.by import By

    tmp, _, data, network, prod, _, _ = setup
    out = tmp_path / "out"
    assert _evaluate(tmp, data, out, "--model", f"new={network}", "--model", f"prod={prod}",
                     *NETWORK_OPTIONS, "--quiet") == 0
    chromium.open_page(page, str(out / "report.html"))
    page.find_element(By.CSS_SELECTOR, 'nav#tabs button[data-tab="facts"]').click()
    facts = page.find_element("id", "facts").text
    from evalbeam.run_facts import model_text

    for model in load_result(str(out)).models:
        assert model_text(model) in facts
    errors, requests = chromium.logs(page).take()
    assert errors == [] and requests == []


def test_format_sklearn_for_a_file_without_a_suffix_and_a_misspelt_flag(setup, tmp_path,
                                                                        capsys):
    tmp, df, data, network, prod, scores, prod_model = setup
    bare = tmp_path / "prod-model"
    shutil.copy(prod, bare)
    assert _evaluate(tmp, data, tmp_path / "out", "--model", f"new={network}",
                     "--model", f"prod={bare}", *NETWORK_OPTIONS,
                     "--model_option", "prod:format=sklearn", "--quiet") == 0
    capsys.readouterr()
    result = load_result(str(tmp_path / "out"))
    y, w = df["label"].to_numpy(), df["weight"].to_numpy()
    b = prod_model.predict_proba(df[FEATURES])[:, 1]
    got = {(k.name, k.model_name): v for k, v in result.metrics[()].items() if not k.is_diff}
    assert got["binary_crossentropy", "prod"] == pytest.approx(
        skm.log_loss(y, b, sample_weight=w), rel=1e-9)
    assert [(m["format"], m["loader"]) for m in result.models] == [
        ("onnx", "onnxruntime"), ("sklearn", "pickle")]
    assert _evaluate(tmp, data, tmp_path / "out2", "--model", f"new={network}",
                     "--model_optoin", "new:format=onnx") == 2
    _one_line(capsys, "unknown flag --model_optoin (did you mean --model_option?)")
