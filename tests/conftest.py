"""Shared fixtures: random weighted evaluation data, an in-process evaluator (no Beam), a
headless browser for the HTML report, and the other runners: Beam's local job service (the
portable runner's), a Dask cluster of two worker processes."""
import numpy as np
import pyarrow as pa
import pytest

from evalbeam.combine import FusedCombineFn
from evalbeam.compute import iter_slice_results, slice_results
from evalbeam.config import parse_config, resolve_config
from evalbeam.preagg import batch_partials
from evalbeam.queries import query_partials, split_by_query

BASE = 'model_specs { label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }\n'


def make_table(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    prediction = np.clip(rng.beta(2, 3, n) + 0.25 * label, 0, 1).astype(np.float32)
    return pa.table({
        "label": label,
        "prediction": prediction,
        "weight": rng.choice([0.0, 0.5, 1.0, 2.0], n, p=[0.05, 0.25, 0.5, 0.2]),
        "country": rng.choice(["us", "de", "fr", "jp"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "device": rng.choice(["mobile", "desktop"], n),
        "age": rng.integers(18, 30, n),
    })


# metrics and plots of the overall slice and a slice per user (users_table)
USER_METRICS = """metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "MeanLabel" } metrics { class_name: "ConfusionMatrixPlot" }
  metrics { class_name: "CalibrationPlot" }
}
slicing_specs {} slicing_specs { feature_keys: ["user"] }
"""


def users_table(seed=0):
    """40 users with 1..30 rows each; weights make the weighted ranking differ from the row
    count ranking. Users 7 and 3 get the same weighted count (a tie broken by key)."""
    rng = np.random.default_rng(seed)
    rows_per_user = rng.integers(1, 31, 40)
    user = np.repeat(np.arange(40), rows_per_user)
    weight = rng.choice([0.1, 0.2, 0.3, 1.0, 4.0], len(user))
    for u in (3, 7):  # 20 rows of weight 0.7 each: 14.0 (above most users' total)
        weight = np.concatenate([weight[user != u], np.full(20, 0.7)])
        user = np.concatenate([user[user != u], np.full(20, u)])
    order = rng.permutation(len(user))
    user, weight = user[order], weight[order]
    n = len(user)
    label = rng.integers(0, 2, n)
    return pa.table({"label": label, "prediction": rng.random(n) * 0.5 + 0.4 * label,
                     "weight": weight, "user": user})


def expected_plot_users(t, limit):
    """The ``limit`` users of largest weighted count, ties to the smaller user id."""
    user, w = t.column("user").to_numpy(), t.column("weight").to_numpy()
    totals = np.bincount(user, weights=w)
    present = np.flatnonzero(np.bincount(user))
    ranked = sorted(present.tolist(), key=lambda u: (-round(totals[u], 9), u))
    return ranked[:limit], totals


@pytest.fixture
def table():
    return make_table()


def plan(body: str):
    return resolve_config(parse_config(BASE + body))


def partials(eval_plan, batches) -> list:
    """``[(slicing spec index, SliceTable)]``: every partial the pipeline's combine gets for
    ``batches``: the row path's, and with a query_key the query path's after grouping the
    documents by query bucket, as GroupByQuery does."""
    out, buckets = [], {}
    for batch in batches:
        extracted, row_partials = batch_partials(batch, eval_plan)
        out += row_partials
        if eval_plan.query_key:
            for bucket, docs in split_by_query(extracted.batch, eval_plan):
                buckets.setdefault(bucket, []).append(docs)
    for docs in buckets.values():
        out += query_partials(docs, eval_plan)
    return out


def accumulate(eval_plan, batches) -> dict:
    """{slicing spec index: merged SliceTable} via the combine path (:func:`partials`)."""
    fn = FusedCombineFn(eval_plan)
    accumulators = {}
    for index, part in partials(eval_plan, batches):
        fn.add_input(accumulators.setdefault(index, fn.create_accumulator()), part)
    return {index: fn.extract_output(acc) for index, acc in accumulators.items()}


def evaluate_in_process(eval_plan, batches):
    """{slice key: {metric name (+ '/topK:k') (+ '/unweighted'): value}}, plots, omitted."""
    metrics, plots, omitted = {}, {}, []
    for table in accumulate(eval_plan, batches).values():
        results, om = slice_results(table, eval_plan)
        omitted += om
        for r in results:
            metrics[r.slice_key] = {k.name + (f"/{k.sub_key}" if k.sub_key else "") +
                                    ("" if k.example_weighted else "/unweighted"): v
                                    for k, v in r.metrics.items()}
            plots[r.slice_key] = {k.name: v for k, v in r.plots.items()}
    return metrics, plots, omitted


def first_spec_results(eval_plan, batches) -> list:
    """The SliceResults (with intervals) of the first slicing spec: the overall slice when it
    is listed first."""
    return list(iter_slice_results(accumulate(eval_plan, batches)[0], eval_plan))


def split_batches(table, sizes_seed=None, size=None):
    """The table as record batches of random (or fixed) sizes."""
    if size is not None:
        return table.to_batches(max_chunksize=size)
    rng = np.random.default_rng(sizes_seed)
    out, start = [], 0
    while start < table.num_rows:
        n = int(rng.integers(1, max(2, table.num_rows // 3)))
        out.append(table.slice(start, n).combine_chunks().to_batches()[0])
        start += n
    return out


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (see chromium.py; skipped without one)."""
    import chromium

    d = chromium.driver()
    yield d
    d.quit()


@pytest.fixture
def page(browser):
    """The module's browser for one test, on a single tab. After the test, its pages must
    have logged no console error and made no network request."""
    import chromium

    yield browser
    _dismiss_alert(browser)
    errors, requests = chromium.logs(browser).take()
    for handle in browser.window_handles[1:]:
        browser.switch_to.window(handle)
        browser.close()
    browser.switch_to.window(browser.window_handles[0])
    assert not errors, f"console errors: {errors}"
    assert not requests, f"the page made network requests: {requests}"


def _dismiss_alert(d):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        d.switch_to.alert.dismiss()
    except NoAlertPresentException:
        pass


class _Asked(list):
    used: list


@pytest.fixture
def chosen(monkeypatch):
    """The process counts the every-core rule gave (nothing: not asked), and ``.used``, how
    many processes each run's read step was shared out over."""
    from evalbeam import local_workers, worker_pool

    asked, used = _Asked(), []
    rule, finish = local_workers.worker_count, worker_pool.Shared.finish

    def worker_count(*args, **kwargs):
        asked.append(rule(*args, **kwargs))
        return asked[-1]

    def finished(shared, work):
        results = finish(shared, work)
        used.append(len(results))
        return results

    monkeypatch.setattr(local_workers, "worker_count", worker_count)
    monkeypatch.setattr(worker_pool.Shared, "finish", finished)
    asked.used = used
    return asked


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def job_service():
    """The endpoint (``localhost:PORT``) of Beam's local job service, one per test module."""
    import socket
    import subprocess
    import sys
    import time

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m",
                             "apache_beam.runners.portability.local_job_service_main",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("local job service did not start")
    yield f"localhost:{port}"
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def dask_cluster():
    """``(cluster, client)``: a distributed.LocalCluster of two single-threaded worker
    processes, one per test module."""
    import distributed

    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield cluster, client


def runner_options(runner, request, monkeypatch):
    """The pipeline options of a run on ``runner``: "in process", "worker processes"
    (evalbeam's rule made to choose two), "portable" (the module's job service) or "dask" (the
    module's cluster); the job service or cluster is started when first needed."""
    if runner == "worker processes":
        from evalbeam import local_workers

        monkeypatch.setattr(local_workers, "MIN_ROWS", 1)
        monkeypatch.setattr(local_workers, "cores", lambda: 2)
        return None
    if runner == "portable":
        return ["--runner=PortableRunner",
                f"--job_endpoint={request.getfixturevalue('job_service')}",
                "--environment_type=LOOPBACK"]
    if runner == "dask":
        cluster, _ = request.getfixturevalue("dask_cluster")
        return ["--runner=DaskRunner", f"--dask_client_address={cluster.scheduler_address}"]
    assert runner == "in process", runner
    return None
