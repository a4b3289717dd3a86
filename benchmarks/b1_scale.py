#!/usr/bin/env python3
"""B1 at 10M and at 100M rows: does evalbeam's cost grow linearly with the rows, in bounded
memory? Each size is run as `benchmarks/b1.py N` runs it (`evalbeam evaluate` with the default
runner, then the streaming numpy floor, in the same run), smaller first.

usage: python benchmarks/b1_scale.py [--workdir DIR] [--sizes 10000000 100000000]
       [-- extra evalbeam/Beam flags]
The data (about 1.6 GB at 100M rows, 10 part files of 10M rows) is generated once into DIR
(default /tmp/evalbeam_big) and reused. Prints b1.py's line for each size with the load
average before it, then the time ratio of the largest size to the smallest for evalbeam
(target: at most 10.5 for 100M / 10M) and for the floor (what the machine gave meanwhile),
the same in CPU seconds, and the largest peak RSS summed over evalbeam's processes (target: at
most 1 GB).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from b1 import measure, summary  # noqa: E402

TIME_RATIO, RSS_MB = 10.5, 1024  # the targets for 100M / 10M


def _load():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/evalbeam_big")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    results = []
    for n in sorted(a.sizes):
        print(f"rows={n}: {_load()}", flush=True)
        results.append(measure(n, a.workdir, extra=a.extra))
        print(summary(results[-1]), flush=True)
        for item in results[-1]["bad"][:5]:
            print("  mismatch:", item)
    print(_load())
    small, big = results[0], results[-1]
    times = big["evalbeam_s"] / small["evalbeam_s"]
    cpu = big["evalbeam_cpu_s"] / small["evalbeam_cpu_s"]
    peak = max(r["rss_mb"] for r in results)
    print(f"{big['n']:,} / {small['n']:,} rows: evalbeam {times:.2f}x "
          f"({'within' if times <= TIME_RATIO else 'over'} {TIME_RATIO}x), floor "
          f"{big['floor_s'] / small['floor_s']:.2f}x; in CPU seconds (less moved by the "
          f"machine's load) evalbeam {cpu:.2f}x, floor "
          f"{big['floor_cpu_s'] / small['floor_cpu_s']:.2f}x; peak RSS {peak:.0f} MB summed "
          f"({'within' if peak <= RSS_MB else 'over'} {RSS_MB} MB); parity "
          f"{'every value' if not any(r['bad'] for r in results) else 'FAILED'}")
    return 1 if any(r["bad"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
