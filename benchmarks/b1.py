#!/usr/bin/env python3
"""Benchmark B1: `evalbeam evaluate` (CLI, default runner) against a hand-written numpy
floor computing the same numbers, in the same run.

usage: python benchmarks/b1.py [--workdir DIR] [--row_groups K] N [-- extra evalbeam/Beam flags]
Prints the data size, both times, their ratio, the peak RSS summed over the CLI and its worker
processes (sampled every 50 ms), and whether the numbers agree
(relative 1e-6; AUC-PR 1e-3, since the floor takes the step-wise area and evalbeam TFMA's
interpolated one).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG, generate

NB = 10000


def floor(path, prediction=None):
    """One numpy pass: every B1 metric for every slice. Returns ({slice json: {metric: v}}, s).
    ``prediction``: the scores, when not the file's prediction column (a model's)."""
    t0 = time.perf_counter()
    t = pq.read_table(path, columns=["label", "weight", "country", "age", "device"] +
                      (["prediction"] if prediction is None else []))
    y = t.column("label").to_numpy().astype(np.float64)
    p = (t.column("prediction").to_numpy() if prediction is None else prediction).astype(np.float64)
    w = t.column("weight").to_numpy().astype(np.float64)
    b = np.clip((p * NB + 1).astype(np.int64), 0, NB + 1)
    pc_ = np.clip(p, 1e-7, 1 - 1e-7)
    ll = -(y * np.log(pc_ + 1e-7) + (1 - y) * np.log(1 - pc_ + 1e-7))
    hard = p > 0.5

    def enc(col):
        e = pc.dictionary_encode(t.column(col)).combine_chunks()
        return e.indices.to_numpy(zero_copy_only=False).astype(np.int64), e.dictionary.to_pylist()

    (cc, cv), (ac, av), (dc, dv) = enc("country"), enc("age"), enc("device")
    specs = [(np.zeros(len(y), np.int64), [[]]), (cc, [[["country", v]] for v in cv]),
             (ac, [[["age", v]] for v in av]),
             (cc * len(dv) + dc, [[["country", c], ["device", d]] for c in cv for d in dv])]
    out = {}
    for codes, keys in specs:
        k = len(keys)
        s = {name: np.bincount(codes, weights=v, minlength=k) for name, v in
             (("w", w), ("wy", w * y), ("wp", w * p), ("ll", w * ll), ("tp", w * (hard & (y == 1))),
              ("fp", w * (hard & (y == 0))), ("tn", w * (~hard & (y == 0))))}
        idx = codes * (NB + 2) + b
        pos = np.bincount(idx, weights=w * y, minlength=k * (NB + 2)).reshape(k, -1)
        neg = np.bincount(idx, weights=w * (1 - y), minlength=k * (NB + 2)).reshape(k, -1)
        for i, key in enumerate(keys):
            if s["w"][i] == 0:
                continue
            tp = np.cumsum(pos[i, ::-1]); fp = np.cumsum(neg[i, ::-1])
            tpr, fpr = np.r_[0, tp / tp[-1]], np.r_[0, fp / fp[-1]]
            prec = tp / np.maximum(tp + fp, 1e-300)
            out[json.dumps(key)] = {
                "example_count": s["w"][i], "weighted_example_count": s["w"][i],
                "mean_label": s["wy"][i] / s["w"][i], "mean_prediction": s["wp"][i] / s["w"][i],
                "calibration": s["wp"][i] / s["wy"][i],
                "binary_accuracy": (s["tp"][i] + s["tn"][i]) / s["w"][i],
                "precision": s["tp"][i] / (s["tp"][i] + s["fp"][i]),
                "recall": s["tp"][i] / s["wy"][i], "binary_crossentropy": s["ll"][i] / s["w"][i],
                "auc": float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)),
                "auc_precision_recall": float(np.sum(np.diff(np.r_[0, tp / tp[-1]]) * prec))}
    return out, time.perf_counter() - t0


def compare(show_jsonl, reference):
    got = {}
    for line in show_jsonl.splitlines():
        r = json.loads(line)
        got.setdefault(json.dumps(r["slice"]), {})[r["metric"]] = r["value"]
    worst, n, bad = 0.0, 0, []
    for key, metrics in reference.items():
        for name, want in metrics.items():
            value = got.get(key, {}).get(name)
            tol = 1e-3 if name == "auc_precision_recall" else 1e-6
            err = abs(value - want) / max(abs(want), 1e-12) if value is not None else float("inf")
            n += 1
            worst = max(worst, err) if name != "auc_precision_recall" else worst
            if err > tol:
                bad.append((key, name, value, want))
    return n, bad, worst


def run_sampled(command, every=0.05):
    """Run ``command``; return the peak, sampled every ``every`` s, of the RSS summed over it
    and all its descendants (worker processes included)."""
    import psutil

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(every)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--intervals", choices=("JACKKNIFE", "POISSON_BOOTSTRAP"),
                    help="also compute confidence intervals (20 samples) with this method")
    ap.add_argument("--row_groups", type=int,
                    help="write the data in K row groups (default: one per 2**20 rows)")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    groups = f"_{a.row_groups}g" if a.row_groups else ""
    data = os.path.join(a.workdir, f"b1_{a.n}{groups}.parquet")
    if not os.path.exists(data):
        generate(a.n, data, **({"chunk": -(-a.n // a.row_groups)} if a.row_groups else {}))
    out = os.path.join(a.workdir, f"out_{a.n}")
    cli = os.path.join(os.path.dirname(sys.executable), "evalbeam")
    config = CONFIG
    if a.intervals:
        config = os.path.join(a.workdir, f"b1_{a.intervals}.textproto")
        with open(CONFIG) as f, open(config, "w") as handle:
            handle.write(f.read() + "options { compute_confidence_intervals { value: true } "
                      f"confidence_intervals {{ method: {a.intervals} }} }}\n")
    t0 = time.perf_counter()
    rss_mb = run_sampled([cli, "evaluate", "--config", config, "--data", data,
                          "--output", out] + a.extra) / 2 ** 20
    pipeline = time.perf_counter() - t0
    shown = subprocess.run([cli, "show", out, "--json"], check=True, capture_output=True, text=True)
    reference, floor_s = floor(data)
    n, bad, worst = compare(shown.stdout, reference)
    print(f"B1{' + ' + a.intervals if a.intervals else ''} rows={a.n} slices={len(reference)}  evalbeam CLI {pipeline:.2f}s (incl. start-up)  "
          f"numpy floor {floor_s:.2f}s  ratio {pipeline / floor_s:.2f}  peak RSS {rss_mb:.0f} MB (summed)  "
          f"parity {n - len(bad)}/{n} (worst rel err {worst:.1e} excl. AUC-PR)")
    for item in bad[:5]:
        print("  mismatch:", item)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
