#!/usr/bin/env python3
"""Many slices with plots: B1's metrics and plots sliced by a user id with ~49,000 values.

The data is B1's (``evalbeam.demo``) with a ``user_id`` column (int64, uniform over ``--users``
ids, so ~49k of 50k occur in 200k rows, about four rows each). The config is B1's metrics,
``ConfusionMatrixPlot`` and ``CalibrationPlot`` with the specs overall, [country] and
[user_id] (``--intervals``: with confidence intervals). Three runs of ``evalbeam evaluate`` (a
CLI subprocess; the in-process runner unless flags after ``--`` say otherwise): as
configured, with ``min_slice_size 100``, and without the [user_id] spec for reference. Each
prints wall time, CPU time (user + system), peak RSS (the largest process, and the sum over
the process tree sampled every 20 ms), the size of the output directory and the slices and
plots the summary reports.

usage: python benchmarks/many_slices.py [N] [--users U] [--intervals] [--workdir DIR]
                                        [--runs all|plain|min|reference] [-- extra flags]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG, generate


def data_file(n: int, users: int, workdir: str) -> str:
    path = os.path.join(workdir, f"many_{n}_{users}.parquet")
    if not os.path.exists(path):
        generate(n, path)
        t = pq.read_table(path)
        user = np.random.default_rng(3).integers(0, users, n)
        pq.write_table(t.append_column("user_id", pa.array(user)), path)
    return path


def config_file(workdir: str, name: str, user_spec: bool, min_slice_size: int,
                intervals: bool) -> str:
    with open(CONFIG) as f:
        lines = [line for line in f if not line.startswith("slicing_specs")]
    lines += ['slicing_specs {}\n', 'slicing_specs { feature_keys: ["country"] }\n']
    if user_spec:
        lines.append('slicing_specs { feature_keys: ["user_id"] }\n')
    options = []
    if min_slice_size:
        options.append(f"min_slice_size {{ value: {min_slice_size} }}")
    if intervals:
        options.append("compute_confidence_intervals { value: true }")
    if options:
        lines.append(f"options {{ {' '.join(options)} }}\n")
    path = os.path.join(workdir, f"{name}.textproto")
    with open(path, "w") as f:
        f.write("".join(lines))
    return path


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (Linux /proc)."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def du(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def run(config: str, data: str, out: str, extra: list) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "evalbeam.cli", "evaluate", "--config", config, "--data", data,
           "--output", out] + extra
    log = tempfile.TemporaryFile("w+")  # not a pipe: nothing blocks while we wait
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    peak_sum, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak_sum[0] = max(peak_sum[0], _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    log.seek(0)
    output = log.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"evalbeam exited {code}: {' '.join(cmd)}\n{output}")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "max_rss_mb": usage.ru_maxrss / 1024,
            "sum_rss_mb": peak_sum[0] / 2**20, "output_mb": du(out) / 2**20,
            "summary": summary}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=200_000)
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--intervals", action="store_true", help="compute confidence intervals")
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--runs", default="all", choices=("all", "plain", "min", "reference"))
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:len(argv) - len(extra) - (1 if extra else 0)])
    os.makedirs(a.workdir, exist_ok=True)
    data = data_file(a.n, a.users, a.workdir)
    users = len(np.unique(pq.read_table(data, columns=["user_id"]).column(0).to_numpy()))
    runs = {"plain": (True, 0), "min": (True, 100), "reference": (False, 0)}
    if a.runs != "all":
        runs = {a.runs: runs[a.runs]}
    labels = {"plain": "user_id spec", "min": "user_id spec, min_slice_size 100",
              "reference": "without the user_id spec"}
    print(f"many slices: {a.n} rows, {users} distinct user ids"
          f"{', confidence intervals' if a.intervals else ''}")
    for name, (user_spec, min_size) in runs.items():
        config = config_file(a.workdir, f"many_{name}", user_spec, min_size, a.intervals)
        r = run(config, data, os.path.join(a.workdir, f"many_out_{name}"), extra)
        specs = r["summary"].get("specs", [])
        detail = "; ".join(f"{s['spec']}: {s['slices']} slices, {s['plot_slices']} with plots, "
                           f"{s['omitted_below_min_slice_size']} omitted" for s in specs)
        print(f"  {labels[name]:34s} {r['seconds']:6.1f} s (CPU {r['cpu']:5.1f} s)  "
              f"peak RSS {r['max_rss_mb']:6.0f} MB "
              f"(process tree {r['sum_rss_mb']:6.0f} MB)  output {r['output_mb']:8.1f} MB"
              f"  slices {r['summary']['slices']}")
        if detail:
            print(f"    {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
