"""Models on the every-core mode of the local runner (evalbeam's own forked worker processes,
evalbeam.worker_pool): ONNX files predict where the batches are read, each process loading
each model once (a session of its own: none crosses a fork), with the numbers of one process;
scikit-learn-family files and ModelHandlers keep the read in one process and Beam's
RunInference step (a forked child can hang in an OpenMP-parallel model)."""
import os

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from evalbeam import cli, load_result, local_workers
from evalbeam.inference import onnx_model
from test_onnx_pipeline import onnx_file
from trained import FEATURES, frame, save, write

CONFIG = """
model_specs { name: "new" label_key: "label" example_weight_key: "weight"
              feature_keys: ["f0", "f1", "f2", "f3"] }
model_specs { name: "prod" label_key: "label" example_weight_key: "weight"
              feature_keys: ["f0", "f1", "f2", "f3"] is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "BinaryCrossEntropy" } metrics { class_name: "SymmetricFlipRate" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
ROWS = 8000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("every_core")
    df = frame(ROWS, seed=41)
    X = df[FEATURES].to_numpy()
    new = LogisticRegression(C=0.05).fit(X, df["label"])
    prod = LogisticRegression().fit(X[:, :2], df["label"])
    prod_X = np.c_[X[:, :2], np.zeros((len(X), 2))]  # prod reads f0, f1 only
    prod_full = LogisticRegression().fit(prod_X, df["label"])
    prod_full.coef_[:, 2:] = 0
    prod_full.coef_[:, :2], prod_full.intercept_ = prod.coef_, prod.intercept_
    (tmp / "c.textproto").write_text(CONFIG)
    data = write(df, tmp / "d.parquet", row_group_size=ROWS // 4)  # 4 read tasks
    onnx = {"new": onnx_file(new, tmp / "new.onnx", X), "prod": onnx_file(prod_full,
                                                                          tmp / "prod.onnx", X)}
    joblib = {"new": save(new, tmp / "new.joblib"), "prod": save(prod_full, tmp / "prod.joblib")}
    return tmp, df, data, onnx, joblib, (new.predict_proba(X)[:, 1],
                                         prod_full.predict_proba(X)[:, 1])


@pytest.fixture
def loads(monkeypatch, tmp_path):
    """The processes that loaded an ONNX session: a line with the pid per load (the file is
    written by forked workers too)."""
    record, load = tmp_path / "loads.txt", onnx_model._load

    def counted(*args, **kwargs):
        with open(record, "a") as f:
            f.write(f"{os.getpid()}\n")
        return load(*args, **kwargs)

    onnx_model._SESSIONS.clear()
    monkeypatch.setattr(onnx_model, "_load", counted)
    return lambda: record.read_text().split() if record.exists() else []


def _evaluate(tmp, data, out, models, *flags):
    args = []
    for name, path in models.items():
        args += ["--model", f"{name}={path}"]
    code = cli.main(["evaluate", "--config", str(tmp / "c.textproto"), "--data", data,
                     "--output", str(out), "--quiet", *args, *flags])
    assert code == 0
    return load_result(str(out))


def _values(result, slice_key=()):
    return {(k.name, k.model_name, k.is_diff): v for k, v in result.metrics[slice_key].items()}


def test_onnx_models_predict_on_every_core_loaded_once_per_process(setup, tmp_path, chosen,
                                                                    monkeypatch, loads):
    tmp, df, data, onnx, _, (p, b) = setup
    monkeypatch.setattr(local_workers, "MIN_ROWS", ROWS)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    result = _evaluate(tmp, data, tmp_path / "cores", onnx)
    assert chosen == [2] and chosen.used == [2]  # the read step shared out over 2 processes
    pids = loads()
    # this process loaded each model once (for the checks before the run), and the worker
    # process each model once, in itself
    assert len(pids) == 4 and len(set(pids)) == 2
    assert all(pids.count(pid) == 2 for pid in set(pids))
    assert pids[0] == pids[1] == str(os.getpid())

    y, w = df["label"].to_numpy(), df["weight"].to_numpy()
    for key, rows in [((), np.ones(len(df), bool))] + [
            ((("country", c),), (df["country"] == c).to_numpy()) for c in ("fr", "de", "jp")]:
        got = _values(result, key)
        assert got["example_count", "new", False] == pytest.approx(w[rows].sum(), rel=1e-12)
        assert got["binary_crossentropy", "new", False] == pytest.approx(
            skm.log_loss(y[rows], p[rows], sample_weight=w[rows]), rel=1e-5)  # float32 scores
        assert got["binary_crossentropy", "prod", False] == pytest.approx(
            skm.log_loss(y[rows], b[rows], sample_weight=w[rows]), rel=1e-5)

    # the same numbers as one process (and Beam's RunInference step)
    monkeypatch.setattr(local_workers, "MIN_ROWS", 10 * ROWS)
    one = _evaluate(tmp, data, tmp_path / "one", onnx)
    assert chosen[-1] == 1 and chosen.used == [2]
    assert one.metrics.keys() == result.metrics.keys()
    for key, values in one.metrics.items():
        for k, v in values.items():
            assert result.metrics[key][k] == pytest.approx(v, rel=1e-12, abs=1e-15), (key, k)
    assert result.models == one.models


def test_scikit_learn_models_keep_one_process(setup, tmp_path, chosen, monkeypatch):
    tmp, df, data, _, joblib, (p, _) = setup
    monkeypatch.setattr(local_workers, "MIN_ROWS", ROWS)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    result = _evaluate(tmp, data, tmp_path / "out", joblib)
    assert chosen == [2] and chosen.used == []  # two were allowed; the read was not shared
    y, w = df["label"].to_numpy(), df["weight"].to_numpy()
    assert _values(result)["binary_crossentropy", "new", False] == pytest.approx(
        skm.log_loss(y, p, sample_weight=w), rel=1e-9)


def test_a_failing_model_in_a_worker_process_stops_the_run_in_one_line(setup, tmp_path, chosen,
                                                                      monkeypatch, capsys):
    """A NaN feature in the last row group: the ONNX model predicts NaN there, and the check
    of predictions stops the run, naming the model's prediction column, wherever it was read."""
    tmp, df, _, onnx, _, _ = setup
    bad = df.copy()
    bad.loc[ROWS - 10, "f2"] = np.nan
    data = write(bad, tmp_path / "bad.parquet", row_group_size=ROWS // 4)
    monkeypatch.setattr(local_workers, "MIN_ROWS", ROWS)
    monkeypatch.setattr(local_workers, "cores", lambda: 2)
    code = cli.main(["evaluate", "--config", str(tmp / "c.textproto"), "--data", data,
                     "--output", str(tmp_path / "out"), "--quiet",
                     "--model", f"new={onnx['new']}", "--model", f"prod={onnx['prod']}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("evalbeam: error: "), err
    assert "bad.parquet (row group 3)" in err[0] and "evalbeam.prediction" in err[0], err
    assert chosen == [2]
    assert not (tmp_path / "out").exists()
