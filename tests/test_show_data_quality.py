"""``evalbeam show`` of a run with data quality: every failure listed beside the metrics',
the statistics digest and the drift with its thresholds (text), and every statistic,
anomaly, drift measurement and failure in ``--json``, checked against the protos written."""
import json

import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2

import dq_artifacts
from evalbeam import cli
from evalbeam.io.data_quality import plain


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return dq_artifacts.full_run(str(tmp_path_factory.mktemp("dq")))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return dq_artifacts.evaluated(str(tmp_path_factory.mktemp("plain")), dq_artifacts.rows(500, 1))


def _show(capsys, *args):
    capsys.readouterr()
    code = cli.main(["show", *map(str, args)])
    got = capsys.readouterr()
    assert code == 0, got.err
    return got.out, got.err


def _lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_text_lists_every_failure_beside_the_metrics(run, capsys):
    out, _ = _show(capsys, run["dir"])
    assert "validation: FAILED (6 failure(s): 0 of metrics, 6 of data quality)" in out
    listed = out[out.index("validation: FAILED"):].splitlines()[1:]
    assert len(listed) == 6
    where = {(): "Overall", (("country", "de"),): "country=de", (("country", "fr"),): "country=fr"}
    for line, f in zip(listed, run["failures"]):
        key = tuple((e.column, e.bytes_value.decode() or e.int64_value)
                    for e in f.slice_key.single_slice_keys)
        kind = "ANOMALY" if f.kind == 1 else "DRIFT"
        assert line.startswith(f"  {where[key]}: data quality {kind} {f.measure} on {f.feature}:")
        assert f"value {f.value:.4g}" in line and f"threshold {f.threshold:.4g}" in line
        assert line.endswith(f.message)


def test_text_digest_and_drift_of_the_overall_slice(run, capsys):
    out, _ = _show(capsys, run["dir"])
    overall = run["statistics"].datasets[0]
    assert f"data statistics of Overall ({overall.num_examples} examples; baseline " \
           f"{run['baseline'].datasets[0].num_examples} examples):" in out
    section = out[out.index("data statistics of Overall"):out.index("schema anomalies of")]
    rows = {line.split()[0]: line for line in section.splitlines()[2:]}
    income = next(f for f in overall.features if f.name == "income").num_stats
    assert rows["income"].split()[1:8] == [
        "FLOAT", str(income.common_stats.num_non_missing),
        f"{100 * income.common_stats.num_missing / overall.num_examples:.3g}%",
        f"{income.mean:.4g}", f"{income.std_dev:.4g}", f"{income.min:.4g}", f"{income.max:.4g}"]
    country = next(f for f in overall.features if f.name == "country").string_stats
    top = country.top_values[0]
    assert rows["country"].split()[-3:] == [str(country.unique), top.value,
                                            f"({int(top.frequency)})"]
    assert dq_artifacts.HOSTILE_FEATURE in section  # a name as it is, in text
    drift = out[out.index("drift against the baseline of Overall:"):].splitlines()
    table = {line.split()[0]: line.split()[1:] for line in drift[2:6]}
    by_feature = {d.path.step[0]: d.drift_measurements[0] for d in run["anomalies"].drift_skew_info}
    for feature, m in by_feature.items():
        row = table[feature]
        assert row[0] == anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(m.type)
        assert row[1] == f"{m.value:.4g}"
        assert row[2] == (f"{m.threshold:.4g}" if m.threshold else "none")
    assert table["country"][-1] == "FAILS" and table["prediction"][-1] == "FAILS"
    assert len(table["device"]) == 3 and len(table["age"]) == 3  # not failing
    assert "threshold none: measured and reported, never a failure" in out
    assert "country: ERROR Unexpected string values: Examples contain values missing" in out
    assert "income: WARNING Column dropped:" in out
    assert "data quality of 3 more slice(s)" in out


def test_text_slice_filter(run, capsys):
    out, _ = _show(capsys, run["dir"], "--slice", "country=fr")
    assert "data statistics of country=fr (" in out
    assert "data statistics of Overall" not in out
    assert "schema anomalies of country=fr:\n  age: ERROR Out-of-range values" in out
    drift = out[out.index("drift against the baseline of country=fr:"):].splitlines()
    assert drift[2].split() == ["device", "L_INFTY", "0.04", "0.1"]
    assert drift[3].split() == ["prediction", "JENSEN_SHANNON_DIVERGENCE", "0.09", "0.05", "FAILS"]


def test_json_holds_every_statistic_as_written(run, capsys):
    out, err = _show(capsys, run["dir"], "--json")
    lines = _lines(out)
    metric_lines = [x for x in lines if "data_quality" not in x]
    assert metric_lines and all("metric" in x for x in metric_lines)
    stats = [x for x in lines if x.get("data_quality") == "statistics"]
    assert len(stats) == 2 * 4 * len(dq_artifacts.FEATURES)
    for baseline, written in ((False, run["statistics"]), (True, run["baseline"])):
        for dataset in written.datasets:
            got = [x for x in stats if x["baseline"] is baseline and x["dataset"] == dataset.name]
            assert [x["feature"] for x in got] == [f.name for f in dataset.features]
            for x, f in zip(got, dataset.features):
                assert x["num_examples"] == dataset.num_examples
                assert x["weighted_num_examples"] == dataset.weighted_num_examples
                assert x["proto"] == plain(f)
                back = statistics_pb2.FeatureNameStatistics()
                from google.protobuf import json_format
                json_format.ParseDict(x["proto"], back)
                assert back == f  # nothing left out
                kind = f.WhichOneof("stats")
                common = getattr(f, kind).common_stats
                assert (x["count"], x["missing"]) == (common.num_non_missing, common.num_missing)
                if kind == "num_stats":
                    n = f.num_stats
                    assert (x["mean"], x["std_dev"], x["min"], x["median"], x["max"], x["zeros"]) \
                        == (n.mean, n.std_dev, n.min, n.median, n.max, n.num_zeros)
                    assert x["histogram"] == [[b.low_value, b.high_value, b.sample_count]
                                              for b in n.histograms[0].buckets]
                else:
                    s = f.string_stats
                    assert x["unique"] == s.unique and x["avg_length"] == s.avg_length
                    assert x["top_values"] == [[v.value, v.frequency] for v in s.top_values]
    assert {tuple(map(tuple, x["slice"])) for x in stats} == {
        (), (("country", "de"),), (("country", "fr"),), (("country", "us"),)}
    assert "no statistics computed" not in err


def test_json_anomalies_drift_and_failures_per_slice(run, capsys):
    lines = _lines(_show(capsys, run["dir"], "--json")[0])
    for key, a in run["slice_anomalies"].items():
        where = [list(p) for p in key]
        got = [x for x in lines if x.get("data_quality") == "anomaly" and x["slice"] == where]
        assert [x["feature"] for x in got] == sorted(a.anomaly_info)
        for x in got:
            info = a.anomaly_info[x["feature"]]
            assert x["description"] == info.description
            assert [r["type"] for r in x["reasons"]] == [
                anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason]
        drift = [x for x in lines if x.get("data_quality") == "drift" and x["slice"] == where]
        assert [(x["feature"], x["value"], x["threshold"]) for x in drift] == [
            (d.path.step[0], d.drift_measurements[0].value,
             d.drift_measurements[0].threshold or None) for d in a.drift_skew_info]
        failed = {(f.feature, f.measure) for f in run["failures"] if f.kind == 2 and
                  [[e.column, e.bytes_value.decode()] for e in f.slice_key.single_slice_keys]
                  == where}
        assert {(x["feature"], x["measure"]) for x in drift if x["failed"]} == failed
    failures = [x for x in lines if x.get("data_quality") == "failure"]
    assert len(failures) == 6
    assert sorted((x["feature"], x["measure"], x["value"], x["threshold"], x["message"])
                  for x in failures) == sorted(
        (f.feature, f.measure, f.value, f.threshold, f.message) for f in run["failures"])


def test_json_slice_filter(run, capsys):
    lines = _lines(_show(capsys, run["dir"], "--json", "--slice", "country=de")[0])
    assert {json.dumps(x["slice"]) for x in lines} == {'[["country", "de"]]'}
    kinds = {x.get("data_quality") for x in lines}
    assert kinds == {None, "statistics", "drift", "failure"}


def test_a_run_without_data_quality_says_so(plain_run, capsys):
    out, _ = _show(capsys, plain_run)
    assert "data quality: no statistics computed (run with --statistics)" in out
    out, err = _show(capsys, plain_run, "--json")  # the metrics' lines, as before
    assert all("data_quality" not in x for x in _lines(out)) and err == ""


def test_json_of_anomalies_without_statistics_says_so(run, capsys, tmp_path):
    import shutil

    d = tmp_path / "no_statistics"
    shutil.copytree(run["dir"], d)
    dq_artifacts.remove(str(d), "statistics.tfrecord")
    dq_artifacts.remove(str(d), "baseline_statistics.tfrecord")
    out, err = _show(capsys, d, "--json")
    assert "evalbeam: note: no statistics computed (run with --statistics)" in err
    kinds = {x.get("data_quality") for x in _lines(out)}
    assert kinds == {None, "anomaly", "drift", "failure"}
    out, _ = _show(capsys, d)
    assert "data statistics of Overall: no statistics computed (run with --statistics)" in out
    assert "drift against the baseline of Overall:" in out


def test_text_lists_twenty_and_counts_the_rest(run, capsys, tmp_path):
    import shutil

    d = tmp_path / "many"
    shutil.copytree(run["dir"], d)
    more = [dq_artifacts.failure((("country", "us"),), f"f{i}", "DRIFT", "L_INFTY", 0.5, 0.1,
                                 f"f{i}: L-infinity distance 0.5 above 0.1") for i in range(19)]
    dq_artifacts.write(str(d), failures=more)
    out, _ = _show(capsys, d)
    assert "validation: FAILED (25 failure(s): 0 of metrics, 25 of data quality)" in out
    listed = out[out.index("validation: FAILED"):].splitlines()[1:]
    assert len(listed) == 21
    assert listed[-1].startswith("  ... and 5 more data-quality failure(s): all are in "
                                 f"`evalbeam show {d} --json`")
