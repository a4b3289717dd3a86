#!/usr/bin/env python3
"""Benchmark B1: `evalbeam evaluate` (CLI, default runner) against a hand-written numpy
floor computing the same numbers, in the same run.

usage: python benchmarks/b1.py [--workdir DIR] [--row_groups K] N [-- extra evalbeam/Beam flags]
The data is generated once per N and kept under DIR (benchmarks/b1_data.py: one file up to 10M
rows, above that a folder of 10M-row part files, never whole in memory).
Prints the data size, both times, their ratio, both CPU times, the peak RSS summed over the CLI
and its worker processes (sampled every 50 ms), and whether the numbers agree (relative 1e-6;
AUC-PR 1e-3, since the floor takes the step-wise area and evalbeam TFMA's interpolated one).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from b1_data import b1_data, parquet_files  # noqa: E402

NB = 10000
COLUMNS = ["label", "prediction", "weight", "country", "age", "device"]
_SUMS = ("w", "wy", "wp", "ll", "tp", "fp", "tn")


class _SpecSums:
    """One slicing spec's sums, by slice key, added up over row groups: the per-slice totals
    of ``_SUMS`` and the positive / negative weight in each of NB + 2 prediction buckets."""

    def __init__(self):
        self.rows, self.keys = {}, []
        self.sums = np.zeros((0, len(_SUMS)))
        self.pos, self.neg = np.zeros((0, NB + 2)), np.zeros((0, NB + 2))

    def add(self, keys, sums, pos, neg):
        rows = [self.rows.setdefault(json.dumps(key), len(self.rows)) for key in keys]
        if len(self.rows) > len(self.keys):
            grow = len(self.rows) - len(self.keys)
            self.keys = sorted(self.rows, key=self.rows.get)
            self.sums = np.vstack([self.sums, np.zeros((grow, len(_SUMS)))])
            self.pos = np.vstack([self.pos, np.zeros((grow, NB + 2))])
            self.neg = np.vstack([self.neg, np.zeros((grow, NB + 2))])
        self.sums[rows] += sums
        self.pos[rows] += pos
        self.neg[rows] += neg


def _row_group_sums(t, specs, prediction=None):
    """Adds one row group's (a pyarrow Table's) sums into ``specs`` (one _SpecSums per spec:
    overall, country, age, country x device); ``prediction``: its rows' scores, when not the
    table's prediction column (a model's)."""
    y = t.column("label").to_numpy().astype(np.float64)
    p = (t.column("prediction").to_numpy() if prediction is None else prediction).astype(
        np.float64)
    w = t.column("weight").to_numpy().astype(np.float64)
    b = np.clip((p * NB + 1).astype(np.int64), 0, NB + 1)
    pc_ = np.clip(p, 1e-7, 1 - 1e-7)
    ll = -(y * np.log(pc_ + 1e-7) + (1 - y) * np.log(1 - pc_ + 1e-7))
    hard = p > 0.5
    values = [w, w * y, w * p, w * ll, w * (hard & (y == 1)), w * (hard & (y == 0)),
              w * (~hard & (y == 0))]

    def enc(col):
        e = pc.dictionary_encode(t.column(col)).combine_chunks()
        return e.indices.to_numpy(zero_copy_only=False).astype(np.int64), e.dictionary.to_pylist()

    (cc, cv), (ac, av), (dc, dv) = enc("country"), enc("age"), enc("device")
    coded = [(np.zeros(len(y), np.int64), [[]]), (cc, [[["country", v]] for v in cv]),
             (ac, [[["age", v]] for v in av]),
             (cc * len(dv) + dc, [[["country", c], ["device", d]] for c in cv for d in dv])]
    for sums, (codes, keys) in zip(specs, coded):
        k = len(keys)
        s = np.stack([np.bincount(codes, weights=v, minlength=k) for v in values], axis=1)
        idx = codes * (NB + 2) + b
        pos = np.bincount(idx, weights=w * y, minlength=k * (NB + 2)).reshape(k, -1)
        neg = np.bincount(idx, weights=w * (1 - y), minlength=k * (NB + 2)).reshape(k, -1)
        sums.add(keys, s, pos, neg)


def floor(path, prediction=None):
    """Every B1 metric for every slice, by hand in numpy, streaming: one row group (about a
    million rows) of one file at a time is read and bincounted, and the bincounts, which add
    up, are summed over row groups and files; the metrics come from the sums. Memory is one
    row group's whatever the size of the data (a file, or a folder of part files).
    ``prediction``: the scores of every row in file order, when not the files' prediction
    column (a model's). Returns ({slice json: {metric: v}}, seconds)."""
    t0 = time.perf_counter()
    specs = [_SpecSums() for _ in range(4)]
    columns = COLUMNS if prediction is None else [c for c in COLUMNS if c != "prediction"]
    at = 0
    for name in parquet_files(path):
        f = pq.ParquetFile(name)
        for group in range(f.num_row_groups):
            t = f.read_row_group(group, columns=columns)
            _row_group_sums(t, specs, None if prediction is None
                            else prediction[at:at + t.num_rows])
            at += t.num_rows
    out = {}
    for spec in specs:
        for i, key in enumerate(spec.keys):
            s = dict(zip(_SUMS, spec.sums[i]))
            if s["w"] == 0:
                continue
            tp = np.cumsum(spec.pos[i, ::-1]); fp = np.cumsum(spec.neg[i, ::-1])
            tpr, fpr = np.r_[0, tp / tp[-1]], np.r_[0, fp / fp[-1]]
            prec = tp / np.maximum(tp + fp, 1e-300)
            out[key] = {
                "example_count": s["w"], "weighted_example_count": s["w"],
                "mean_label": s["wy"] / s["w"], "mean_prediction": s["wp"] / s["w"],
                "calibration": s["wp"] / s["wy"],
                "binary_accuracy": (s["tp"] + s["tn"]) / s["w"],
                "precision": s["tp"] / (s["tp"] + s["fp"]),
                "recall": s["tp"] / s["wy"], "binary_crossentropy": s["ll"] / s["w"],
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


def run_sampled(command, every=0.05, ok=(0,)):
    """Run ``command`` (its exit code one of ``ok``); return (the peak, sampled every
    ``every`` s, of the RSS summed over it and all its descendants (worker processes
    included), or the command's own peak RSS (its rusage) if that is higher; the CPU seconds,
    user and system, of it and the descendants it waited for)."""
    import psutil

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    root, peak = psutil.Process(process.pid), 0
    while True:
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
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(every)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in ok:
        raise subprocess.CalledProcessError(process.returncode, command)
    return max(peak, usage.ru_maxrss * 1024), usage.ru_utime + usage.ru_stime


def measure(n, workdir, intervals=None, row_groups=None, extra=()):
    """Generates (or reuses) B1 with ``n`` rows under ``workdir``, runs `evalbeam evaluate` on
    it, then the floor; returns what :func:`summary` prints."""
    data = b1_data(n, workdir, row_groups)
    out = os.path.join(workdir, f"out_{n}")
    cli = os.path.join(os.path.dirname(sys.executable), "evalbeam")
    config = CONFIG
    if intervals:
        config = os.path.join(workdir, f"b1_{intervals}.textproto")
        with open(CONFIG) as f, open(config, "w") as handle:
            handle.write(f.read() + "options { compute_confidence_intervals { value: true } "
                      f"confidence_intervals {{ method: {intervals} }} }}\n")
    t0 = time.perf_counter()
    rss, cpu = run_sampled([cli, "evaluate", "--config", config, "--data", data,
                       "--output", out, *extra])
    pipeline = time.perf_counter() - t0
    shown = subprocess.run([cli, "show", out, "--json"], check=True, capture_output=True, text=True)
    floor_cpu = time.process_time()
    reference, floor_s = floor(data)
    floor_cpu = time.process_time() - floor_cpu
    checked, bad, worst = compare(shown.stdout, reference)
    return {"n": n, "intervals": intervals, "slices": len(reference), "evalbeam_s": pipeline,
            "floor_s": floor_s, "evalbeam_cpu_s": cpu, "floor_cpu_s": floor_cpu,
            "rss_mb": rss / 2 ** 20, "checked": checked, "bad": bad, "worst": worst}


def summary(r):
    return (f"B1{' + ' + r['intervals'] if r['intervals'] else ''} rows={r['n']} "
            f"slices={r['slices']}  evalbeam CLI {r['evalbeam_s']:.2f}s (incl. start-up)  "
            f"numpy floor {r['floor_s']:.2f}s  ratio {r['evalbeam_s'] / r['floor_s']:.2f}  "
            f"(CPU {r['evalbeam_cpu_s']:.1f}s / {r['floor_cpu_s']:.1f}s)  "
            f"peak RSS {r['rss_mb']:.0f} MB (summed)  parity {r['checked'] - len(r['bad'])}/"
            f"{r['checked']} (worst rel err {r['worst']:.1e} excl. AUC-PR)")


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
    r = measure(a.n, a.workdir, a.intervals, a.row_groups, a.extra)
    print(summary(r))
    for item in r["bad"][:5]:
        print("  mismatch:", item)
    return 0 if not r["bad"] else 1


if __name__ == "__main__":
    sys.exit(main())
