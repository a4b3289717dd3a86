#!/usr/bin/env python3
"""Benchmark: `evalbeam evaluate --model` over N rows x 20 numeric features with B1's label,
weights and slices and no stored prediction, the model a logistic regression saved as joblib
and as ONNX (skl2onnx's default conversion, ZipMap output included), against a floor in the
same run: one numpy predict over the data (read the features, X @ coef + b, a sigmoid) plus
benchmarks/b1.py's numpy floor of the metrics on those predictions.

usage: python benchmarks/models.py [N] [--workdir DIR] [--repeats R] [-- extra evalbeam flags]
Runs joblib, ONNX, the same predictions stored in the data (B1's config, no model), that on
1000 rows (evalbeam's start-up) and the floor R times, alternated (each first in turn), and
prints the medians: each CLI's time (including the interpreter's start-up and imports) and its
peak RSS, the floor's two parts, the ratios (the median of each round's CLI time over that
round's floor; target: at most 1.3; and without that round's start-up),
and whether each run's numbers agree with the floor's (as in b1.py; the ONNX model computes
in float32, so its scores are within about 1e-7 of the floor's and so are its metrics), and
the model's own cost: the CLI with the model less the CLI on the stored predictions, beside
numpy's read-and-predict.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from b1 import compare, floor  # noqa: E402

from evalbeam.demo import CONFIG, generate  # noqa: E402

FEATURES = [f"f{i:02d}" for i in range(20)]
WEIGHTS = np.linspace(0.8, -0.6, 20)  # how each feature moves the label


def outcomes(rng, ci, di):
    """B1's slices drive the label as in B1, and so do 20 float32 features."""
    X = rng.normal(size=(len(ci), len(FEATURES))).astype(np.float32)
    z = X @ WEIGHTS + 0.05 * (ci - 10) + 0.3 * (di == 1)
    label = (z + rng.normal(size=len(ci)) > 0.4).astype(np.int64)
    return {"label": label, **{name: X[:, j] for j, name in enumerate(FEATURES)}}


def config(workdir):
    """B1's metrics and slices; the model spec names the features (the data also holds B1's
    two unused columns) and no prediction column: the model gives the predictions."""
    with open(CONFIG) as f:
        text = f.read()
    spec = ('model_specs { label_key: "label" prediction_key: "prediction" '
            'example_weight_key: "weight" }')
    assert spec in text
    keys = ", ".join(f'"{name}"' for name in FEATURES)
    path = os.path.join(workdir, "models.textproto")
    with open(path, "w") as f:
        f.write(text.replace(spec, 'model_specs { label_key: "label" example_weight_key: "weight" '
                                   f'feature_keys: [{keys}] }}'))
    return path


def features(data):
    """The features of ``data`` as one float64 array (rows x features), as the pipeline feeds
    a model."""
    t = pq.read_table(data, columns=FEATURES)
    X = np.empty((t.num_rows, len(FEATURES)))
    for j, name in enumerate(FEATURES):
        X[:, j] = t.column(name).to_numpy()
    return X


def train(data, workdir, rows=200_000):
    """A logistic regression on the first ``rows`` rows, saved as joblib and as ONNX."""
    import joblib
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X = features(data)[:rows]
    y = pq.read_table(data, columns=["label"]).column("label").to_numpy()[:rows]
    model = LogisticRegression(max_iter=1000).fit(X, y)
    paths = {"joblib": os.path.join(workdir, "lr.joblib"), "onnx": os.path.join(workdir, "lr.onnx")}
    joblib.dump(model, paths["joblib"])
    with open(paths["onnx"], "wb") as f:
        f.write(to_onnx(model, X[:1].astype(np.float32)).SerializeToString())
    return model, paths


def store_predictions(data, model, path):
    """B1's columns of ``data`` with the model's predictions stored (the run without a model
    beside the runs with one)."""
    t = pq.read_table(data, columns=["label", "weight", "country", "age", "device"])
    pq.write_table(t.append_column("prediction", pa.array(numpy_predict(data, model))), path)
    return path


def head(data, rows):
    path = data.replace(".parquet", f"_head{rows}.parquet")
    pq.write_table(pq.read_table(data).slice(0, rows), path)
    return path


def numpy_predict(data, model):
    return 1 / (1 + np.exp(-(features(data) @ model.coef_[0] + model.intercept_[0])))


def numpy_floor(data, model):
    """(the numpy predictions, seconds to read the features and predict, the metrics' floor
    (b1.floor's reference), its seconds)."""
    t0 = time.perf_counter()
    p = numpy_predict(data, model)
    predict_s = time.perf_counter() - t0
    reference, metrics_s = floor(data, prediction=p)
    return p, predict_s, reference, metrics_s


def timed_cli(args):
    """(seconds, peak RSS MB) of one `evalbeam evaluate` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "evalbeam.cli", "evaluate", *args],
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"evaluate {' '.join(args)} exited with "
                         f"{os.waitstatus_to_exitcode(status)}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    data = os.path.join(a.workdir, f"models_{a.n}.parquet")
    if not os.path.exists(data):
        generate(a.n, data, outcomes=outcomes)
    model, paths = train(data, a.workdir)
    stored = store_predictions(data, model, os.path.join(a.workdir, f"models_{a.n}_stored.parquet"))
    cfg = config(a.workdir)
    args = {fmt: ["--config", cfg, "--data", data, "--model", path] for fmt, path in paths.items()}
    args["stored"] = ["--config", CONFIG, "--data", stored]
    args["start-up"] = ["--config", CONFIG, "--data", head(stored, 1000)]
    outs = {fmt: os.path.join(a.workdir, f"out_models_{a.n}_{fmt}") for fmt in args}
    runs = {fmt: [] for fmt in [*args, "floor"]}
    order = list(runs)
    for r in range(a.repeats):
        for what in order[r % len(order):] + order[:r % len(order)]:
            if what == "floor":
                _, predict_s, reference, metrics_s = numpy_floor(data, model)
                runs["floor"].append((predict_s, metrics_s))
            else:
                runs[what].append(timed_cli([*args[what], "--output", outs[what], *a.extra]))
    predict_s = statistics.median(p for p, _ in runs["floor"])
    metrics_s = statistics.median(m for _, m in runs["floor"])
    floors = [p + m for p, m in runs.pop("floor")]
    startups = [s for s, _ in runs.pop("start-up")]
    times = {fmt: [s for s, _ in runs[fmt]] for fmt in runs}

    def per_round(values, less=None, over=None):
        """The median over the rounds of a round's value, less ``less``'s, over ``over``'s:
        each compared within its round, as the machine's load drifts between rounds."""
        return statistics.median((v - (less[i] if less else 0)) / (over[i] if over else 1)
                                 for i, v in enumerate(values))

    print(f"models rows={a.n} features={len(FEATURES)} slices={len(reference)} "
          f"repeats={a.repeats} load={os.getloadavg()[0]:.2f}  numpy floor "
          f"{statistics.median(floors):.2f}s (predict {predict_s:.2f}s + metrics {metrics_s:.2f}s)"
          f"  evalbeam's start-up (the CLI on 1000 rows of stored predictions) "
          f"{statistics.median(startups):.2f}s")
    failed = False
    for fmt in times:
        shown = subprocess.run([sys.executable, "-m", "evalbeam.cli", "show", outs[fmt], "--json"],
                               check=True, capture_output=True, text=True).stdout
        n, bad, worst = compare(shown, reference)
        failed |= bool(bad)
        print(f"  {fmt:6s} evalbeam CLI {statistics.median(times[fmt]):.2f}s (incl. start-up; "
              f"runs {', '.join(f'{s:.2f}' for s in times[fmt])})  ratio "
              f"{per_round(times[fmt], over=floors):.2f} (target <= 1.3; "
              f"{per_round(times[fmt], startups, floors):.2f} without the start-up)  peak RSS "
              f"{max(m for _, m in runs[fmt]):.0f} MB  parity {n - len(bad)}/{n} "
              f"(worst rel err {worst:.1e} excl. AUC-PR)")
        for item in bad[:5]:
            print("    mismatch:", item)
    print("  the model's cost (CLI with the model - CLI on the same predictions stored): "
          + ", ".join(f"{fmt} {per_round(times[fmt], times['stored']):.2f}s" for fmt in paths)
          + f"; numpy's (read the features and predict) {predict_s:.2f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
