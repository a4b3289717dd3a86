"""Reading a config: text proto or JSON (TFMA's too), from a file or text, without guessing."""
import pytest
from google.protobuf import json_format

from config_text import BASE
from evalbeam.config import parse_config
from evalbeam.errors import ConfigError
from evalbeam.proto import config_pb2


def test_json_config_and_tfma_eval_run_json_are_accepted():
    config = parse_config(BASE % "" + 'metrics_specs { metrics { class_name: "AUC" config: \'"num_thresholds": 100\' } }')
    run = config_pb2.EvalRun(version="x")
    run.eval_config.CopyFrom(config)
    assert parse_config(json_format.MessageToJson(run)) == config
    assert parse_config(json_format.MessageToJson(config)) == config


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
