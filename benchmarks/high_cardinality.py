#!/usr/bin/env python3
"""DESIGN's high-cardinality target: B1's metrics (without plots) sliced additionally by a
feature with 200,000 distinct values, over 1M rows. Prints time, peak RSS and checks every
slice's example count and mean label of that feature against numpy.

usage: python benchmarks/high_cardinality.py [N] [--values V] [--workdir DIR]
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
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG, generate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--values", type=int, default=200_000)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    data = os.path.join(a.workdir, f"hc_{a.n}_{a.values}.parquet")
    if not os.path.exists(data):
        generate(a.n, data)
        t = pq.read_table(data)
        user = np.random.default_rng(1).integers(0, a.values, a.n)
        pq.write_table(t.append_column("user", pa.array(user)), data, row_group_size=1 << 20)
    config = os.path.join(a.workdir, "hc.textproto")
    with open(CONFIG) as f, open(config, "w") as out:
        lines = [line for line in f if "Plot" not in line]
        out.write("".join(lines) + 'slicing_specs { feature_keys: ["user"] }\n')
    cli = os.path.join(os.path.dirname(sys.executable), "evalbeam")
    result = os.path.join(a.workdir, "hc_out")
    t0 = time.perf_counter()
    subprocess.run([cli, "evaluate", "--config", config, "--data", data, "--output", result],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shown = subprocess.run([cli, "show", result, "--json"], check=True, capture_output=True,
                           text=True).stdout
    got = {}
    for line in shown.splitlines():
        r = json.loads(line)
        if r["slice"] and r["slice"][0][0] == "user":
            got.setdefault(r["slice"][0][1], {})[r["metric"]] = r["value"]
    t = pq.read_table(data, columns=["user", "label", "weight"])
    user, y = t.column("user").to_numpy(), t.column("label").to_numpy()
    w = t.column("weight").to_numpy().astype(np.float64)
    sw = np.bincount(user, weights=w, minlength=a.values)
    swy = np.bincount(user, weights=w * y, minlength=a.values)
    present = np.flatnonzero(np.bincount(user, minlength=a.values))
    bad = sum(1 for u in present.tolist()
              if abs(got[u]["example_count"] - sw[u]) > 1e-9 * sw[u]
              or abs(got[u]["mean_label"] - swy[u] / sw[u]) > 1e-9)
    print(f"high cardinality: rows={a.n} user slices={len(present)} (got {len(got)})  "
          f"evalbeam CLI {seconds:.1f}s  peak RSS {rss:.0f} MB  mismatches {bad}")
    return 0 if bad == 0 and len(got) == len(present) else 1


if __name__ == "__main__":
    sys.exit(main())
