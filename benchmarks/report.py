#!/usr/bin/env python3
"""The HTML report at scale: its size, how long `evalbeam report` takes to build it, and how
long headless Chromium takes to draw its first view.

Two workloads:
  B1      B1's 100k rows and config (144 slices, confusion-matrix and calibration plots);
  many    B1's columns plus a user_id with 200,000 values (each in 5 of 1M rows), B1's config
          with a [user_id] spec added: a spec of 200k slices.
Each is evaluated once (kept in --workdir), then `evalbeam report DIR -o report.html` is timed
(wall, a CLI subprocess, start-up included) and the page opened --loads times in headless
Chromium (Debian's chromium + chromium-driver): the first view's time is the page's
`EB.readyAt`, milliseconds from navigation start to the first view drawn; the median is
printed, and the same for views opened by a deep link (the table of B1's largest spec, a
slice's plots; the 200k spec's histogram and table). One line per figure, with its goal
(MB: 10^6 bytes).

usage: python benchmarks/report.py [--only b1|many] [--rows N] [--many_rows N] [--users U]
                                   [--loads L] [--workdir DIR]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evalbeam.demo import CONFIG, generate

MB = 1e6


def b1_data(rows: int, workdir: str) -> tuple:
    data = os.path.join(workdir, f"b1_{rows}.parquet")
    if not os.path.exists(data):
        generate(rows, data)
    return data, CONFIG


def many_data(rows: int, users: int, workdir: str) -> tuple:
    """B1's columns plus user_id: every one of ``users`` ids in rows / users rows."""
    data = os.path.join(workdir, f"report_many_{rows}_{users}.parquet")
    if not os.path.exists(data):
        generate(rows, data)
        t = pq.read_table(data)
        user = np.random.default_rng(3).permutation(np.arange(rows) % users)
        pq.write_table(t.append_column("user_id", pa.array(user)), data)
    config = os.path.join(workdir, "report_many.textproto")
    with open(CONFIG) as f, open(config, "w") as out:
        out.write(f.read() + 'slicing_specs { feature_keys: ["user_id"] }\n')
    return data, config


def cli(*args) -> float:
    """Run ``evalbeam ARGS`` (this interpreter, this environment); its wall seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evalbeam.cli", *args], env=os.environ.copy(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"evalbeam {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return seconds


def evaluated(name: str, data: str, config: str, workdir: str) -> str:
    out = os.path.join(workdir, f"report_{name}_result")
    stamp = os.path.join(out, "summary.json")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(data):
        shutil.rmtree(out, ignore_errors=True)
        seconds = cli("evaluate", "--config", config, "--data", data, "--output", out,
                      "--no_report")
        print(f"  ({name}: evaluated in {seconds:.1f} s)")
    return out


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        raise SystemExit("needs Debian's chromium and chromium-driver on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def first_views(driver, path: str, loads: int, view: str = "") -> list:
    """Seconds from navigation start to the first view drawn, per page load (``view``: a
    deep link's hash, the view to open on)."""
    from selenium.webdriver.support.ui import WebDriverWait

    url = "file://" + os.path.abspath(path) + view
    times = []
    for _ in range(loads):
        driver.get("about:blank")
        driver.get(url)
        WebDriverWait(driver, 300, poll_frequency=0.02).until(
            lambda d: d.execute_script("return !!(window.EB && EB.ready === true)"))
        times.append(driver.execute_script("return EB.readyAt") / 1000)
        if view:  # the page opened on the view asked for
            asked = dict(p.split("=", 1) for p in view.lstrip("#").replace("+", " ").split("&"))
            state = driver.execute_script("return EB.state")
            if any(state.get(k) != v for k, v in asked.items()):
                raise SystemExit(f"{url} opened on tab={state.get('tab')} spec={state.get('spec')}")
    return times


def measure(label: str, result_dir: str, workdir: str, loads: int, driver, goals: dict,
            views: dict):
    page = os.path.join(workdir, f"report_{os.path.basename(result_dir)}.html")
    built = cli("report", result_dir, "-o", page)
    size = os.path.getsize(page)
    times = first_views(driver, page, loads)
    view = statistics.median(times)

    def goal(name, value, unit):
        limit = goals.get(name)
        if limit is None:
            return ""
        return f"  [goal <= {limit:g} {unit}: {'met' if value <= limit else 'NOT met'}]"

    print(f"{label}: report built in {built:.2f} s (evalbeam report, wall)"
          + goal("built", built, "s"))
    print(f"{label}: report size {size / MB:.2f} MB ({size:,} bytes)"
          + goal("size", size / MB, "MB"))
    print(f"{label}: first view {view:.2f} s (median of {loads} loads; "
          f"{min(times):.2f}-{max(times):.2f} s){goal('view', view, 's')}")
    for name, link in views.items():
        times = first_views(driver, page, loads, link)
        print(f"{label}: opened on {name} ({link}) {statistics.median(times):.2f} s "
              f"(median of {loads} loads; {min(times):.2f}-{max(times):.2f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("b1", "many"))
    ap.add_argument("--rows", type=int, default=100_000, help="B1 rows (default 100,000)")
    ap.add_argument("--many_rows", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=200_000, help="user_id values (slices)")
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--workdir", default="/tmp/evalbeam-bench")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    driver = browser()
    try:
        if a.only in (None, "b1"):
            data, config = b1_data(a.rows, a.workdir)
            out = evaluated(f"b1_{a.rows}", data, config, a.workdir)
            measure(f"B1 {a.rows:,} rows", out, a.workdir, a.loads, driver,
                    {"size": 3, "view": 1.5},
                    {"the country x device table": "#tab=table&spec=country+x+device",
                     "a slice's plots": "#tab=plots&spec=country+x+device"})
        if a.only in (None, "many"):
            data, config = many_data(a.many_rows, a.users, a.workdir)
            out = evaluated(f"many_{a.many_rows}_{a.users}", data, config, a.workdir)
            measure(f"{a.users:,} slices ({a.many_rows:,} rows)", out, a.workdir, a.loads,
                    driver, {"size": 10, "built": 10},
                    {"the user_id histogram": "#tab=histogram&spec=user_id",
                     "the user_id table": "#tab=table&spec=user_id"})
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
