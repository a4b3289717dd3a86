"""A distinct count beyond the values a slice keeps exactly is an estimate, and every view
says so: the statistics proto (a custom statistic, its text how), ``show``'s table and JSON,
``statistics_frame()`` and the report's data; an exact one is not marked."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evalbeam import cli, load_result, run_evaluation
from evalbeam.data_quality.value_counts import DEFAULT_CAP
from evalbeam.io.data_quality import UNIQUE_ESTIMATED
from evalbeam.report.quality_data import run_quality


def test_an_estimated_distinct_count_is_marked_in_every_view(tmp_path, capsys):
    rng = np.random.default_rng(4)
    n = 30_000
    user = rng.integers(0, 3 * DEFAULT_CAP, n)  # about 19,000 distinct overall
    group = rng.integers(0, 4, n)  # slices of 7,500 rows: fewer than the cap each
    path = str(tmp_path / "data.parquet")
    pq.write_table(pa.table({"label": rng.integers(0, 2, n), "prediction": rng.random(n),
                             "group": group, "user": [f"u{u}" for u in user]}), path)
    out = str(tmp_path / "out")
    result = run_evaluation('model_specs { label_key: "label" prediction_key: "prediction" } '
                            'metrics_specs { metrics { class_name: "ExampleCount" } } '
                            'slicing_specs {} slicing_specs { feature_keys: ["group"] } '
                            'data_quality { statistics: true features: ["user", "prediction"] }',
                            path, out, report=False)
    by_name = {d.name: d for d in result.statistics.datasets}
    users = {name: next(f for f in d.features if f.path.step[0] == "user")
             for name, d in by_name.items()}
    truth = {"All Examples": len(np.unique(user))}
    truth.update({f"group_{g}": len(np.unique(user[group == g])) for g in range(4)})
    for name, feature in users.items():
        marks = [c for c in feature.custom_stats if c.name == UNIQUE_ESTIMATED]
        if name == "All Examples":
            assert truth[name] > DEFAULT_CAP and len(marks) == 1
            assert "K-minimum-values" in marks[0].str and str(DEFAULT_CAP) in marks[0].str
            assert abs(feature.string_stats.unique - truth[name]) < 0.05 * truth[name]
        else:
            assert truth[name] < DEFAULT_CAP and not marks
            assert feature.string_stats.unique == truth[name]  # exact

    capsys.readouterr()
    assert cli.main(["show", out]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.strip().startswith("user"))
    assert f"~{users['All Examples'].string_stats.unique}" in row.split()
    assert "~: estimated" in text
    assert cli.main(["show", out, "--slice", "group=1"]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.strip().startswith("user"))
    assert str(truth["group_1"]) in row.split() and "~" not in row

    assert cli.main(["show", out, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    marked = {line["dataset"]: line["unique_estimated"] for line in lines
              if line.get("data_quality") == "statistics" and line["feature"] == "user"}
    assert marked == {name: name == "All Examples" for name in truth}

    frame = load_result(out).statistics_frame()
    users_frame = frame[frame.feature == "user"].set_index("dataset")["unique_estimated"]
    assert users_frame.to_dict() == {name: name == "All Examples" for name in truth}
    assert frame[frame.feature == "prediction"]["unique_estimated"].isna().all()

    page = {entry["dataset"]: entry for entry in run_quality(load_result(out))["slices"]}
    assert {name: next(f for f in entry["statistics"]["features"]
                       if f["feature"] == "user")["unique_estimated"]
            for name, entry in page.items()} == {name: name == "All Examples" for name in truth}
