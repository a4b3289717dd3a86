#!/usr/bin/env python3
"""What the data's statistics cost: B1 (`evalbeam evaluate`, CLI, default runner) with
statistics on all 8 columns for its 144 slices (``--statistics``) against the same run
without, runs alternated, medians of their wall times; and the peak RSS of a run with
statistics on B1 plus a string column of 200,000 distinct values.

usage: python benchmarks/data_quality.py [--workdir DIR] [--repeats K] [--high_cardinality] N
Prints both medians, their ratio, every run's time and the peak RSS (summed over the CLI and
its worker processes), and the machine's load average before and after.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from b1 import run_sampled  # noqa: E402
from b1_data import b1_data  # noqa: E402

HIGH_CARDINALITY = 200_000


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _evaluate(data: str, out: str, statistics_on: bool) -> tuple:
    command = [sys.executable, "-m", "evalbeam.cli", "evaluate", "--config", CONFIG, "--data", data, "--output", out,
               "--no_report", "--quiet"] + (["--statistics"] if statistics_on else [])
    t0 = time.perf_counter()
    rss, _ = run_sampled(command, ok=(0, 1))  # (evaluated; validation passed or failed)
    return time.perf_counter() - t0, rss / 2 ** 20


def with_user_column(data: str, workdir: str, n: int) -> str:
    """B1 plus ``user``: strings of HIGH_CARDINALITY distinct values, written row group by
    row group."""
    path = os.path.join(workdir, f"b1_users_{n}.parquet")
    if os.path.exists(path):
        return path
    source = pq.ParquetFile(data)
    rng = np.random.default_rng(11)
    names = pa.array([f"user-{i:06d}" for i in range(HIGH_CARDINALITY)])
    writer = None
    for group in range(source.num_row_groups):
        t = source.read_row_group(group)
        t = t.append_column("user", names.take(pa.array(rng.integers(0, HIGH_CARDINALITY,
                                                                      t.num_rows))))
        writer = writer or pq.ParquetWriter(path + ".tmp", t.schema)
        writer.write_table(t)
    writer.close()
    os.replace(path + ".tmp", path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--high_cardinality", action="store_true",
                    help="also the peak RSS with a column of 200,000 distinct strings")
    a = ap.parse_args()
    data = b1_data(a.n, a.workdir)
    out = os.path.join(a.workdir, f"out_dq_{a.n}")
    before = _load()
    _evaluate(data, out, False)  # warm the page cache and imports
    runs = {False: [], True: []}
    rss = {False: 0.0, True: 0.0}
    for _ in range(a.repeats):
        for on in (False, True):
            seconds, mb = _evaluate(data, out, on)
            runs[on].append(seconds)
            rss[on] = max(rss[on], mb)
    plain, stats = statistics.median(runs[False]), statistics.median(runs[True])
    print(f"B1 rows={a.n} (144 slices, 8 columns)  without statistics {plain:.2f}s  with "
          f"{stats:.2f}s  ratio {stats / plain:.2f}  (medians of {a.repeats} alternated runs; "
          f"peak RSS {rss[False]:.0f} / {rss[True]:.0f} MB)")
    print("  without: " + " ".join(f"{s:.2f}" for s in runs[False]))
    print("  with:    " + " ".join(f"{s:.2f}" for s in runs[True]))
    if a.high_cardinality:
        users = with_user_column(data, a.workdir, a.n)
        seconds, mb = _evaluate(users, out, True)
        print(f"B1 + a column of {HIGH_CARDINALITY} distinct strings, with statistics: "
              f"{seconds:.2f}s, peak RSS {mb:.0f} MB")
    print(f"load average before {before}, after {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
