"""The pipeline runs on PortableRunner against Beam's local job service (Flink/Dataflow's path)."""
import pytest

from conftest import BASE, make_table
from evalbeam import run_evaluation
from helpers_io import write


def test_evaluation_on_portable_runner(job_service, tmp_path):
    config = BASE + ('metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }\n'
                     'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    data = write(make_table(400, seed=9), str(tmp_path / "d.parquet"))
    local = run_evaluation(config, data, str(tmp_path / "local"))
    portable = run_evaluation(config, data, str(tmp_path / "portable"), pipeline_options=[
        "--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK"])
    assert portable.metrics.keys() == local.metrics.keys() and len(local.metrics) == 5
    for key, values in local.metrics.items():
        for metric, value in values.items():
            assert portable.metrics[key][metric] == pytest.approx(value, rel=1e-12)


def test_in_memory_table_on_portable_runner(job_service, tmp_path):
    """A remote runner gets an in-memory table's rows inside the pipeline (its workers cannot
    see a local temporary file): the same numbers as the local runner."""
    config = BASE + ('metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }\n'
                     'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    table = make_table(600, seed=10)
    local = run_evaluation(config, table, str(tmp_path / "local"), batch_size=250)
    portable = run_evaluation(config, table, str(tmp_path / "portable"), batch_size=250,
                              pipeline_options=["--runner=PortableRunner",
                                                f"--job_endpoint={job_service}",
                                                "--environment_type=LOOPBACK"])
    assert portable.summary["rows_read"] == 600
    assert portable.metrics.keys() == local.metrics.keys() and len(local.metrics) == 5
    for key, values in local.metrics.items():
        for metric, value in values.items():
            assert portable.metrics[key][metric] == pytest.approx(value, rel=1e-12)
