"""The sdist and the wheel, as a remote worker gets them: ``python -m build``, the wheel installed
into a fresh virtual environment (its dependencies from the package index, nothing from this
tree), the demo run from there; and the sdist holds what ``--setup_file`` ships.

Costs about 80 s, most of it pip installing the dependencies (~490 MB) from the package index
into the new environment (pip's cache is not reused on this machine)."""
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS = 3000


def _run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel built from this tree (the wheel from the sdist, as pip would)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    sdist, = out.glob("evalbeam-*.tar.gz")
    wheel, = out.glob("evalbeam-*.whl")
    return sdist, wheel


def _clean_env():
    """The environment without anything that would put this tree or the test venv in reach."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_sdist_holds_what_a_remote_worker_needs(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n[len(top) + 1:] for n in tar.getnames()}
    protos = {p.relative_to(ROOT).as_posix() for p in (ROOT / "protos").rglob("*.proto")}
    assert protos and protos <= names, sorted(protos - names)
    package_data = {p.relative_to(ROOT).as_posix()
                    for folder in ("report/assets", "report/vendor", "examples", "proto")
                    for p in (ROOT / "pipeline/evalbeam" / folder).iterdir()
                    if p.is_file() and p.suffix != ".pyc"}
    assert package_data <= names, sorted(package_data - names)
    vendor = "pipeline/evalbeam/report/vendor/LICENSE."
    assert {vendor + lib for lib in ("vega", "vega-lite", "vega-embed")} <= names
    assert {"setup.py", "pyproject.toml", "README.md", "MANIFEST.in"} <= names
    # the test tree comes whole (its shared fixtures too), or not at all
    assert {"tests/conftest.py", "tests/metrics/test_contract.py", "tests/test_packaging.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_wheel_installed_alone_runs_the_demo(dist, tmp_path):
    _, wheel = dist
    with zipfile.ZipFile(wheel) as z:
        files = set(z.namelist())
    assert {"evalbeam/report/assets/template.html", "evalbeam/report/vendor/vega.min.js",
            "evalbeam/examples/b1.textproto", "evalbeam/proto/config_pb2.py"} <= files
    assert not any(f.startswith(("tests/", "pipeline/")) for f in files)

    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    env = _clean_env()
    _run([base, "-m", "venv", str(venv)], env=env, cwd=tmp_path)
    python, cli = venv / "bin" / "python", venv / "bin" / "evalbeam"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], env=env, cwd=tmp_path)

    where = _run([str(python), "-c", "import evalbeam, sys; print(evalbeam.__file__); "
                  "print('\\n'.join(sys.path))"], env=env, cwd=tmp_path).splitlines()
    assert Path(where[0]).is_relative_to(venv), where[0]
    assert not any(p and Path(p).resolve().is_relative_to(ROOT) for p in where[1:]), where

    demo = tmp_path / "demo"
    _run([str(cli), "demo", "--output", str(demo), "--rows", str(ROWS)], env=env, cwd=tmp_path)
    result = demo / "result"
    for name in ("eval_config.json", "summary.json", "validations.tfrecord", "report.html"):
        assert (result / name).is_file(), name
    assert list(result.glob("metrics-*-of-*")) and list(result.glob("plots-*-of-*"))
    assert "vega" in (result / "report.html").read_text()  # the vendored charts are inlined

    shown = _run([str(cli), "show", str(result), "--json"], env=env, cwd=tmp_path)
    overall = {r["metric"]: r["value"] for r in map(json.loads, shown.splitlines())
               if r["slice"] == []}
    data = pq.read_table(demo / "data.parquet")
    y = data.column("label").to_numpy().astype(np.float64)
    w = data.column("weight").to_numpy().astype(np.float64)
    p = data.column("prediction").to_numpy().astype(np.float64)
    assert len(y) == ROWS
    assert overall["weighted_example_count"] == pytest.approx(w.sum(), rel=1e-12)
    assert overall["mean_label"] == pytest.approx((w * y).sum() / w.sum(), rel=1e-12)
    assert overall["mean_prediction"] == pytest.approx((w * p).sum() / w.sum(), rel=1e-9)
