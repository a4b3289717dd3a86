"""Statistics per slice against numpy / pandas on the same rows (the slices of country x
device and of flag counted together, per combination, and the others rolled up from them): counts and missing exact; mean,
std, min, max to 1e-12 relative; medians and quantiles within the sketch's bound; unique counts,
top values and list lengths exact; weighted variants by hand; rows the metrics drop (null
labels) described too; TFDV's slice names; a CSV input."""
import collections
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbeam import run_evaluation
from evalbeam.data_quality import accumulate, sketch
from stats_cases import by_slice, config, slices_of, table

NUMERIC = ["label", "prediction", "weight", "age", "flag", "big", "single"]
STRINGS = ["country", "device", "word", "user"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats")
    t = table()
    path = str(folder / "data.parquet")
    pq.write_table(t, path, row_group_size=1000)
    return t, path, folder


@pytest.fixture(scope="module", params=[(700, True), (3000, True), (3000, False)],
                ids=["batches of 700", "one batch", "one batch without value tables"])
def weighted_run(data, request):
    """Batches of 700 rows: every number summed value by value; one batch: numbers of few
    distinct values (label, weight, age, flag) and strings counted per (slice, value) in a
    table; without value tables: both from their values, as features of many values are."""
    t, path, folder = data
    batch_size, tables = request.param
    out = str(folder / f"weighted_{batch_size}_{tables}")
    with pytest.MonkeyPatch.context() as patch:
        if not tables:
            patch.setattr(accumulate, "VALUE_TABLE_CELLS", 0)
            patch.setattr(accumulate, "DENSE_PER_ROW", 0)
        result = run_evaluation(config(weighted=True), path, out, batch_size=batch_size,
                                report=False)
    return result, by_slice(f"{out}/statistics.tfrecord")


def _rows(t: pa.Table) -> dict:
    """Slice name -> row indices."""
    frame = t.select(["country", "device", "flag"]).to_pandas()
    frame["i"] = np.arange(len(frame))
    return {name: rows["i"].to_numpy() for name, rows in slices_of(frame).items()}


def _close(a, b, rel=1e-12):
    assert a == pytest.approx(b, rel=rel, abs=1e-300), (a, b)


def _values(t, name, rows):
    """Per row of ``rows``: whether valid, and the column's values as numpy."""
    col = t.column(name).combine_chunks().take(pa.array(rows))
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    return col, valid


def _shift(t, name):
    x = t.column(name).combine_chunks().cast(pa.float64()).to_numpy(zero_copy_only=False)
    finite = x[np.isfinite(x)]
    return float(finite[0])


def test_names_and_counts_every_row_read(data, weighted_run):
    t, _, _ = data
    result, (stats, datasets) = weighted_run
    rows = _rows(t)
    assert list(datasets)[:2] == ["All Examples", "country_us"] or "All Examples" in datasets
    assert set(datasets) == set(rows)
    label_nulls = t.column("label").null_count
    assert label_nulls > 0 and result.summary["rows_used"] == len(t) - label_nulls
    w = t.column("weight").to_numpy()
    for name, r in rows.items():
        assert datasets[name].num_examples == len(r)  # rows dropped by the metrics too
        _close(datasets[name].weighted_num_examples, w[r].sum())
        assert set(stats[name]) == set(t.column_names)


def test_numbers_match_numpy(data, weighted_run):
    t, _, _ = data
    _, (stats, _) = weighted_run
    w_all = t.column("weight").to_numpy()
    for name, r in _rows(t).items():
        for feature in NUMERIC:
            fs = stats[name][feature]
            assert fs.type == (fs.FLOAT if feature in ("label", "prediction", "weight", "big",
                                                       "single") else fs.INT)
            num = fs.num_stats
            col, valid = _values(t, feature, r)
            assert num.common_stats.num_non_missing == valid.sum()
            assert num.common_stats.num_missing == len(r) - valid.sum()
            x = col.cast(pa.float64()).to_numpy(zero_copy_only=False)[valid]
            w = w_all[r][valid]
            nan = np.isnan(x)
            x, w = x[~nan], w[~nan]
            _close(num.mean, x.mean())
            _close(num.std_dev, x.std())
            _close(num.min, x.min())
            _close(num.max, x.max())
            assert num.num_zeros == np.count_nonzero(x == 0)
            standard = next(h for h in num.histograms if h.type == h.STANDARD)
            assert standard.num_nan == nan.sum()
            assert sum(b.sample_count for b in standard.buckets) == len(x)
            wm = np.average(x, weights=w)
            _close(num.weighted_numeric_stats.mean, wm)
            _close(num.weighted_numeric_stats.std_dev,
                   math.sqrt(np.average((x - wm) ** 2, weights=w)), rel=1e-10)
            wc = num.common_stats.weighted_common_stats
            _close(wc.num_non_missing, w_all[r][valid].sum())
            _check_quantiles(num, x, _shift(t, feature), fs.type == fs.INT)


def _check_quantiles(num, x, shift, integer):
    """The median and the quantile histogram's bounds within the sketch's bound of numpy's
    inverted-CDF quantiles."""
    def bound(v):
        return sketch.ALPHA * abs(v - shift) + (0.5 if integer else 0) + 1e-9 * max(1, abs(v))

    v = np.quantile(x, 0.5, method="inverted_cdf")
    assert abs(num.median - v) <= bound(v), (num.median, v)
    quantiles = next(h for h in num.histograms if h.type == h.QUANTILES)
    assert len(quantiles.buckets) == 10
    for k, b in enumerate(quantiles.buckets):
        v = np.quantile(x, k / 10, method="inverted_cdf")
        assert abs(b.low_value - v) <= bound(v), (k, b.low_value, v)
        assert b.sample_count == pytest.approx(len(x) / 10)


def test_big_offset_keeps_its_precision(data, weighted_run):
    """Mean 1e6, spread 1: sums of x and x^2 would lose the std to cancellation."""
    t, _, _ = data
    _, (stats, _) = weighted_run
    num = stats["All Examples"]["big"].num_stats
    x = t.column("big").to_numpy(zero_copy_only=False)
    x = x[np.isfinite(x)]
    assert abs(x.mean()) > 1e5 and x.std() < 2
    _close(num.std_dev, x.std())


@pytest.mark.parametrize("magnitude", [1e300, 1e-300])
@pytest.mark.parametrize("batch_size", [700, 3000])
def test_magnitudes_whose_squares_leave_double_range(tmp_path, magnitude, batch_size):
    """Values of 1e300 (squares overflow) and 1e-300 (squares underflow): mean and std from
    numpy on the values divided by the magnitude; nothing warned."""
    import warnings

    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(0.3, 1.0, n) * magnitude
    path = str(tmp_path / "data.parquet")
    pq.write_table(pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                             "x": x}), path)
    out = str(tmp_path / "out")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        run_evaluation('model_specs { label_key: "label" prediction_key: "prediction" } '
                       'metrics_specs { metrics { class_name: "ExampleCount" } } '
                       'slicing_specs {} data_quality { statistics: true features: "x" }',
                       path, out, batch_size=batch_size, report=False)
    stats, _ = by_slice(f"{out}/statistics.tfrecord")
    num = stats["All Examples"]["x"].num_stats
    scaled = x / magnitude
    for got, want in [(num.mean, scaled.mean() * magnitude),
                      (num.std_dev, scaled.std() * magnitude), (num.min, x.min()),
                      (num.max, x.max())]:
        assert got == pytest.approx(want, rel=1e-12, abs=0), (got, want)


@pytest.mark.parametrize("batch_size", [700, 4000])
def test_slicing_columns_with_nulls_described_as_any_column(tmp_path, batch_size):
    """Columns that slice (their slicing codes reused for their statistics), with nulls: an
    integer and a string, per slice against numpy and collections.Counter; weighted by a
    float32 column (the metrics' weights reused: no row dropped)."""
    rng = np.random.default_rng(5)
    n = 4000
    rank = pa.array(rng.integers(0, 6, n), mask=rng.random(n) < 0.1)
    team = pa.array(rng.choice(["a", "bb", "c"], n), mask=rng.random(n) < 0.1)
    w_all = rng.choice([0.5, 1.0, 3.0], n).astype(np.float32)
    t = pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                  "rank": rank, "team": team, "w": w_all})
    path = str(tmp_path / "data.parquet")
    pq.write_table(t, path)
    out = str(tmp_path / "out")
    run_evaluation('model_specs { label_key: "label" prediction_key: "prediction" '
                   'example_weight_key: "w" } '
                   'metrics_specs { metrics { class_name: "ExampleCount" } } '
                   'slicing_specs {} slicing_specs { feature_keys: ["rank"] } '
                   'slicing_specs { feature_keys: ["team"] } data_quality { statistics: true }',
                   path, out, batch_size=batch_size, report=False)
    stats, _ = by_slice(f"{out}/statistics.tfrecord")
    ranks, teams = rank.to_pylist(), team.to_pylist()
    slices = {"All Examples": np.arange(n)}
    slices.update({f"rank_{k}": np.flatnonzero([r == k for r in ranks]) for k in range(6)})
    slices.update({f"team_{v}": np.flatnonzero([s == v for s in teams]) for v in ("a", "bb", "c")})
    assert set(stats) == set(slices)
    for name, rows in slices.items():
        valued = [i for i in rows if ranks[i] is not None]
        x, w = np.array([ranks[i] for i in valued], np.float64), w_all[valued]
        num = stats[name]["rank"].num_stats
        _close(num.weighted_numeric_stats.mean, np.average(x, weights=w))
        _close(num.common_stats.weighted_common_stats.num_non_missing, w.sum(dtype=np.float64))
        _close(stats[name]["w"].num_stats.mean, w_all[rows].mean(dtype=np.float64))
        assert num.common_stats.num_non_missing == len(x)
        assert num.common_stats.num_missing == len(rows) - len(x)
        for got, want in [(num.mean, x.mean()), (num.std_dev, x.std()), (num.min, x.min()),
                          (num.max, x.max())]:
            _close(got, want)
        assert num.num_zeros == np.count_nonzero(x == 0)
        assert num.median == np.quantile(x, 0.5, method="inverted_cdf")  # (integers: exact)
        values = [teams[i] for i in rows if teams[i] is not None]
        s = stats[name]["team"].string_stats
        assert s.common_stats.num_missing == len(rows) - len(values)
        counts = collections.Counter(values)
        assert s.unique == len(counts)
        assert [(v.value, v.frequency) for v in s.top_values] == \
            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        _close(s.avg_length, np.mean([len(v) for v in values]), rel=1e-7)


def test_strings_match_pandas(data, weighted_run):
    t, _, _ = data
    _, (stats, _) = weighted_run
    w_all = t.column("weight").to_numpy()
    for name, r in _rows(t).items():
        for feature in STRINGS:
            fs = stats[name][feature]
            assert fs.type == fs.STRING
            s = fs.string_stats
            col, valid = _values(t, feature, r)
            values = [v for v in col.to_pylist() if v is not None]
            assert s.common_stats.num_non_missing == len(values)
            assert s.common_stats.num_missing == len(r) - len(values)
            counts = collections.Counter(values)
            assert s.unique == len(counts)
            want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:20]
            assert [(v.value, v.frequency) for v in s.top_values] == want
            assert len(s.rank_histogram.buckets) == min(len(counts), 1000)
            _close(s.avg_length, np.mean([len(v.encode()) for v in values]), rel=1e-7)  # float32
            weights = collections.defaultdict(float)
            for v, wv in zip(col.to_pylist(), w_all[r]):
                if v is not None:
                    weights[v] += wv
            top = s.weighted_string_stats.top_values[0]
            assert top.frequency == pytest.approx(max(weights.values()), rel=1e-12)


def test_bytes_and_lists(data, weighted_run):
    t, _, _ = data
    _, (stats, _) = weighted_run
    for name, r in _rows(t).items():
        raw = stats[name]["raw"]
        assert raw.type == raw.BYTES
        values = t.column("raw").combine_chunks().take(pa.array(r)).to_pylist()
        assert raw.bytes_stats.unique == len(set(values))
        lengths = [len(v) for v in values]
        _close(raw.bytes_stats.avg_num_bytes, np.mean(lengths), rel=1e-7)  # a float32 field
        assert raw.bytes_stats.min_num_bytes == min(lengths)
        assert raw.bytes_stats.max_num_bytes == max(lengths)
        for feature in ("tags", "scores"):
            lists = t.column(feature).combine_chunks().take(pa.array(r)).to_pylist()
            present = [v for v in lists if v is not None]
            fs = stats[name][feature]
            common = (fs.string_stats if feature == "tags" else fs.num_stats).common_stats
            assert common.num_non_missing == len(present)
            assert common.num_missing == len(lists) - len(present)
            sizes = [len(v) for v in present]
            assert (common.min_num_values, common.max_num_values) == (min(sizes), max(sizes))
            assert common.tot_num_values == sum(sizes)
            _close(common.avg_num_values, np.mean(sizes), rel=1e-7)  # a float32 field
        flat = [x for v in t.column("scores").combine_chunks().take(pa.array(r)).to_pylist()
                if v for x in v]
        _close(stats[name]["scores"].num_stats.mean, np.mean(flat))
        tags = collections.Counter(x for v in t.column("tags").combine_chunks().take(
            pa.array(r)).to_pylist() if v for x in v)
        assert stats[name]["tags"].string_stats.unique == len(tags)


def test_unweighted_config_has_no_weighted_stats(data, tmp_path):
    t, path, _ = data
    out = str(tmp_path / "plain")
    run_evaluation(config(extra='features: ["age", "word"]'), path, out, report=False)
    stats, datasets = by_slice(f"{out}/statistics.tfrecord")
    assert set(stats["All Examples"]) == {"age", "word"}
    assert datasets["All Examples"].weighted_num_examples == 0
    age = stats["All Examples"]["age"].num_stats
    assert not age.HasField("weighted_numeric_stats")
    assert not age.common_stats.HasField("weighted_common_stats")


def test_csv_input(data, tmp_path):
    t, _, _ = data
    flat = t.select(["label", "prediction", "weight", "country", "device", "age", "word", "flag"])
    path = str(tmp_path / "data.csv")
    import pyarrow.csv as pcsv

    pcsv.write_csv(flat, path)
    out = str(tmp_path / "csv")
    run_evaluation(config(), path, out, report=False)
    stats, datasets = by_slice(f"{out}/statistics.tfrecord")
    age = stats["All Examples"]["age"].num_stats
    x = flat.column("age").to_numpy()
    _close(age.mean, x.mean())
    assert datasets["All Examples"].num_examples == len(flat)
    word = stats["All Examples"]["word"].string_stats
    # CSV: an empty field is null (the empty strings are missing values there)
    values = [v for v in flat.column("word").to_pylist() if v]
    assert word.common_stats.num_non_missing == len(values)
    assert word.unique == len(set(values))
