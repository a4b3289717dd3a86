"""infer_schema on crafted statistics gives the schema TFDV's rules give (worked out by hand
from tensorflow_data_validation/anomalies/schema.cc CreateColumn and feature_util.cc
InitPresenceAndShape); write_schema / load_schema."""
import pytest
from google.protobuf import text_format
from stats_builder import FNS, dataset, numeric_feature, statistics, string_feature
from tensorflow_metadata.proto.v0 import schema_pb2

from evalbeam.data_quality.infer_schema import infer_schema, write_schema
from evalbeam.data_quality.schema_file import load_schema
from evalbeam.errors import InputError, OutputError

N = 10


def crafted():
    features = [
        numeric_feature("age", list(range(18, 28)), type=FNS.INT),  # ints 18..27, one each
        numeric_feature("label", [0, 1] * 5, type=FNS.INT),  # 0/1: a bool
        string_feature("country", ["us", "de", "fr", "us", "us"] * 2),
        string_feature("city", [f"c{i}" for i in range(N)], unique=150),  # 150 > 100 values
        string_feature("token", [f"t{i % 4}" for i in range(N)], unique=500, top=4),
        string_feature("flag", ["true", "false"] * 5),
        string_feature("zip", ["123", "456"] * 5),
        string_feature("tags", [["a"], [], ["a", "b", "b"], None] * 2 + [["b"], ["a"]]),
        numeric_feature("pair", [[0.5, 1.5]] * 9 + [None]),
        numeric_feature("var", [[1.0], [1.0, 2.0], [1.0, 2.0, 3.0]] * 3 + [[4.0]]),
        numeric_feature("never", [None] * N),
        string_feature("blob", ["\x00\x01"] * N, type=FNS.BYTES),
        string_feature("odd", ["__BYTES_VALUE__", "x"] * 5),
    ]
    return statistics(dataset("All Examples", N, *features),
                      dataset("country_us", 5, string_feature("extra", ["x"] * 5)))


# By hand: min_count 1 when present in an example; min_fraction 1 when none misses it; a shape
# of n when none misses it and every example has n > 0 values; otherwise value_count (min = max
# = n for a fixed n, min 1 when it varies, nothing when an example has no value); domains:
# 0/1 int -> bool_domain {}; true/false strings -> bool_domain with them; int strings ->
# int_domain {}; <= 100 values all listed -> a string domain; BYTES or invalid UTF-8 -> none.
EXPECTED = """
feature { name: "age" type: INT presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "label" type: INT bool_domain {} presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "country" type: BYTES domain: "country"
          presence { min_fraction: 1 min_count: 1 } shape { dim { size: 1 } } }
feature { name: "city" type: BYTES presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "token" type: BYTES presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "flag" type: BYTES bool_domain { true_value: "true" false_value: "false" }
          presence { min_fraction: 1 min_count: 1 } shape { dim { size: 1 } } }
feature { name: "zip" type: BYTES int_domain {} presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "tags" type: BYTES domain: "tags" presence { min_count: 1 } }
feature { name: "pair" type: FLOAT presence { min_count: 1 } value_count { min: 2 max: 2 } }
feature { name: "var" type: FLOAT presence { min_fraction: 1 min_count: 1 }
          value_count { min: 1 } }
feature { name: "never" type: FLOAT presence { min_count: 0 } }
feature { name: "blob" type: BYTES presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
feature { name: "odd" type: BYTES presence { min_fraction: 1 min_count: 1 }
          shape { dim { size: 1 } } }
string_domain { name: "country" value: ["de", "fr", "us"] }
string_domain { name: "tags" value: ["a", "b"] }
"""


def test_infer_schema_follows_tfdv_rules():
    assert infer_schema(crafted()) == text_format.Parse(EXPECTED, schema_pb2.Schema())


def test_without_shapes_single_values_get_a_value_count():
    schema = infer_schema(crafted(), infer_feature_shape=False)
    age = next(f for f in schema.feature if f.name == "age")
    assert not age.HasField("shape")
    assert age.value_count == schema_pb2.ValueCount(min=1, max=1)


def test_max_string_domain_size():
    schema = infer_schema(crafted(), max_string_domain_size=2)
    assert [d.name for d in schema.string_domain] == ["tags"]  # country has 3 values


def test_which_dataset():
    only = statistics(dataset("whatever", 3, string_feature("a", ["x"] * 3)))
    assert [f.name for f in infer_schema(only).feature] == ["a"]
    two = statistics(dataset("a_1", 3), dataset("a_2", 3))
    with pytest.raises(ValueError, match="one named 'All Examples'; got 'a_1', 'a_2'"):
        infer_schema(two)


def test_write_schema_refuses_to_overwrite(tmp_path):
    path = tmp_path / "schema.pbtxt"
    path.write_text("mine\n")
    schema = infer_schema(crafted())
    with pytest.raises(OutputError, match=f"schema {path}: the file exists; not replacing it"):
        write_schema(schema, str(path))
    assert path.read_text() == "mine\n"
    write_schema(schema, str(path), overwrite=True)
    assert load_schema(str(path)) == schema
    fresh = tmp_path / "new.pbtxt"
    write_schema(schema, str(fresh))
    assert load_schema(str(fresh)) == schema


def test_load_schema_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.pbtxt"
    bad.write_text('feature { name: "a" type: NUMBER }\n')
    with pytest.raises(InputError) as e:
        load_schema(str(bad))
    message = e.value.message
    assert message.startswith(f"schema {bad}: ") and "NUMBER" in message and "\n" not in message
    with pytest.raises(InputError, match="no such file"):
        load_schema(str(tmp_path / "missing.pbtxt"))


def test_schema_files_on_a_beam_filesystem():
    import memory_filesystem  # registers memstore://

    memory_filesystem.OBJECTS.clear()
    path = "memstore://bucket/schema.pbtxt"
    schema = infer_schema(crafted())
    write_schema(schema, path)
    assert load_schema(path) == schema
    with pytest.raises(OutputError, match="the file exists"):
        write_schema(schema, path)
    write_schema(schema_pb2.Schema(), path, overwrite=True)
    assert load_schema(path) == schema_pb2.Schema()
    with pytest.raises(InputError, match="schema memstore://bucket/none.pbtxt: no such file"):
        load_schema("memstore://bucket/none.pbtxt")
    memory_filesystem.OBJECTS.clear()


def test_struct_children_are_left_out():
    parent = FNS(name="p", type=FNS.STRUCT)
    parent.struct_stats.common_stats.num_non_missing = 3
    child = string_feature("p.c", ["x"] * 3)
    schema = infer_schema(statistics(dataset("All Examples", 3, parent, child)))
    assert [(f.name, f.type) for f in schema.feature] == [("p", schema_pb2.STRUCT)]
