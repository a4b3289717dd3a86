"""The report's data-quality data against the protos written (exact), its limits (what is cut
is counted), and a run without data quality unchanged."""
import json
import re
import shutil

import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2

import dq_artifacts
from evalbeam.io.result import load_result
from evalbeam.report import build_report
from evalbeam.report.data import page_data
from evalbeam.report.quality_data import STATISTICS_BYTES, run_quality


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return dq_artifacts.full_run(str(tmp_path_factory.mktemp("dq")))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return dq_artifacts.evaluated(str(tmp_path_factory.mktemp("plain")), dq_artifacts.rows(500, 1))


def _embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="evalbeam-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _check_dataset(got, dataset):
    assert got["num_examples"] == dataset.num_examples
    assert got["weighted_num_examples"] == dataset.weighted_num_examples
    assert [f["feature"] for f in got["features"]] == [f.name for f in dataset.features]
    for row, f in zip(got["features"], dataset.features):
        kind = f.WhichOneof("stats")
        stats = getattr(f, kind)
        common = stats.common_stats
        assert row["type"] == statistics_pb2.FeatureNameStatistics.Type.Name(f.type)
        assert (row["count"], row["missing"]) == (common.num_non_missing, common.num_missing)
        assert row["missing_fraction"] == common.num_missing / dataset.num_examples
        assert (row["min_num_values"], row["max_num_values"], row["avg_num_values"],
                row["tot_num_values"]) == (common.min_num_values, common.max_num_values,
                                           common.avg_num_values, common.tot_num_values)
        weighted = row["other"][kind]["common_stats"]["weighted_common_stats"]
        assert weighted["num_non_missing"] == common.weighted_common_stats.num_non_missing
        assert weighted["num_missing"] == common.weighted_common_stats.num_missing
        if kind == "num_stats":
            assert (row["mean"], row["std_dev"], row["min"], row["median"], row["max"],
                    row["zeros"]) == (stats.mean, stats.std_dev, stats.min, stats.median,
                                      stats.max, stats.num_zeros)
            standard, quantiles = stats.histograms
            assert row["histogram"] == [[b.low_value, b.high_value, b.sample_count]
                                        for b in standard.buckets]
            assert row["quantiles"] == [[b.low_value, b.high_value, b.sample_count]
                                        for b in quantiles.buckets]
            assert "unique" not in row and "top_values" not in row
        else:
            assert (row["unique"], row["avg_length"]) == (stats.unique, stats.avg_length)
            assert row["top_values"] == [[v.value, v.frequency] for v in stats.top_values]
            rank = row["other"][kind]["rank_histogram"]["buckets"]
            assert [(b["label"], b["sample_count"]) for b in rank] == [
                (b.label, b.sample_count) for b in stats.rank_histogram.buckets]
            assert "mean" not in row and "histogram" not in row


def test_statistics_per_slice_as_written(run):
    q = run_quality(load_result(run["dir"]))
    assert (q["statistics"], q["baseline"], q["anomalies"]) == (True, True, True)
    # in the results' order (Overall, then by weighted count, as the metric table)
    assert [s["name"] for s in q["slices"]] == ["Overall", "country=us", "country=de",
                                                "country=fr"]
    by_name = {s["name"]: s for s in q["slices"]}
    for current, baseline in zip(run["statistics"].datasets, run["baseline"].datasets):
        name = "Overall" if current.name == "All Examples" else \
            "country=" + current.name.split("_", 1)[1]
        assert by_name[name]["dataset"] == current.name
        _check_dataset(by_name[name]["statistics"], current)
        _check_dataset(by_name[name]["baseline"], baseline)
    assert q["slices_total"] == 4 and q["statistics_cut"] == 0


def test_anomalies_drift_and_failures_as_written(run):
    q = run_quality(load_result(run["dir"]))
    by_name = {s["name"]: s for s in q["slices"]}
    names = {(): "Overall", (("country", "de"),): "country=de", (("country", "fr"),): "country=fr",
             (("country", "us"),): "country=us"}
    for key, a in run["slice_anomalies"].items():
        s = by_name[names[key]]
        assert [x["feature"] for x in s["anomalies"]] == sorted(a.anomaly_info)
        for x in s["anomalies"]:
            info = a.anomaly_info[x["feature"]]
            assert (x["severity"], x["short_description"], x["description"]) == (
                anomalies_pb2.AnomalyInfo.Severity.Name(info.severity), info.short_description,
                info.description)
        assert [(m["feature"], m["measure"], m["value"], m["threshold"]) for m in s["drift"]] == [
            (d.path.step[0], anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(
                d.drift_measurements[0].type), d.drift_measurements[0].value,
             d.drift_measurements[0].threshold or None) for d in a.drift_skew_info]
    failed = {(s["name"], m["feature"]) for s in q["slices"] for m in s["drift"] if m["failed"]}
    assert failed == {("Overall", "country"), ("Overall", "prediction"), ("country=de", "device"),
                      ("country=fr", "prediction")}
    assert q["failures_total"] == 6
    assert [(f["slice"], f["feature"], f["kind"], f["measure"], f["value"], f["threshold"],
             f["message"]) for f in q["failures"]] == [
        (names[tuple((e.column, e.bytes_value.decode()) for e in f.slice_key.single_slice_keys)],
         f.feature, "ANOMALY" if f.kind == 1 else "DRIFT", f.measure, f.value, f.threshold,
         f.message) for f in run["failures"]]
    assert sum(len(s["failures"]) for s in q["slices"]) == 6


def test_the_page_embeds_it(run):
    page = build_report(load_result(run["dir"]))
    r = _embedded(page)["runs"][0]
    assert r["data_quality"] == json.loads(json.dumps(run_quality(load_result(run["dir"]))))
    assert dq_artifacts.HOSTILE_VALUE not in page  # escaped inside the JSON element
    assert "EB_QUALITY" in page


def test_limits_cut_and_count(run, tmp_path):
    """100 slices' statistics of 401 features, one a 1,000-value string feature: the page
    keeps the statistics of the slices that fit 800 kB, 300 features and 50 values of each list,
    and counts what it left out."""
    d = tmp_path / "big"
    shutil.copytree(run["dir"], d)
    big = statistics_pb2.DatasetFeatureStatisticsList()
    for i in range(100):
        ds = big.datasets.add(name="All Examples" if i == 0 else f"user_{i}", num_examples=1000 + i)
        f = ds.features.add(name="user_id", type=statistics_pb2.FeatureNameStatistics.STRING)
        s = f.string_stats
        s.common_stats.num_non_missing = 1000 + i
        s.unique = 200_000
        for v in range(1000):
            s.top_values.add(value=f"u{v:06d}", frequency=1000 - v)
            s.rank_histogram.buckets.add(low_rank=v, high_rank=v, label=f"u{v:06d}",
                                         sample_count=1000 - v)
        for n in range(400):
            ds.features.add(name=f"x{n}", type=statistics_pb2.FeatureNameStatistics.INT) \
                .num_stats.mean = n
    dq_artifacts.remove(str(d), "statistics.tfrecord")
    dq_artifacts.remove(str(d), "baseline_statistics.tfrecord")
    dq_artifacts.write(str(d), statistics=big)
    q = run_quality(load_result(str(d)))
    with_stats = [s for s in q["slices"] if s["statistics"]]
    # each slice's statistics take 70-80 kB here: the 800 kB bound keeps about 10 slices
    kept = len(with_stats)
    assert len(json.dumps([s["statistics"] for s in with_stats], separators=(",", ":"))) \
        <= STATISTICS_BYTES
    assert 5 <= kept < 40 and q["statistics_cut"] == 100 - kept
    assert with_stats[0]["name"] == "Overall"
    # then the largest (the slices with failures come before, but this file has none of them)
    assert {s["dataset"] for s in with_stats[1:]} == {f"user_{i}" for i in range(101 - kept, 100)}
    user = with_stats[0]["statistics"]["features"][0]
    assert len(user["top_values"]) == 50 and user["top_values_cut"] == 950
    rank = user["other"]["string_stats"]["rank_histogram"]
    assert len(rank["buckets"]) == 50 and rank["buckets_cut"] == 950
    assert len(with_stats[0]["statistics"]["features"]) == 300
    assert with_stats[0]["statistics"]["features_cut"] == 101
    size = len(build_report(load_result(str(d))).encode())
    assert size < 3_000_000, size


def test_a_run_without_data_quality_has_none(plain_run):
    r = page_data([load_result(plain_run)])["runs"][0]
    assert r["data_quality"] is None
