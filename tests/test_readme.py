"""The README's examples run as written.

Every fenced ``python`` block runs in a fresh folder, and so does every shell block's evalbeam
command (other shell commands, such as creating a virtual environment, are the set-up this test
already stands on). The folder holds what the examples name: ``cfg.textproto`` (the README's
own config, from "A config") and ``preds/*.parquet``; a shell block naming a model file that a
python block writes gets that block run first. Every config snippet parses. A block
marked ``<!-- not run: reason -->`` on the line before its fence is skipped; keep them few.
"""
import os
import pathlib
import re
import stat
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam.config import parse_config, resolve_config

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
SHELL = {"sh", "bash", "shell", "console"}
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
_NOT_RUN = re.compile(r"<!--\s*not run\b[^>]*-->", re.IGNORECASE)
_COMMAND = re.compile(r"^\s*(?:\S*/)?evalbeam(?:\s|$)")


def blocks(text=None):
    """(language, code, heading, not run, line) of every fenced block of the README."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    found, heading, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        fence = _FENCE.match(line)
        if not fence:
            i += 1
            continue
        indent, marks, language = fence.groups()
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        start = i + 1  # the fence's line number
        body, i = [], i + 1
        while i < len(lines) and not lines[i].strip().startswith(marks):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        found.append((language.lower(), "\n".join(body) + "\n", heading,
                      bool(_NOT_RUN.search(before)), start))
        i += 1
    return found


def test_the_extraction_finds_fences_languages_and_marks():
    text = ("# T\n```sh\nevalbeam show out/\n```\n<!-- not run: needs a cluster -->\n\n"
            "```python\nx = 1\n```\n  ```\n  model_specs {}\n  ```\n")
    assert [(b[0], b[1], b[3]) for b in blocks(text)] == [
        ("sh", "evalbeam show out/\n", False), ("python", "x = 1\n", True),
        ("", "model_specs {}\n", False)]


def _by_heading(name):
    return next((code for language, code, heading, _, _ in blocks()
                 if heading == name and not language), None)


def _predictions(folder):
    """Data of the README's columns: label, prediction, weight, country, device, age."""
    rng = np.random.default_rng(11)
    os.makedirs(folder / "preds", exist_ok=True)
    for part in range(2):
        n = 3000
        label = rng.integers(0, 2, n)
        table = pa.table({
            "label": label,
            "prediction": np.clip(rng.beta(2, 3, n) + 0.35 * label, 0, 1).astype(np.float32),
            "weight": rng.choice([0.5, 1.0, 2.0], n).astype(np.float32),
            "country": rng.choice(["us", "de", "fr"], n, p=[0.5, 0.3, 0.2]),
            "device": rng.choice(["mobile", "desktop"], n),
            "age": rng.integers(18, 80, n)})
        pq.write_table(table, folder / "preds" / f"part-{part}.parquet")


@pytest.fixture
def folder(tmp_path):
    """A fresh folder with what the examples name, and an `evalbeam` command on PATH that runs
    this tree's CLI with this interpreter."""
    work = tmp_path / "work"
    work.mkdir()
    config = _by_heading("A config")
    assert config and "model_specs" in config, "README: no config block under 'A config'"
    (work / "cfg.textproto").write_text(config)
    _predictions(work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "evalbeam"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m evalbeam.cli "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return work, env


def _runnable(language):
    return [(code, line) for lang, code, _, skip, line in blocks()
            if lang == language and not skip]


def _evalbeam_commands(code):
    """The evalbeam commands of a shell block (continuation lines joined; `a && evalbeam ...`
    keeps the evalbeam part), with `.venv/bin/evalbeam` meaning the evalbeam on PATH."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for line in joined.splitlines():
        for part in re.split(r"&&|;", line):
            if _COMMAND.match(part):
                commands.append(re.sub(r"^\s*\S*/evalbeam", "evalbeam", part).strip())
    return commands


SHELL_BLOCKS = [(code, line) for lang in sorted(SHELL) for code, line in _runnable(lang)
                if _evalbeam_commands(code)]
PYTHON_BLOCKS = _runnable("python")


def test_the_readme_has_runnable_examples():
    assert len(SHELL_BLOCKS) >= 2 and len(PYTHON_BLOCKS) >= 2
    marked = [b for b in blocks() if b[3]]
    assert len(marked) <= 3, "keep the examples that are not run few"


_WRITES = re.compile(r'open\("([^"]+)",\s*"wb?"\)|joblib\.dump\(.*,\s*"([^"]+)"\)')


def _makers(script):
    """The README's python blocks that write a file the shell script names (a model file its
    commands run), to run first, as a reader would."""
    return [code for code, _ in PYTHON_BLOCKS
            if any(name and name in script for pair in _WRITES.findall(code) for name in pair)]


def test_a_shell_block_gets_the_model_file_a_python_block_writes():
    makers = _makers("evalbeam evaluate --model new.onnx")
    assert len(makers) == 1 and "to_onnx" in makers[0]


@pytest.mark.parametrize("code, line", SHELL_BLOCKS, ids=[f"line {n}" for _, n in SHELL_BLOCKS])
def test_shell_example(folder, code, line):
    work, env = folder
    script = "set -e\n" + "\n".join(_evalbeam_commands(code)) + "\n"
    for maker in _makers(script):
        subprocess.run([sys.executable, "-c", maker], cwd=work, env=env, check=True,
                       capture_output=True, timeout=600)
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"README line {line}:\n{script}\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("code, line", PYTHON_BLOCKS, ids=[f"line {n}" for _, n in PYTHON_BLOCKS])
def test_python_example(folder, code, line):
    work, env = folder
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"README line {line}:\n{code}\n{done.stderr}"


def _as_config(code):
    """A config snippet as a whole config: a lone `metrics {...}` goes in a metrics_specs."""
    text = re.sub(r"#[^\n']*", "", code).strip()
    if text.startswith("metrics {"):
        text = f"metrics_specs {{ {text} }}"
    return text


CONFIG_SNIPPETS = [(code, line) for lang, code, _, skip, line in blocks()
                   if lang in ("", "textproto", "proto", "pbtxt") and not skip
                   and re.match(r"\s*(model_specs|metrics_specs|metrics|slicing_specs|options)\s*\{",
                                code)]


@pytest.mark.parametrize("code, line", CONFIG_SNIPPETS,
                         ids=[f"line {n}" for _, n in CONFIG_SNIPPETS])
def test_config_snippet_parses(code, line):
    config = parse_config(_as_config(code), f"README line {line}")
    if config.model_specs and not any(m.is_baseline for m in config.model_specs) and \
            "module:" not in code:
        resolve_config(config)  # a whole config also resolves


def test_the_custom_metric_as_written(folder):
    """The class of "Metrics of your own" in a module named as its config line says, and that
    config line, evaluate the metric (checked against numpy)."""
    work, env = folder
    found = [(code, heading) for lang, code, heading, _, _ in blocks()
             if heading == "Metrics of your own"]
    module = next(code for code, _ in found if "class " in code and "CustomMetric" in code)
    line = next(code for code, _ in found if 'module: "' in code)
    name = re.search(r'module: "([\w.]+)"', line).group(1)
    (work / f"{name}.py").write_text(module)
    (work / "custom.textproto").write_text(
        'model_specs { label_key: "label" prediction_key: "prediction" '
        'example_weight_key: "weight" }\n' + _as_config(line))
    env = dict(env, PYTHONPATH=os.pathsep.join([str(work), env.get("PYTHONPATH", "")]))
    done = subprocess.run(["evalbeam", "evaluate", "--config", "custom.textproto", "--data",
                           "preds/*.parquet", "--output", "out"], cwd=work, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shown = subprocess.run(["evalbeam", "show", "out", "--json"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    import json
    value = next(r["value"] for r in map(json.loads, shown.splitlines()) if r["slice"] == [])
    t = pa.concat_tables([pq.read_table(p) for p in sorted((work / "preds").glob("*.parquet"))])
    y, p, w = (t.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
    offset = float(re.search(r'"offset":\s*([\d.]+)', line).group(1)) if "offset" in line else 1.0
    assert value == pytest.approx(
        np.average(np.abs(np.log(offset + p) - np.log(offset + y)), weights=w), rel=1e-9)
