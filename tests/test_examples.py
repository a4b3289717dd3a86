"""The examples in examples/ run and do what they say."""
import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_orchestrator_step_blesses_the_better_candidate(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("orchestrator_step", EXAMPLES / "orchestrator_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(str(tmp_path)) == 0
    assert "pushing the candidate" in capsys.readouterr().out
    assert (tmp_path / "candidate" / "BLESSED").exists()
    assert (tmp_path / "candidate" / "regressions.json").exists()
