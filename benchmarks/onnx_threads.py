#!/usr/bin/env python3
"""How onnxruntime's own threads should be set inside Beam's threads: a logistic regression
(skl2onnx) over N rows x 20 features in record-batch-sized calls, from 1 and from 2 Python
threads at once (Beam runs a step's bundles in several threads), for load_onnx's sessions
(threads=1 and 2, no spin-waiting) and onnxruntime's defaults (a pool of one thread per core
that spin-waits). Alternated runs (each
configuration first in turn, a pause after each so that a spinning pool does not slow the next);
medians of wall and CPU time (the process's, all threads).

usage: python benchmarks/onnx_threads.py [--rows N] [--batch B] [--repeats R]
"""
import argparse
import os
import statistics
import tempfile
import threading
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1 << 18)
    ap.add_argument("--repeats", type=int, default=12)
    a = ap.parse_args()
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from evalbeam.inference.onnx_model import load_onnx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(a.rows, 20))
    y = (X @ rng.normal(size=20) + rng.normal(size=a.rows) > 0).astype(int)
    model = LogisticRegression().fit(X[:20000], y[:20000])
    path = os.path.join(tempfile.mkdtemp(), "lr.onnx")
    with open(path, "wb") as f:
        f.write(to_onnx(model, X[:1].astype(np.float32),
                        options={"zipmap": False}).SerializeToString())
    default = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    configs = {
        "load_onnx threads=1": load_onnx(path, threads=1).predict,
        "load_onnx threads=2": load_onnx(path, threads=2).predict,
        "onnxruntime defaults": lambda b: default.run(
            ["probabilities"], {"X": b.astype(np.float32)})[0][:, 1].astype(np.float64)}
    starts = range(0, a.rows, a.batch)

    def run(predict, n_threads):
        parts = [list(starts)[i::n_threads] for i in range(n_threads)]

        def work(part):
            for s in part:
                predict(X[s:s + a.batch])

        wall, cpu = time.perf_counter(), time.process_time()
        threads = [threading.Thread(target=work, args=(p,)) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - wall, time.process_time() - cpu

    times = {(name, n): [] for name in configs for n in (1, 2)}
    floor = []
    order = list(times)
    for r in range(a.repeats):
        t0 = time.perf_counter()
        1 / (1 + np.exp(-(X @ model.coef_[0] + model.intercept_[0])))
        floor.append(time.perf_counter() - t0)
        for name, n in order[r % len(order):] + order[:r % len(order)]:  # each goes first once
            times[name, n].append(run(configs[name], n))
            time.sleep(0.2)  # a spinning pool's threads stop spinning before the next run
    print(f"rows={a.rows} batch={a.batch} cores={os.cpu_count()} load={os.getloadavg()[0]:.2f}  "
          f"numpy predict floor {statistics.median(floor):.3f}s")
    for (name, n), got in times.items():
        wall = statistics.median(w for w, _ in got)
        cpu = statistics.median(c for _, c in got)
        print(f"  {name:22s} {n} Python thread{'s' if n > 1 else ' '}: wall {wall:.3f}s "
              f"({wall / statistics.median(floor):.2f}x floor)  cpu {cpu:.3f}s")


if __name__ == "__main__":
    main()
