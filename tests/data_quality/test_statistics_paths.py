"""Statistics on the pipeline's other paths: the Evaluate PTransform over a PCollection of
record batches (every column of each batch), query metrics (documents grouped by query),
slices below min_slice_size (left out and counted, as metrics are), an input of no rows."""
import json

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import evalbeam
from evalbeam import run_evaluation
from stats_cases import by_slice

BASE = 'model_specs { label_key: "label" prediction_key: "prediction" }\n'


def _table(n=600, seed=5):
    rng = np.random.default_rng(seed)
    return pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                     "country": rng.choice(["us", "fr", "jp"], n, p=[0.6, 0.35, 0.05]),
                     "qid": rng.integers(0, 50, n), "score": rng.normal(5, 2, n)})


def test_evaluate_over_a_pcollection_describes_every_column(tmp_path):
    t = _table()
    config = BASE + """metrics_specs { metrics { class_name: "ExampleCount" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
data_quality { statistics: true }"""
    out = str(tmp_path / "out")
    with beam.Pipeline() as p:
        _ = (p | beam.Create(t.to_batches(max_chunksize=100), reshuffle=False)
             | evalbeam.Evaluate(config, out, report=False))
    stats, datasets = by_slice(f"{out}/statistics.tfrecord")
    assert set(stats["All Examples"]) == set(t.column_names)
    score = stats["All Examples"]["score"].num_stats
    x = t.column("score").to_numpy()
    assert score.mean == pytest.approx(x.mean(), rel=1e-12)
    assert score.std_dev == pytest.approx(x.std(), rel=1e-12)
    fr = t.filter(pa.compute.equal(t.column("country"), "fr"))
    assert datasets["country_fr"].num_examples == fr.num_rows


def test_query_metrics_and_min_slice_size(tmp_path):
    t = _table()
    path = str(tmp_path / "d.parquet")
    pq.write_table(t, path)
    config = BASE + """metrics_specs { query_key: "qid"
  metrics { class_name: "NDCG" config: '"gain_key": "score", "top_k_list": [3]' } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
options { min_slice_size { value: 50 } }
data_quality { statistics: true features: ["score", "country"] }"""
    out = tmp_path / "out"
    run_evaluation(config, path, str(out), report=False, batch_size=128)
    stats, datasets = by_slice(out / "statistics.tfrecord")
    counts = dict(zip(*np.unique(t.column("country").to_numpy(zero_copy_only=False),
                                 return_counts=True)))
    kept = {f"country_{c}" for c, n in counts.items() if n >= 50}
    assert set(datasets) == {"All Examples"} | kept and len(kept) < len(counts)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["statistics"]["statistics.tfrecord"] == {
        "slices": 1 + len(kept), "omitted_below_min_slice_size": len(counts) - len(kept),
        "rows": t.num_rows}
    assert stats["All Examples"]["score"].num_stats.mean == pytest.approx(
        t.column("score").to_numpy().mean(), rel=1e-12)


def test_no_rows(tmp_path):
    t = _table().slice(0, 0)
    path = str(tmp_path / "empty.parquet")
    pq.write_table(t, path)
    config = BASE + """metrics_specs { metrics { class_name: "ExampleCount" } }
data_quality { statistics: true }"""
    out = tmp_path / "out"
    run_evaluation(config, path, str(out), report=False)
    stats, datasets = by_slice(out / "statistics.tfrecord")
    assert list(datasets) == ["All Examples"] and datasets["All Examples"].num_examples == 0


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_misspelt_feature_names_every_column_of_the_file(tmp_path, suffix):
    """The error lists the file's columns, not only those the run would have read."""
    from evalbeam.errors import InputError

    t = pa.table({"label": [0, 1] * 10, "prediction": [0.2, 0.8] * 10,
                  "country": ["us", "fr"] * 10, "unread": [1.5] * 20})
    path = str(tmp_path / f"data.{suffix}")
    if suffix == "csv":
        t.to_pandas().to_csv(path, index=False)
    else:
        pq.write_table(t, path)
    with pytest.raises(InputError) as error:
        run_evaluation('model_specs { label_key: "label" prediction_key: "prediction" } '
                       'metrics_specs { metrics { class_name: "ExampleCount" } } '
                       'slicing_specs {} data_quality { features: ["contry"] }',
                       path, str(tmp_path / "out"), report=False)
    assert str(error.value).endswith(f"{path}: no column 'contry' (data_quality.features); columns "
                                "present: label, prediction, country, unread")


def test_columns_of_types_without_statistics_are_left_out_and_said(tmp_path, capsys):
    """Every column read by default: a timestamp is not described, and evaluate, show, the
    report's data, summary.json and infer-schema say so; a column of nulls only and one of NaNs only have
    no mean, std, min or max (not 0)."""
    from evalbeam import cli, load_result
    from evalbeam.report.quality_data import run_quality

    n = 3000
    t = pa.table({"label": [0, 1] * (n // 2), "prediction": np.linspace(0, 1, n),
                  "when": pa.array(np.arange(n).astype("datetime64[ms]")),
                  "nothing": pa.nulls(n, pa.float64()), "nans": np.full(n, np.nan)})
    path = str(tmp_path / "data.parquet")
    pq.write_table(t, path)
    config = str(tmp_path / "config.textproto")
    with open(config, "w") as f:
        f.write('model_specs { label_key: "label" prediction_key: "prediction" } '
                'metrics_specs { metrics { class_name: "ExampleCount" } } slicing_specs {}')
    out = str(tmp_path / "out")
    capsys.readouterr()
    assert cli.main(["evaluate", "--config", config, "--data", path, "--output", out,
                     "--statistics", "--no_report"]) == 0
    said = "not described (statistics have none for their types): when (timestamp[ms])"
    assert f"statistics: {said}" in capsys.readouterr().out
    result = load_result(out)
    assert result.summary["statistics"]["statistics.tfrecord"]["columns_not_described"] == \
        {"when": "timestamp[ms]"}
    assert [f.path.step[0] for f in result.statistics.datasets[0].features] == \
        ["label", "prediction", "nothing", "nans"]
    assert cli.main(["show", out]) == 0
    text = capsys.readouterr().out
    assert said in text
    assert run_quality(result)["not_described"] == said
    assert cli.main(["show", out, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    digest = {line["feature"]: line for line in lines if line.get("data_quality") == "statistics"}
    for name in ("nothing", "nans"):
        assert [digest[name][k] for k in ("mean", "std_dev", "min", "max")] == [None] * 4, name
    assert digest["nans"]["count"] == n and digest["nothing"]["count"] == 0
    assert digest["prediction"]["max"] == 1.0
    schema = str(tmp_path / "schema.pbtxt")
    assert cli.main(["infer-schema", "--data", path, "-o", schema]) == 0
    assert said in capsys.readouterr().out
    assert "when" not in open(schema).read() and "prediction" in open(schema).read()
