"""Bad input with models, said in one line before the pipeline runs (CLI exit 2): a feature
column missing or of the wrong type, a model file that does not load, an output that does not
fit the config, a --model name the config does not have."""
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from evalbeam import cli
from trained import FEATURES, frame, one_line_error as _one_line, save, write

CONFIG = """model_specs { name: "new" label_key: "label" }
metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "ExampleCount" } }
slicing_specs {}
"""


@pytest.fixture
def setup(tmp_path):
    df = frame(500, seed=5)
    (tmp_path / "c.textproto").write_text(CONFIG)
    return df, tmp_path


def _evaluate(tmp_path, data, *models, config="c.textproto"):
    args = ["evaluate", "--config", str(tmp_path / config), "--data", data,
            "--output", str(tmp_path / "out")]
    for model in models:
        args += ["--model", model]
    return cli.main(args)


def test_a_feature_column_the_model_recorded_is_missing(setup, capsys):
    df, tmp = setup
    model = save(LogisticRegression().fit(df[FEATURES], df["label"]), tmp / "m.joblib")
    data = write(df.drop(columns=["f2"]), tmp / "d.parquet")
    assert _evaluate(tmp, data, f"new={model}") == 2
    _one_line(capsys, "d.parquet: no column 'f2', a feature of model 'new' (", "m.joblib",
              "recorded in the model", "columns present: ")
    assert not (tmp / "out").exists()


def test_a_feature_column_of_the_wrong_type(setup, capsys):
    df, tmp = setup
    model = save(LogisticRegression().fit(df[FEATURES], df["label"]), tmp / "m.joblib")
    data = write(df.assign(f1=df["f1"].map("{:.2f}".format)), tmp / "d.parquet")
    assert _evaluate(tmp, data, model) == 2
    _one_line(capsys, "d.parquet: column 'f1' (recorded in the model, a feature of model 'new'",
              "has type large_string; the model takes numbers")


def test_default_features_of_the_wrong_type_or_count(setup, capsys):
    df, tmp = setup
    X = df[FEATURES].to_numpy()
    model = save(LogisticRegression().fit(X, df["label"]), tmp / "m.joblib")
    # country is not named by the config: a default feature, and a string
    data = write(df.drop(columns=["target", "weight"]), tmp / "d.parquet")
    assert _evaluate(tmp, data, model) == 2
    _one_line(capsys, "column 'country' (a column the config does not name, a feature of "
                      "model 'new'", "has type large_string")
    data = write(df.drop(columns=["country", "weight"]), tmp / "d2.parquet")  # + target: 5
    assert _evaluate(tmp, data, model) == 2
    _one_line(capsys, "model 'new' (", "takes 4 features, but 5 columns are its features (a "
                      "column the config does not name): f0, f1, f2, f3, target; set "
                      "feature_keys in its model spec")


def test_a_model_file_that_does_not_load(setup, capsys):
    df, tmp = setup
    (tmp / "broken.joblib").write_bytes(b"\x80\x04garbage")
    data = write(df, tmp / "d.parquet")
    assert _evaluate(tmp, data, str(tmp / "broken.joblib")) == 2
    _one_line(capsys, "broken.joblib: cannot load the model with joblib: ")
    assert _evaluate(tmp, data, str(tmp / "absent.pkl")) == 2
    _one_line(capsys, "absent.pkl: cannot load the model with pickle: no such file")


def test_a_regressor_for_auc(setup, capsys):
    df, tmp = setup
    model = save(LinearRegression().fit(df[FEATURES], df["target"]), tmp / "r.joblib")
    assert _evaluate(tmp, write(df, tmp / "d.parquet"), model) == 2
    _one_line(capsys, "model 'new' (", "r.joblib) is a regressor: AUC need a classifier's "
                      "class scores")


def test_three_class_scores_where_the_labels_say_five(setup, capsys):
    df, tmp = setup
    df3 = frame(500, seed=6, classes=3)
    model = save(LogisticRegression().fit(df3[FEATURES], df3["label"]), tmp / "m3.joblib")
    (tmp / "multi.textproto").write_text("""model_specs { name: "new" label_key: "label" }
    metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" } }""")
    five = write(frame(500, seed=7, classes=5), tmp / "five.parquet")
    assert _evaluate(tmp, five, model, config="multi.textproto") == 2
    _one_line(capsys, "five.parquet: model 'new' (", "m3.joblib) gives 3 class scores, but "
              "column 'label' (label_key) holds class ids up to 4")
    # the config asks for class 4 of 5
    (tmp / "ids.textproto").write_text("""model_specs { name: "new" label_key: "label" }
    metrics_specs { binarize { class_ids { values: [4] } } metrics { class_name: "Precision" } }""")
    three = write(df3, tmp / "three.parquet")
    assert _evaluate(tmp, three, model, config="ids.textproto") == 2
    _one_line(capsys, "the predictions of model 'new' (", "has 3 class scores, but the "
              "configured class ids / k need 5")


def test_model_names_that_the_config_does_not_have(setup, capsys):
    df, tmp = setup
    model = save(LogisticRegression().fit(df[FEATURES], df["label"]), tmp / "m.joblib")
    data = write(df, tmp / "d.parquet")
    assert _evaluate(tmp, data, f"prod={model}") == 2
    _one_line(capsys, "--model / models: no model spec is named 'prod' (model specs: 'new')")
    assert _evaluate(tmp, data, f"new={model}", f"new={model}") == 2
    _one_line(capsys, "--model: two models for model spec 'new'")
    assert _evaluate(tmp, data, str(tmp / "m.onnx.gz")) == 2
    _one_line(capsys, "m.onnx.gz: unknown model format (suffix '.gz')")
    (tmp / "unnamed.textproto").write_text('model_specs { label_key: "label" }\n'
                                           'metrics_specs { metrics { class_name: "AUC" } }')
    assert _evaluate(tmp, data, f"new={model}", config="unnamed.textproto") == 2
    _one_line(capsys, "--model / models: no model spec is named 'new': the config's only model "
              "spec has no name; give the model as --model PATH (models={'': ...}) or name "
              "the spec")


def test_a_model_that_fails_inside_the_pipeline_says_where_in_one_line(setup, capsys):
    """A null feature far past the first rows: LogisticRegression refuses NaN while the
    pipeline runs; the run stops with the batch's file, the model and the model's reason."""
    df, tmp = setup
    df = frame(3000, seed=5)
    model = save(LogisticRegression().fit(df[FEATURES], df["label"]), tmp / "m.joblib")
    df.loc[2500, "f3"] = None
    data = write(df, tmp / "d.parquet", row_group_size=1000)
    assert _evaluate(tmp, data, f"new={model}") == 2
    _one_line(capsys, "d.parquet (row group 2): model 'new' (", "m.joblib) failed to predict: "
              "ValueError: Input X contains NaN")
    assert not (tmp / "out").exists()
