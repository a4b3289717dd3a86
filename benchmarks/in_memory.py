#!/usr/bin/env python3
"""In-memory input against the file it came from: B1 through ``run_evaluation`` from the
Parquet file, from the same rows as a ``pyarrow.Table``, and as a pandas DataFrame.

usage: python benchmarks/in_memory.py [N] [--runs R] [--workdir DIR]
Runs the three inputs in turn R times (after one warm-up run), in one process, and prints the
median seconds of each and their ratio to the file's. The rows are read into memory before the
clock starts (a table or DataFrame is what the user already holds); converting a DataFrame is
timed, as it is part of the call. Also checks that the three give the same metrics.
"""
import argparse
import os
import statistics
import sys
import time

import pyarrow.parquet as pq

import evalbeam
from evalbeam.demo import CONFIG, generate


def _values(result):
    return {(k, m): v for k, ms in result.metrics.items() for m, v in ms.items()
            if isinstance(v, float)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    path = os.path.join(a.workdir, f"b1_{a.n}.parquet")
    if not os.path.exists(path):
        generate(a.n, path)
    table = pq.read_table(path)
    inputs = {"parquet file": path, "pyarrow.Table": table}
    try:
        inputs["pandas DataFrame"] = table.to_pandas()
    except ImportError:
        print("pandas is not installed: its input is not measured")
    times = {name: [] for name in inputs}
    results = {}
    evalbeam.run_evaluation(CONFIG, path, os.path.join(a.workdir, "in_memory_warmup"))
    for run in range(a.runs):
        for name, data in inputs.items():
            out = os.path.join(a.workdir, f"in_memory_{len(results)}_{run}")
            t0 = time.perf_counter()
            result = evalbeam.run_evaluation(CONFIG, data, out)
            times[name].append(time.perf_counter() - t0)
            results[name] = _values(result)
    reference = results["parquet file"]
    same = all(r.keys() == reference.keys() and all(
        abs(r[k] - v) <= 1e-9 * max(abs(v), 1.0) or (v != v and r[k] != r[k])
        for k, v in reference.items()) for r in results.values())
    base = statistics.median(times["parquet file"])
    print(f"B1 rows={a.n} runs={a.runs} (medians; same metrics from every input: {same})")
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"  {name:18s} {median:6.2f}s  ratio {median / base:.2f}  "
              f"(runs: {', '.join(f'{t:.2f}' for t in ts)})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
