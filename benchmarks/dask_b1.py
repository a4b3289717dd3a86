#!/usr/bin/env python3
"""Benchmark B1 on Beam's DaskRunner: `evalbeam evaluate --runner=DaskRunner` against a
distributed.LocalCluster of 2 worker processes (1 thread each), beside the local in-process run
and the numpy floor of benchmarks/b1.py, all in the same run.

usage: python benchmarks/dask_b1.py N [--workdir DIR] [--row_groups K]
The data is B1 written in K row groups (default 10: the DaskRunner spreads read tasks, one per
row group, over its workers; above 10M rows, b1_data.py's part files of 2**20-row groups).
The workers import Beam and evalbeam before the timed run, as a cluster's workers have after
its first run (the time it takes is printed beside the cluster's start-up). Prints both CLI
times (each including the interpreter's start-up and imports), the floor's, their ratios to it,
peak RSS (the local CLI's, summed over its processes; the dask CLI's and each worker's), and
whether the numbers agree (Dask vs local: every value within 1e-12 relative; Dask vs the floor
as in b1.py).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from b1 import compare, floor, run_sampled  # noqa: E402
from b1_data import PART_ROWS, b1_data  # noqa: E402

from evalbeam.demo import CONFIG  # noqa: E402


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_evalbeam():
    """What a worker imports for its first task of a run (once per worker process)."""
    import importlib

    for module in ("apache_beam.runners.dask.transform_evaluator", "evalbeam.api"):
        importlib.import_module(module)


def _timed_cli(args):
    """(seconds, peak RSS MB summed over it and the processes it starts) of one `evalbeam
    evaluate` (not its cluster's workers)."""
    t0 = time.perf_counter()
    rss, _ = run_sampled([sys.executable, "-m", "evalbeam.cli", "evaluate", *args])
    return time.perf_counter() - t0, rss / 2 ** 20


def _shown(out):
    text = subprocess.run([sys.executable, "-m", "evalbeam.cli", "show", out, "--json"],
                          check=True, capture_output=True, text=True).stdout
    key = ("slice", "model", "output", "sub_key", "aggregation", "metric", "weighted")
    return text, {json.dumps([r.get(k) for k in key]): r["value"]
                  for r in map(json.loads, text.splitlines())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    ap.add_argument("--row_groups", type=int)
    a = ap.parse_args()
    if a.row_groups is None and a.n <= PART_ROWS:
        a.row_groups = 10
    data = b1_data(a.n, a.workdir, a.row_groups)
    out_dask, out_local = (os.path.join(a.workdir, f"out_{a.n}_{w}") for w in ("dask", "local"))
    common = ["--config", CONFIG, "--data", data]

    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        up = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.run(_import_evalbeam)
        warm = time.perf_counter() - t0
        dask_s, driver_mb = _timed_cli([*common, "--output", out_dask, "--runner=DaskRunner",
                                        f"--dask_client_address={cluster.scheduler_address}"])
        workers_mb = sorted(client.run(_peak_rss_mb).values())
    local_s, local_mb = _timed_cli([*common, "--output", out_local])
    reference, floor_s = floor(data)

    dask_text, dask_values = _shown(out_dask)
    _, local_values = _shown(out_local)
    same_keys = dask_values.keys() == local_values.keys()
    worst = max((abs(dask_values[k] - v) / max(abs(v), 1e-300)
                 for k, v in local_values.items() if isinstance(v, float) and v == v
                 and k in dask_values), default=0.0)
    n, bad, worst_floor = compare(dask_text, reference)
    groups = a.row_groups or "of 2**20 rows"
    print(f"B1 rows={a.n} row groups={groups}  LocalCluster(2 x 1 thread) up {up:.2f}s, "
          f"its workers' imports {warm:.2f}s  "
          f"dask CLI {dask_s:.2f}s (ratio {dask_s / floor_s:.2f})  local CLI {local_s:.2f}s "
          f"(ratio {local_s / floor_s:.2f})  numpy floor {floor_s:.2f}s  "
          f"peak RSS: local CLI {local_mb:.0f} MB; dask CLI {driver_mb:.0f} MB + workers "
          f"{' + '.join(f'{m:.0f}' for m in workers_mb)} MB")
    print(f"dask vs local: {len(local_values)} values, same keys {same_keys}, worst rel diff "
          f"{worst:.1e}; dask vs floor: parity {n - len(bad)}/{n} (worst rel err "
          f"{worst_floor:.1e} excl. AUC-PR)")
    for item in bad[:5]:
        print("  mismatch:", item)
    return 0 if same_keys and worst <= 1e-12 and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
