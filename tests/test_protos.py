"""The committed *_pb2.py modules are exactly what protoc generates from protos/."""
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_generated_modules_match_proto_sources(tmp_path):
    protoc = pytest.importorskip("grpc_tools.protoc")
    sources = sorted((ROOT / "protos").rglob("*.proto"))
    assert sources
    import grpc_tools

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{ROOT / 'protos'}", f"-I{well_known}", f"--python_out={tmp_path}"] + \
        [str(s) for s in sources]
    assert protoc.main(args) == 0
    for source in sources:
        rel = source.relative_to(ROOT / "protos").with_suffix("")
        name = rel.parent / (rel.name + "_pb2.py")
        generated = (tmp_path / name).read_text()
        committed = (ROOT / "pipeline" / name).read_text()
        assert generated == committed, f"{name} is stale: regenerate it (see README)"


def test_tfma_wire_names_and_numbers():
    from evalbeam.proto import metrics_for_slice_pb2 as m, validation_result_pb2 as v

    fields = m.MetricsForSlice.DESCRIPTOR.fields_by_name
    assert fields["slice_key"].number == 1 and fields["metric_keys_and_values"].number == 51
    key = m.MetricKey.DESCRIPTOR.fields_by_name
    assert (key["name"].number, key["model_name"].number, key["example_weighted"].number) == (1, 4, 7)
    assert v.ValidationResult.DESCRIPTOR.fields_by_name["validation_ok"].number == 1


def test_our_plot_data_fields_are_numbered_from_1000():
    from evalbeam.proto import metrics_for_slice_pb2 as m

    tfma = {"calibration_histogram_buckets": 1, "confusion_matrix_at_thresholds": 2,
            "debug_message": 3, "multi_class_confusion_matrix_at_thresholds": 4,
            "multi_label_confusion_matrix_at_thresholds": 5}
    for field in m.PlotData.DESCRIPTOR.fields:
        if field.name in tfma:
            assert field.number == tfma[field.name], field.name
        else:
            assert field.number >= 1000, field.name
