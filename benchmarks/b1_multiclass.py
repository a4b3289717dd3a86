#!/usr/bin/env python3
"""Benchmark B1-MC: B1 for a 10-class model, every class binarized plus the macro average.

The data is B1's (slicing columns, weights) with a class label 0..9 and a vector of 10 class
probabilities (fixed-size list of float32). The config is B1's metrics with
``binarize { class_ids: 0..9 }`` and ``aggregate { macro_average }``: every binary metric and
plot per class, and each metric's mean over the classes. The floor is a hand-written numpy pass
computing the same metric values (not the plots) for every slice, class and average, timed in
the same run.

usage: python benchmarks/b1_multiclass.py N [--workdir DIR] [--no-plots] [-- extra flags]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG, generate

K = 10
NB = 10000
PER_CLASS = ("mean_label", "mean_prediction", "calibration", "binary_accuracy", "precision",
             "recall", "binary_crossentropy", "auc", "auc_precision_recall")


def outcomes(rng, ci, di):
    """A class label 0..9 (skewed by country) and 10 class probabilities per row."""
    label = (rng.integers(0, K, len(ci)) + (ci % 3 == 0)) % K
    logits = rng.normal(size=(len(ci), K)) + 2.0 * np.eye(K)[label] + 0.1 * di[:, None]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {"label": label.astype(np.int64),
            "prediction": pa.FixedSizeListArray.from_arrays(pa.array(probs.astype(np.float32).ravel()), K)}


def write_config(path, plots=True):
    with open(CONFIG) as f:
        text = f.read()
    if not plots:
        text = "\n".join(line for line in text.splitlines() if "Plot" not in line)
    ids = ", ".join(str(c) for c in range(K))
    text = text.replace("  example_weights { weighted: true }",
                        f"  example_weights {{ weighted: true }}\n  binarize {{ class_ids {{ values: [{ids}] }} }}\n"
                        "  aggregate { macro_average: true }")
    with open(path, "w") as f:
        f.write(text)


def floor(path):
    """Every metric for every slice, class and macro average: ({(slice, sub key, agg, name): v}, s)."""
    t0 = time.perf_counter()
    t = pq.read_table(path)
    label = t.column("label").to_numpy()
    P = t.column("prediction").combine_chunks().flatten().to_numpy().astype(np.float64).reshape(-1, K)
    w = t.column("weight").to_numpy().astype(np.float64)

    def enc(col):
        e = pc.dictionary_encode(t.column(col)).combine_chunks()
        return e.indices.to_numpy(zero_copy_only=False).astype(np.int64), e.dictionary.to_pylist()

    (cc, cv), (ac, av), (dc, dv) = enc("country"), enc("age"), enc("device")
    specs = [(np.zeros(len(w), np.int64), [[]]), (cc, [[["country", v]] for v in cv]),
             (ac, [[["age", v]] for v in av]),
             (cc * len(dv) + dc, [[["country", c], ["device", d]] for c in cv for d in dv])]
    out = {}
    for codes, keys in specs:
        k = len(keys)
        sw = np.bincount(codes, weights=w, minlength=k)
        per_class = {name: np.empty((K, k)) for name in PER_CLASS}
        for c in range(K):
            y, p = (label == c).astype(np.float64), P[:, c]
            pcl = np.clip(p, 1e-7, 1 - 1e-7)
            ll = -(y * np.log(pcl + 1e-7) + (1 - y) * np.log(1 - pcl + 1e-7))
            hard = p > 0.5
            s = {name: np.bincount(codes, weights=v, minlength=k) for name, v in
                 (("wy", w * y), ("wp", w * p), ("ll", w * ll), ("tp", w * (hard & (y == 1))),
                  ("fp", w * (hard & (y == 0))), ("tn", w * (~hard & (y == 0))))}
            b = np.clip((p * NB + 1).astype(np.int64), 0, NB + 1)
            idx = codes * (NB + 2) + b
            pos = np.bincount(idx, weights=w * y, minlength=k * (NB + 2)).reshape(k, -1)
            neg = np.bincount(idx, weights=w * (1 - y), minlength=k * (NB + 2)).reshape(k, -1)
            tp = np.cumsum(pos[:, ::-1], axis=1)
            fp = np.cumsum(neg[:, ::-1], axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                tpr = np.c_[np.zeros(k), tp / tp[:, -1:]]
                fpr = np.c_[np.zeros(k), fp / fp[:, -1:]]
                prec = tp / np.maximum(tp + fp, 1e-300)
                v = per_class
                v["mean_label"][c] = s["wy"] / sw
                v["mean_prediction"][c] = s["wp"] / sw
                v["calibration"][c] = s["wp"] / s["wy"]
                v["binary_accuracy"][c] = (s["tp"] + s["tn"]) / sw
                v["precision"][c] = s["tp"] / (s["tp"] + s["fp"])
                v["recall"][c] = s["tp"] / s["wy"]
                v["binary_crossentropy"][c] = s["ll"] / sw
                v["auc"][c] = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
                v["auc_precision_recall"][c] = np.sum(np.diff(tpr, axis=1) * prec, axis=1)
        for i, key in enumerate(keys):
            if sw[i] == 0:
                continue
            sk = json.dumps(key)
            out[(sk, "", "", "example_count")] = out[(sk, "", "", "weighted_example_count")] = sw[i]
            for name, values in per_class.items():
                for c in range(K):
                    out[(sk, f"classId:{c}", "", name)] = values[c, i]
                out[(sk, "", "macro_average", name)] = values[:, i].mean()
    return out, time.perf_counter() - t0


def compare(show_jsonl, reference):
    got = {}
    for line in show_jsonl.splitlines():
        r = json.loads(line)
        got[(json.dumps(r["slice"]), r["sub_key"], r["aggregation"], r["metric"])] = r["value"]
    worst, bad = 0.0, []
    for key, want in reference.items():
        value = got.get(key)
        if value is None and (want != want):  # NaN both ways (written as null)
            continue
        tol = 1e-3 if key[-1] == "auc_precision_recall" else 1e-6
        err = abs(value - want) / max(abs(want), 1e-12) if value is not None else float("inf")
        if key[-1] != "auc_precision_recall":
            worst = max(worst, err)
        if not err <= tol:
            bad.append((key, value, want))
    return len(reference), bad, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--no-plots", action="store_true", help="leave B1's two plots out")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    data = os.path.join(a.workdir, f"b1mc_{a.n}.parquet")
    if not os.path.exists(data):
        generate(a.n, data, seed=11, outcomes=outcomes)
    config = os.path.join(a.workdir, f"b1mc{'_noplots' if a.no_plots else ''}.textproto")
    write_config(config, plots=not a.no_plots)
    out = os.path.join(a.workdir, f"outmc_{a.n}")
    cli = os.path.join(os.path.dirname(sys.executable), "evalbeam")
    t0 = time.perf_counter()
    subprocess.run([cli, "evaluate", "--config", config, "--data", data, "--output", out] + a.extra,
                   check=True, stdout=subprocess.DEVNULL)
    pipeline = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shown = subprocess.run([cli, "show", out, "--json"], check=True, capture_output=True, text=True)
    reference, floor_s = floor(data)
    n, bad, worst = compare(shown.stdout, reference)
    print(f"B1-MC (10 classes, binarized + macro{', no plots' if a.no_plots else ''}) rows={a.n}  "
          f"evalbeam CLI {pipeline:.2f}s (incl. start-up)  numpy floor {floor_s:.2f}s  "
          f"ratio {pipeline / floor_s:.2f}  peak RSS {rss_mb:.0f} MB  parity {n - len(bad)}/{n} "
          f"(worst rel err {worst:.1e} excl. AUC-PR)")
    for item in bad[:5]:
        print("  mismatch:", item)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
