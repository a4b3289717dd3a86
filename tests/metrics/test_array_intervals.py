"""Confidence intervals of metrics with several values (a confusion metric at several
thresholds) and of their diffs, against numpy by hand over the partitions / Poisson counts
evalbeam drew, through run_evaluation and every view of the result."""
import json
import math

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE
from evalbeam import run_evaluation
from evalbeam.cli import main
from evalbeam.config import parse_config, resolve_config
from evalbeam.extract import with_source
from evalbeam.io.readers import IN_MEMORY
from test_resampling import METHODS, by_hand_interval, draws

THRESHOLDS = (0.3, 0.5, 0.93)
LIST = ", ".join(map(str, THRESHOLDS))
ARRAYS = f"""metrics_specs {{
  metrics {{ class_name: "Precision" config: '"thresholds": [{LIST}]' }}
  metrics {{ class_name: "Recall" config: '"thresholds": [{LIST}]' }}
  metrics {{ class_name: "Precision" config: '"thresholds": [0.3], "name": "precision_03"' }}
  metrics {{ class_name: "Precision" config: '"thresholds": [0.93], "name": "precision_093"' }}
}}
slicing_specs {{}} slicing_specs {{ feature_keys: ["g"] }}
"""


def data(seed=0, sizes=(12, 25, 40, 70, 300), above=(1, 1, 2, 5, 15)):
    """Slices g of the given sizes (the first below 20 examples) with ``above`` predictions
    above 0.93 each: a resample of a small slice may have none there (precision undefined)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    n = len(g)
    p = rng.random(n) * 0.92
    starts = np.cumsum((0,) + sizes[:-1])
    high = np.concatenate([start + rng.choice(size, k, replace=False)
                           for start, size, k in zip(starts, sizes, above)])
    p[high] = rng.uniform(0.94, 1.0, len(high))
    y = (rng.random(n) < 0.2 + 0.6 * p).astype(np.int64)
    return pa.table({"label": y, "prediction": p, "weight": rng.choice([1.0, 2.0], n), "g": g})


def as_read(t: pa.Table) -> pa.RecordBatch:
    """The table as run_evaluation reads it (one batch, tagged with where it came from: the
    resamples are drawn from a seed fixed by both)."""
    (batch,) = t.to_batches()
    return with_source(batch, f"{IN_MEMORY} (rows 0-{t.num_rows - 1})")


def rate(name, t):
    def fn(y, p, w):
        hard = p > t
        tp = w[hard & (y == 1)].sum()
        den = w[hard].sum() if name == "precision" else w[y == 1].sum()
        return tp / den if den > 0 else np.nan
    return fn


def resampled(fn, rows, drawn, method, R):
    """The R resampled values of ``fn`` over ``rows``, by hand."""
    if method == "jackknife":
        return np.array([fn(rows[drawn[rows] != i]) for i in range(R)])
    return np.array([fn(np.repeat(rows, drawn[rows, i])) for i in range(R)])


def slices_of(t):
    g = t.column("g").to_numpy()
    out = {(): np.arange(len(g))}
    for v in np.unique(g).tolist():
        out[(("g", v),)] = np.flatnonzero(g == v)
    return out


@pytest.mark.parametrize("method", ["jackknife", "bootstrap"])
def test_each_value_of_an_array_metric_gets_the_interval_computed_by_hand(tmp_path, method, capsys):
    text = BASE + ARRAYS + METHODS[method]
    eval_plan = resolve_config(parse_config(text))
    R = eval_plan.resampling.samples
    t = data()
    drawn = draws(eval_plan, as_read(t), method)
    y, p, w = (t.column(c).to_numpy().astype(float) for c in ("label", "prediction", "weight"))
    out = str(tmp_path / "out")
    result = run_evaluation(text, t, out)
    assert main(["show", out]) == 0
    table = capsys.readouterr().out
    assert main(["show", out, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    shown = {(tuple(tuple(e) for e in r["slice"]), r["metric"], r.get("threshold")): r
             for r in lines}
    frame = result.to_dataframe()
    counts = dict.fromkeys(("intervals", "intervals_undefined", "resamples_left_out",
                            "intervals_with_resamples_left_out"), 0)
    for slice_key, rows in slices_of(t).items():
        for name in ("precision", "recall"):
            for threshold in THRESHOLDS:
                fn = rate(name, threshold)

                def at(m):
                    return fn(y[m], p[m], w[m])

                point = at(rows)
                assert result.value(name, slice_key, threshold=threshold) == pytest.approx(
                    point, rel=1e-12, nan_ok=True)
                line = shown[(slice_key, name, threshold)]
                if len(rows) < 20:  # no interval in any view
                    with pytest.raises(KeyError, match="no confidence interval"):
                        result.interval(name, slice_key, threshold=threshold)
                    assert "lower" not in line
                    continue
                thetas = resampled(at, rows, drawn, method, R)
                want, _, k = by_hand_interval(point, thetas, method, (0, 1))
                got = result.interval(name, slice_key, threshold=threshold)
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), \
                    (slice_key, name, threshold)
                if not slice_key and math.isfinite(want[0]):  # show: value [lower, upper]
                    assert f"{point:.4g} [{want[0]:.4g}, {want[1]:.4g}]" in table
                # show --json: lower / upper on the value's own line (null when NaN)
                assert (line["lower"], line["upper"]) == pytest.approx(
                    [None if math.isnan(b) else b for b in want], rel=1e-9, abs=1e-12)
                in_slice = frame.g.isna() if not slice_key else frame.g == slice_key[0][1]
                row = frame[in_slice & (frame.metric == name) & (frame.threshold == threshold)]
                assert len(row) == 1
                assert (row.lower.item(), row.upper.item()) == pytest.approx(
                    want, rel=1e-9, abs=1e-12, nan_ok=True)
                if math.isfinite(want[0]):
                    counts["intervals"] += 1
                    if k < R:
                        counts["intervals_with_resamples_left_out"] += 1
                        counts["resamples_left_out"] += R - k
                elif math.isfinite(point):
                    counts["intervals_undefined"] += 1
                if name == "precision" and threshold in (0.3, 0.93):
                    # the same metric at that threshold alone (a number) has the same interval
                    single = f"precision_0{str(threshold)[2:]}"
                    assert result.interval(single, slice_key) == pytest.approx(
                        got, rel=1e-12, abs=1e-12, nan_ok=True)
                    assert result.interval(single, slice_key, threshold=threshold) == \
                        pytest.approx(got, rel=1e-12, abs=1e-12, nan_ok=True)
                    if math.isfinite(want[0]):  # counted again, as the scalar's interval
                        counts["intervals"] += 1
                        if k < R:
                            counts["intervals_with_resamples_left_out"] += 1
                            counts["resamples_left_out"] += R - k
                    elif math.isfinite(point):
                        counts["intervals_undefined"] += 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["intervals"]
    assert summary["slices_below_min_examples"] == 1
    assert {k: summary[k] for k in counts} == counts
    assert counts["intervals"] > 30 and counts["resamples_left_out"] > 0, counts


def test_the_artifacts_hold_an_array_metrics_bounds_as_tfma_writes_them(tmp_path):
    """ConfidenceInterval with array_value bounds and standard error of the value's shape,
    and one number of degrees of freedom (the smallest of the values')."""
    import glob

    from evalbeam.io.tfrecord import read_records
    from evalbeam.proto import metrics_for_slice_pb2

    text = BASE + ARRAYS + METHODS["bootstrap"]
    R = resolve_config(parse_config(text)).resampling.samples
    out = str(tmp_path / "out")
    result = run_evaluation(text, data(), out)
    seen = 0
    for path in glob.glob(out + "/metrics-*"):
        with open(path, "rb") as f:
            for record in read_records(f, path):
                m = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
                for kv in m.metric_keys_and_values:
                    if kv.key.name != "precision" or not kv.HasField("confidence_interval"):
                        continue
                    ci = kv.confidence_interval
                    for bound in (ci.lower_bound, ci.upper_bound, ci.standard_error):
                        assert bound.WhichOneof("type") == "array_value"
                        assert list(bound.array_value.shape) == [len(THRESHOLDS)]
                    key = tuple((s.column, s.int64_value) for s in m.slice_key.single_slice_keys)
                    lower = np.array(ci.lower_bound.array_value.float64_values)
                    assert lower[0] == result.interval("precision", key, threshold=0.3)[0]
                    assert 0 < ci.degrees_of_freedom.value <= R - 1
                    seen += 1
    assert seen == 5  # the overall slice and the 4 slices of 20 examples or more


def test_diffs_at_thresholds_get_intervals_from_paired_resamples(tmp_path):
    text = """
    model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
    model_specs { name: "cand" label_key: "label" prediction_key: "prediction" }
    metrics_specs { metrics { class_name: "Precision" config: '"thresholds": [0.3, 0.5]' } }
    slicing_specs {}
    """ + METHODS["jackknife"]
    eval_plan = resolve_config(parse_config(text))
    R = eval_plan.resampling.samples
    rng = np.random.default_rng(7)
    n = 400
    y = rng.integers(0, 2, n)
    cand = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    base = np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1)
    t = pa.table({"label": y, "prediction": cand, "p_base": base})
    part = draws(eval_plan, as_read(t), "jackknife")
    result = run_evaluation(text, t, str(tmp_path / "out"))
    ones, rows = np.ones(n), np.arange(n)
    for threshold in (0.3, 0.5):
        fn = rate("precision", threshold)

        def diff(m):
            return fn(y[m], cand[m], ones[m]) - fn(y[m], base[m], ones[m])

        want, _, _ = by_hand_interval(diff(rows), resampled(diff, rows, part, "jackknife", R),
                                      "jackknife", (-1, 1))
        got = result.interval("precision", model_name="cand", diff=True, threshold=threshold)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert got[0] < result.value("precision", model_name="cand", diff=True,
                                     threshold=threshold) < got[1]


def test_require_significance_uses_each_values_interval(tmp_path):
    """A change bound between the point change and the interval's far edge at one threshold:
    the point value fails it, the interval (require_significance) does not; a bound beyond the
    interval fails at that threshold only, with the interval in the message."""
    models = """
    model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
    model_specs { name: "cand" label_key: "label" prediction_key: "prediction" }
    """
    rng = np.random.default_rng(3)
    n = 600
    y = rng.integers(0, 2, n)
    base = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    cand = np.clip(base + rng.normal(0.0, 0.08, n), 0, 1)
    t = pa.table({"label": y, "prediction": cand, "p_base": base})
    ci = METHODS["jackknife"]

    def run(threshold, name):
        text = models + ("metrics_specs { metrics { class_name: \"Precision\" "
                         "config: '\"thresholds\": [0.3, 0.5]' %s } }\nslicing_specs {}"
                         % threshold) + ci
        return run_evaluation(text, t, str(tmp_path / name))

    probe = run("", "probe")
    d = probe.value("precision", model_name="cand", diff=True)
    bounds = [probe.interval("precision", model_name="cand", diff=True, threshold=at)
              for at in (0.3, 0.5)]
    assert all(low < di < high for di, (low, high) in zip(d, bounds))
    # HIGHER_IS_BETTER with "change >= bound": a bound above the point change at both
    # thresholds, below the upper edge of both intervals
    bound = float(max(d) + min(high for _, high in bounds)) / 2
    assert all(di < bound < high for di, (_, high) in zip(d, bounds))
    plain = ("threshold { change_threshold { direction: HIGHER_IS_BETTER absolute { value: %r } } }"
             % bound)
    significant = plain.replace("} } }", "} require_significance: true } }")
    failed = run(plain, "plain")
    assert not failed.validation.validation_ok
    message = failed.validation.metric_validations_per_slice[0].failures[0].message
    assert "precision@0.3" in message and "precision@0.5" in message
    assert run(significant, "significant").validation.validation_ok
    # above the upper edge at 0.3 only: fails there, with that value's interval
    low3, high3 = bounds[0]
    _, high5 = bounds[1]
    assert high3 < high5, "the data were chosen so that the 0.3 interval ends first"
    beyond = significant.replace(repr(bound), repr(float(high3 + high5) / 2))
    failed = run(beyond, "beyond")
    assert not failed.validation.validation_ok
    (failure,) = failed.validation.metric_validations_per_slice[0].failures
    assert "precision@0.3" in failure.message and "precision@0.5" not in failure.message
    assert f"interval [{low3:+.6g}, {high3:+.6g}]" in failure.message
    # `evalbeam diff` lists that value with its own interval
    from evalbeam import find_regressions

    (record,) = [r for r in find_regressions(str(tmp_path / "beyond")) if r["at"] == "0.3"]
    assert (record["lower"], record["upper"]) == (low3, high3)
    assert record["interval_excludes_zero"] == (low3 > 0 or high3 < 0)


def test_array_bounds_are_laid_out_as_protobuf_serializes_them():
    from evalbeam.io import convert
    from evalbeam.proto import metrics_for_slice_pb2 as mfs

    def by_protobuf(value):
        out = mfs.MetricValue()
        out.array_value.data_type = mfs.ArrayValue.FLOAT64
        out.array_value.shape.extend(value.shape)
        out.array_value.float64_values.extend(value.ravel().tolist())
        return out

    for lower, dof in ((np.array([0.1, np.nan, 0.3]), np.array([19, 12, 19])),
                       (np.zeros((2, 3)), 0), (np.linspace(0, 1, 300), 999), (np.zeros(0), 5)):
        want = mfs.ConfidenceInterval(lower_bound=by_protobuf(lower),
                                      upper_bound=by_protobuf(lower + 1),
                                      standard_error=by_protobuf(lower / 2))
        want.degrees_of_freedom.value = int(np.min(dof))  # one number: the smallest
        got = convert._interval_bytes(lower, lower + 1, lower / 2, dof)
        assert got == want.SerializeToString()
