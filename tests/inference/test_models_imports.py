"""A run without models imports neither scikit-learn nor the model machinery (Beam's
RunInference, evalbeam.inference): stored predictions cost what they cost before."""
import os
import subprocess
import sys

from conftest import BASE, make_table
from helpers_io import write

SCRIPT = """
import sys
from evalbeam import run_evaluation
run_evaluation(sys.argv[1], sys.argv[2], sys.argv[3])
loaded = [m for m in ("sklearn", "joblib", "lightgbm", "onnxruntime", "evalbeam.inference",
                      "apache_beam.ml.inference.base") if m in sys.modules]
print("loaded:", loaded)
"""


def test_a_run_without_models_imports_no_model_library(tmp_path):
    data = write(make_table(300, seed=1), str(tmp_path / "d.parquet"))
    config = BASE + 'metrics_specs { metrics { class_name: "AUC" } }'
    run = subprocess.run([sys.executable, "-c", SCRIPT, config, data, str(tmp_path / "out")],
                         capture_output=True, text=True, env=os.environ, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "loaded: []" in run.stdout, run.stdout


CLI_SCRIPT = """
import sys
from evalbeam import cli
assert cli.main(["evaluate", "--config", sys.argv[1], "--data", sys.argv[2], "--output",
                 sys.argv[3], "--quiet"]) == 0
loaded = [m for m in ("sklearn", "joblib", "onnxruntime", "evalbeam.inference",
                      "apache_beam.ml.inference.base") if m in sys.modules]
print("loaded:", loaded)
"""


def test_a_command_without_models_imports_no_model_library(tmp_path):
    data = write(make_table(300, seed=2), str(tmp_path / "d.parquet"))
    (tmp_path / "c.textproto").write_text(BASE + 'metrics_specs { metrics { class_name: "AUC" } }')
    run = subprocess.run([sys.executable, "-c", CLI_SCRIPT, str(tmp_path / "c.textproto"), data,
                          str(tmp_path / "out")], capture_output=True, text=True,
                         env=os.environ, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "loaded: []" in run.stdout, run.stdout
