"""EvalResult's data-quality views: the protos as written, slice keys as the metrics spell
them, the failures, and statistics_frame's numbers against pandas on the same rows."""
import numpy as np
import pytest

import dq_artifacts
from evalbeam.io.result import load_result


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return dq_artifacts.full_run(str(tmp_path_factory.mktemp("dq")))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return dq_artifacts.evaluated(str(tmp_path_factory.mktemp("plain")), dq_artifacts.rows(500, 1))


def test_the_protos_as_written(run):
    r = load_result(run["dir"])
    assert r.has_data_quality()
    assert r.statistics == run["statistics"]
    assert r.baseline_statistics == run["baseline"]
    assert r.anomalies == run["anomalies"]
    assert r.slice_anomalies == run["slice_anomalies"]
    assert set(r.slice_anomalies) == {(), (("country", "de"),), (("country", "fr"),),
                                      (("country", "us"),)}
    assert set(r.slice_anomalies) <= set(r.metrics)  # the keys the metrics use


def test_failures_in_the_results_slice_keys(run):
    r = load_result(run["dir"])
    got = r.data_quality_failures
    assert len(got) == len(run["failures"]) == 6
    for f, proto in zip(got, run["failures"]):
        assert (f.feature, f.measure, f.value, f.threshold, f.message) == (
            proto.feature, proto.measure, proto.value, proto.threshold, proto.message)
    assert [f.kind for f in got] == ["ANOMALY", "DRIFT", "DRIFT", "DRIFT", "DRIFT", "ANOMALY"]
    assert [f.slice_key for f in got] == [(), (), (), (("country", "de"),),
                                          (("country", "fr"),), (("country", "fr"),)]
    assert got[3].as_json()["slice"] == [["country", "de"]]
    assert not r.validation.validation_ok


def test_slice_statistics_by_slice_key(run):
    r = load_result(run["dir"])
    by_key = r.slice_statistics()
    assert list(by_key) == [(), (("country", "de"),), (("country", "fr"),), (("country", "us"),)]
    assert by_key[()].name == "All Examples"
    assert by_key[(("country", "fr"),)].name == "country_fr"
    assert r.slice_statistics(baseline=True)[(("country", "us"),)].num_examples == \
        int((run["base"].country == "us").sum())


def test_statistics_frame_against_pandas(run):
    r = load_result(run["dir"])
    frame = r.statistics_frame()
    rows, base = run["frame"], run["base"]
    assert len(frame) == 4 * len(dq_artifacts.FEATURES)
    assert list(frame.slice.unique()) == ["Overall", "country=de", "country=fr", "country=us"]
    for slice_name, part in (("Overall", rows), ("country=de", rows[rows.country == "de"]),
                             ("country=fr", rows[rows.country == "fr"])):
        got = frame[frame.slice == slice_name].set_index("feature")
        income = part.income
        assert got.loc["income", "count"] == income.notna().sum()
        assert got.loc["income", "missing"] == income.isna().sum()
        assert got.loc["income", "missing_fraction"] == pytest.approx(income.isna().mean(),
                                                                      rel=1e-12)
        assert got.loc["income", "mean"] == pytest.approx(income.mean(), rel=1e-12)
        assert got.loc["income", "std_dev"] == pytest.approx(income.std(ddof=0), rel=1e-12)
        assert got.loc["income", "min"] == income.min()
        assert got.loc["income", "max"] == income.max()
        assert got.loc["age", "type"] == "INT" and got.loc["age", "median"] == part.age.median()
        assert got.loc["country", "unique"] == part.country.nunique()
        # avg_length is a float (32 bits) in the proto
        assert got.loc["device", "avg_length"] == np.float32(part.device.str.len().mean())
        assert np.isnan(got.loc["device", "mean"]) and np.isnan(got.loc["age", "unique"])
        assert got.loc["prediction", "zeros"] == (part.prediction == 0).sum()
        assert (got.num_examples == len(part)).all()
    b = r.statistics_frame(baseline=True).set_index(["slice", "feature"])
    assert b.loc[("Overall", "income"), "mean"] == pytest.approx(base.income.mean(), rel=1e-12)


def test_a_run_without_data_quality_says_none_and_reads_nothing(plain_run, monkeypatch):
    r = load_result(plain_run)
    assert not r.has_data_quality()
    assert r._data_quality == {}  # nothing read by loading
    assert r.statistics is None and r.baseline_statistics is None and r.anomalies is None
    assert r.slice_anomalies == {} and r.data_quality_failures == []
    assert r.slice_statistics() == {}
    frame = r.statistics_frame()
    assert frame.empty and {"slice", "feature", "count", "mean", "unique"} <= set(frame.columns)


def test_a_damaged_statistics_file_is_one_line(run, tmp_path):
    import shutil

    from evalbeam.errors import InputError

    d = tmp_path / "copy"
    shutil.copytree(run["dir"], d)
    (d / "statistics.tfrecord").write_bytes(b"not a tfrecord at all")
    with pytest.raises(InputError, match="statistics.tfrecord"):
        load_result(str(d)).statistics
