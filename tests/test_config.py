"""Config loading and checking: TFMA's vocabulary, defaults, and one clear line per mistake."""
import pytest
from google.protobuf import json_format

from evalbeam.config import parse_config, resolve
from evalbeam.errors import ConfigError
from evalbeam.proto import config_pb2

BASE = 'model_specs { label_key: "y" prediction_key: "p" %s }\n'


def plan(text, weight=""):
    return resolve(parse_config(BASE % weight + text))


def test_default_names_and_weighting_follow_tfma():
    p = plan('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "WeightedExampleCount" } '
             'metrics { class_name: "BinaryCrossentropy" } }')
    assert [m.key.name for m in p.metrics] == ["auc", "weighted_example_count", "binary_crossentropy"]
    assert not any(m.key.example_weighted for m in p.metrics)  # no weight column: unweighted
    p = plan('metrics_specs { metrics { class_name: "AUC" } }', 'example_weight_key: "w"')
    assert [m.key.example_weighted for m in p.metrics] == [True]
    p = plan('metrics_specs { metrics { class_name: "AUC" } example_weights { weighted: true unweighted: true } }',
             'example_weight_key: "w"')
    assert sorted(m.key.example_weighted for m in p.metrics) == [False, True]


def test_json_config_and_tfma_eval_run_json_are_accepted():
    config = parse_config(BASE % "" + 'metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": 100\' } }')
    run = config_pb2.EvalRun(version="x")
    run.eval_config.CopyFrom(config)
    assert parse_config(json_format.MessageToJson(run)) == config
    assert parse_config(json_format.MessageToJson(config)) == config


@pytest.mark.parametrize("text, match", [
    ('metrics_specs { metrics { class_name: "AUC" config: \'"num_threshold": 10\' } }',
     r"unknown config key\(s\) \['num_threshold'\]; AUC takes"),
    ('metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": \' } }',
     "config is not valid JSON"),
    ('metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "AUC" } }',
     "configured twice"),
    ('metrics_specs { model_names: "candidate" metrics { class_name: "AUC" } }',
     r"model_names \['candidate'\] match no model spec"),
    ('metrics_specs { metrics { class_name: "AUC" threshold { change_threshold { absolute { value: 0 } } } } }',
     "change_threshold compares with a baseline, but no model spec has is_baseline"),
    ('metrics_specs { metrics { class_name: "AUC" threshold { value_threshold { lower_bound { value: 0.9 } '
     'upper_bound { value: 0.1 } } } } }', "lower_bound 0.9 is above upper_bound 0.1"),
    ('metrics_specs { metrics { class_name: "CalibrationPlot" threshold { value_threshold { lower_bound { value: 0 } } } } }',
     "a threshold on a plot"),
    ('metrics_specs { metrics { class_name: "AUC" } binarize { } }',
     "binarize: give class_ids, k_list or top_k_list"),
    ('metrics_specs { metrics { class_name: "AUC" } binarize { k_list { values: 0 } } }',
     r"binarize.k_list: expected values >= 1, got \[0\]"),
    ('metrics_specs { metrics { class_name: "AUC" } aggregate { macro_average: true } }',
     "macro_average needs the classes to average: give class_weights"),
    ('metrics_specs { metrics { class_name: "AUC" } aggregate { class_weights { key: 0 value: 1 } } }',
     "aggregate: set micro_average, macro_average or weighted_macro_average"),
    ('metrics_specs { metrics { class_name: "Precision" config: \'"class_id": 2\' } '
     'binarize { class_ids { values: 1 } } }', "cannot be combined with the metrics_spec's binarize"),
    ('metrics_specs { metrics { class_name: "Precision" config: \'"top_k": 0\' } }',
     r"Precision\): top_k must be a whole number of at least 1, got 0"),
    ('metrics_specs { metrics { class_name: "AUC" } } slicing_specs { slice_keys_sql: "x" }',
     "slice_keys_sql is not supported"),
    ('metrics_specs { metrics { class_name: "AUC" } thresholds { key: "aucc" value {} } }',
     "no metric named 'aucc'"),
    ('', "no metrics configured"),
])
def test_mistakes_are_one_line_config_errors(text, match):
    with pytest.raises(ConfigError, match=match) as info:
        plan(text)
    assert "\n" not in str(info.value)


def test_the_same_metric_under_two_aggregates_is_accepted(tmp_path):
    import numpy as np
    import pyarrow as pa
    from evalbeam import run_evaluation

    # 3 classes; class c is predicted where its score is the highest (> 0.5 here)
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    scores = np.array([[.8, .1, .1], [.2, .7, .1], [.1, .8, .1], [.6, .3, .1],
                       [.1, .1, .8], [.1, .2, .7], [.7, .2, .1], [.2, .2, .6]])
    classes = "binarize { class_ids { values: [0, 1, 2] } }"
    text = (BASE % "" + 'metrics_specs { metrics { class_name: "Precision" } '
            'metrics { class_name: "ExampleCount" } %s aggregate { macro_average: true } }\n'
            'metrics_specs { metrics { class_name: "Precision" } '
            'metrics { class_name: "ExampleCount" } %s aggregate { micro_average: true } }'
            % (classes, classes))
    result = run_evaluation(text, pa.table({"y": y, "p": list(scores)}), str(tmp_path / "o"))
    got = {(k.name, k.sub_key.class_id if k.sub_key else None, k.aggregation_type): v
           for k, v in result.metrics[()].items()}
    predicted = scores > 0.5
    tp = np.array([(predicted[:, c] & (y == c)).sum() for c in range(3)])
    pp = predicted.sum(axis=0)
    for c in range(3):
        assert got[("precision", c, None)] == pytest.approx(tp[c] / pp[c])
    assert got[("precision", None, "macro_average")] == pytest.approx(np.mean(tp / pp))
    assert got[("precision", None, "micro_average")] == pytest.approx(tp.sum() / pp.sum())
    assert got[("example_count", None, None)] == 8
    with pytest.raises(ConfigError, match="configured twice"):  # a different AUC, same key
        plan('metrics_specs { metrics { class_name: "AUC" } }\n'
             'metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": 10\' } }')


def test_malformed_text_names_the_position():
    with pytest.raises(ConfigError, match=r"cfg\.textproto: 2:"):
        parse_config('model_specs { label_key: "y" }\nmetrics_specs { metrics { clas_name: "AUC" } }',
                     "cfg.textproto")


# -- A config is a file or text, decided without guessing --------------------------------------
TEXT = BASE % "" + 'metrics_specs { metrics { class_name: "ExampleCount" } }'


def _metric_names(eval_plan):
    return [m.key.name for m in eval_plan.metrics]


def test_a_path_containing_model_specs_is_a_path(tmp_path, capsys):
    from conftest import make_table
    from evalbeam.cli import main
    from helpers_io import write

    folder = tmp_path / "model_specs"  # a word of the config's vocabulary, in a folder name
    folder.mkdir()
    (folder / "model_specs.textproto").write_text(
        'model_specs { label_key: "label" prediction_key: "prediction" }\n'
        'metrics_specs { metrics { class_name: "ExampleCount" } }')
    data = write(make_table(300), str(tmp_path / "d.parquet"))
    code = main(["evaluate", "--config", str(folder / "model_specs.textproto"), "--data", data,
                 "--output", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "evaluated 300 of 300 rows" in out.out


def test_the_command_line_config_is_always_a_file(tmp_path, capsys):
    from conftest import make_table
    from evalbeam.cli import main
    from helpers_io import write

    data = write(make_table(50), str(tmp_path / "d.parquet"))
    for given in (str(tmp_path / "no" / "cfg.textproto"), TEXT.replace("\n", " ")):
        code = main(["evaluate", "--config", given, "--data", data,
                     "--output", str(tmp_path / "out")])
        assert code == 2
        assert capsys.readouterr().err == f"evalbeam: error: config file {given}: no such file\n"


def test_the_api_takes_a_path_like_a_file_name_or_text(tmp_path, monkeypatch):
    import pathlib

    from evalbeam.api import as_plan

    cfg = tmp_path / "model_specs"  # an existing file without extension, named like the text
    cfg.write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    for given in (cfg, str(cfg), "model_specs", pathlib.Path("model_specs"), TEXT,
                  TEXT.replace("\n", " "), json_format.MessageToJson(parse_config(TEXT))):
        assert _metric_names(as_plan(given)) == ["example_count"], given


@pytest.mark.parametrize("given", ["cfg.textproto", "configs/eval.pbtxt", "eval_config.json",
                                   "configs/model_specs", "./model_specs.txt"])
def test_a_missing_file_is_said_to_be_missing(tmp_path, monkeypatch, given):
    import pathlib

    from evalbeam.api import as_plan

    monkeypatch.chdir(tmp_path)
    for value in (given, pathlib.Path(given)):
        with pytest.raises(ConfigError) as info:
            as_plan(value)
        assert info.value.message == f"config file {value}: no such file"


def test_a_folder_or_unreadable_file_is_said_so(tmp_path):
    from evalbeam.api import as_plan

    with pytest.raises(ConfigError, match=rf"^evalbeam error: config file {tmp_path}: is a "
                                          "folder, not a file$"):
        as_plan(tmp_path)
    latin = tmp_path / "cfg.textproto"
    latin.write_bytes(b"# caf\xe9\n" + TEXT.encode())
    with pytest.raises(ConfigError, match=r"cfg.textproto: not UTF-8 text \(byte 5\)$"):
        as_plan(str(latin))
