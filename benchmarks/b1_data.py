"""B1's data on disk at any size, cached: written part by part, never whole in memory.

Up to ``PART_ROWS`` rows the data is one Parquet file, ``evalbeam.demo.generate(n, path)``
itself (row groups of 2**20 rows; seed 7). Above that it is a folder of part files of
``PART_ROWS`` rows each (the last one shorter), each written by the same generator chunk by
chunk (one row group of 2**20 rows at a time) from its own seed: part 0 from seed 7, so it
holds the same rows as the one-file data of ``PART_ROWS`` rows, part i > 0 from the seed
sequence (7, i). Every part draws from the same distributions, so the data at any size is
B1's; the rows beyond the first part are not those the one-shot generator would draw.

Each file is written under a hidden temporary name (evalbeam never reads names starting with
``.``) and renamed once complete, so an interrupted generation leaves no file that looks done,
and the next call writes only what is missing.
"""
from __future__ import annotations

import math
import os
import shutil

import numpy as np

from evalbeam.demo import generate

PART_ROWS = 10_000_000
SEED = 7
BYTES_PER_ROW = 16  # B1 in Parquet: 157 MB for 10M rows


def part_seed(index: int):
    return SEED if index == 0 else np.random.SeedSequence([SEED, index])


def b1_data(n: int, workdir: str, row_groups: int | None = None) -> str:
    """The path of B1 with ``n`` rows under ``workdir`` (a file, or a folder of parts above
    ``PART_ROWS`` rows), generated unless it is already there. ``row_groups`` writes a
    one-file input in that many row groups instead."""
    os.makedirs(workdir, exist_ok=True)
    if n <= PART_ROWS:
        suffix = f"_{row_groups}g" if row_groups else ""
        path = os.path.join(workdir, f"b1_{n}{suffix}.parquet")
        chunk = {"chunk": max(1, math.ceil(n / row_groups))} if row_groups else {}
        _write(path, lambda tmp: generate(n, tmp, **chunk))
        return path
    if row_groups:
        raise SystemExit(f"--row_groups applies to a one-file input (at most {PART_ROWS:,} "
                         "rows); above that the data is written in parts of row groups of "
                         "2**20 rows")
    folder = os.path.join(workdir, f"b1_{n}")
    os.makedirs(folder, exist_ok=True)
    parts = math.ceil(n / PART_ROWS)
    missing = [i for i in range(parts) if not os.path.exists(_part(folder, i))]
    need = sum(min(PART_ROWS, n - i * PART_ROWS) for i in missing) * BYTES_PER_ROW
    free = shutil.disk_usage(folder).free
    if need > free:
        raise SystemExit(f"B1 at {n:,} rows needs about {need / 2**30:.1f} GiB more in "
                         f"{folder}; {free / 2**30:.1f} GiB free")
    for i in missing:
        rows = min(PART_ROWS, n - i * PART_ROWS)
        _write(_part(folder, i), lambda tmp, rows=rows, i=i: generate(rows, tmp,
                                                                      seed=part_seed(i)))
    return folder


def _part(folder: str, index: int) -> str:
    return os.path.join(folder, f"part-{index:05d}.parquet")


def _write(path: str, write) -> None:
    if os.path.exists(path):
        return
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    write(tmp)
    os.replace(tmp, path)


def parquet_files(path: str) -> list:
    """The Parquet files of a path: itself, or a folder's part files in order."""
    if not os.path.isdir(path):
        return [path]
    return sorted(os.path.join(path, name) for name in os.listdir(path)
                  if name.endswith(".parquet") and not name.startswith((".", "_")))
