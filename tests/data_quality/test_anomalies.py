"""Each schema anomaly TFDV reports, triggered by a crafted slice and absent from a clean one;
the expected types, short descriptions and descriptions are TFDV's (anomalies/*.cc)."""
import numpy as np
import pytest
from google.protobuf import text_format
from stats_builder import FNS, dataset, numeric_feature, string_feature
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from evalbeam.data_quality.anomalies import schema_findings, validate_statistics
from evalbeam.data_quality.stats_view import DatasetView

A = anomalies_pb2.AnomalyInfo

SCHEMA = """
feature { name: "country" type: BYTES domain: "country"
          presence { min_fraction: 1.0 min_count: 1 } shape { dim { size: 1 } } }
feature { name: "device" type: BYTES string_domain { value: ["mobile", "desktop"] }
          presence { min_count: 1 } value_count { min: 1 max: 1 } }
feature { name: "age" type: INT int_domain { min: 18 max: 80 } presence { min_count: 1 } }
feature { name: "score" type: FLOAT float_domain { min: 0 max: 1 } presence { min_count: 1 } }
string_domain { name: "country" value: ["de", "fr", "us"] }
"""


def schema(text=SCHEMA):
    return text_format.Parse(text, schema_pb2.Schema())


def clean_features(n=400):
    rng = np.random.default_rng(0)
    return [string_feature("country", list(rng.choice(["us", "de", "fr"], n))),
            string_feature("device", list(rng.choice(["mobile", "desktop"], n))),
            numeric_feature("age", list(rng.integers(18, 81, n)), [18, 50, 80], type=FNS.INT),
            numeric_feature("score", list(rng.random(n)), [0, 0.5, 1])]


def replace(features, new):
    return [new if f.name == new.name else f for f in features]


def anomalies_of(features, n=400, text=SCHEMA):
    return validate_statistics(dataset("All Examples", n, *features), schema(text))


def reasons(anomalies, feature):
    info = anomalies.anomaly_info[feature]
    return [(A.Type.Name(r.type), r.short_description, r.description) for r in info.reason]


def test_clean_slice_has_no_anomaly():
    out = anomalies_of(clean_features())
    assert not out.anomaly_info and not out.data_missing
    assert out.anomaly_name_format == anomalies_pb2.Anomalies.SERIALIZED_PATH
    assert out.baseline == schema()


def test_value_outside_string_domain_names_values_and_share():
    # 12 of 400 values are "xx" or "yy": TFDV lists them sorted with floor percentages.
    values = ["us"] * 388 + ["xx"] * 10 + ["yy"] * 2
    out = anomalies_of(replace(clean_features(), string_feature("country", values)))
    assert reasons(out, "country") == [(
        "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "Unexpected string values",
        "Examples contain values missing from the schema: xx (~2%), yy (<1%). ")]
    info = out.anomaly_info["country"]
    assert info.severity == A.ERROR and list(info.path.step) == ["country"]
    assert info.short_description == "Unexpected string values"
    [finding] = [f for f in schema_findings(DatasetView(dataset("s", 400, *replace(
        clean_features(), string_feature("country", values)))), schema())]
    assert finding.value == pytest.approx(12 / 400) and finding.threshold == 0
    assert finding.message == ("country: 3% of values (12 of 400) are not in the schema's domain "
                               "'country': 'xx', 'yy' (none allowed)")


def test_feature_level_string_domain_and_min_domain_mass():
    values = ["mobile"] * 390 + ["tablet"] * 10
    features = replace(clean_features(), string_feature("device", values))
    assert reasons(anomalies_of(features), "device")[0][0] == "ENUM_TYPE_UNEXPECTED_STRING_VALUES"
    # min_domain_mass 0.95 allows 5% off the domain: 2.5% passes, 10% does not.
    allowing = SCHEMA.replace('value: ["mobile", "desktop"] }',
                              'value: ["mobile", "desktop"] } '
                              'distribution_constraints { min_domain_mass: 0.95 }')
    assert "device" not in anomalies_of(features, text=allowing).anomaly_info
    more = replace(clean_features(), string_feature("device", ["mobile"] * 360 + ["tv"] * 40))
    out = anomalies_of(more, text=allowing)
    assert reasons(out, "device") == [("ENUM_TYPE_UNEXPECTED_STRING_VALUES",
                                       "Unexpected string values",
                                       "Examples contain values missing from the schema: "
                                       "tv (~10%). ")]


def test_invalid_utf8_values():
    invalid = string_feature("device", ["mobile", "__BYTES_VALUE__"] * 200)
    features = replace(clean_features(), invalid)
    assert reasons(anomalies_of(features), "device") == [(
        "ENUM_TYPE_INVALID_UTF8", "Invalid UTF8 strings",
        "Found strings that were not valid UTF8 strings.")]


def test_domain_naming_no_schema_level_domain():
    text = SCHEMA.replace('string_domain { name: "country" value: ["de", "fr", "us"] }', "")
    assert reasons(anomalies_of(clean_features(), text=text), "country") == [
        ("INVALID_DOMAIN_SPECIFICATION", "missing domain: country", "")]


def test_int_domain_min_and_max():
    features = replace(clean_features(), numeric_feature("age", [12, 30, 95] * 100, [0, 100],
                                                         type=FNS.INT))
    out = anomalies_of(features, n=300)
    assert reasons(out, "age") == [
        ("INT_TYPE_SMALL_INT", "Out-of-range values", "Unexpectedly small value: 12."),
        ("INT_TYPE_BIG_INT", "Out-of-range values", "Unexpectedly large value: 95.")]
    info = out.anomaly_info["age"]  # several reasons: TFDV's joined description
    assert info.short_description == "Multiple errors"
    assert info.description == "Unexpectedly small value: 12. Unexpectedly large value: 95."


def test_int_domain_on_strings_that_are_not_ints():
    text = SCHEMA.replace('type: BYTES string_domain { value: ["mobile", "desktop"] }',
                          "type: BYTES int_domain { min: 0 }")
    out = anomalies_of(clean_features(), text=text)
    assert reasons(out, "device") == [("INT_TYPE_NOT_INT_STRING", "Invalid values",
                                       'String values that were not ints were found, such as '
                                       '"desktop".')]


def test_float_domain_in_single_precision():
    # TFDV compares float32 values: a max stored from the float 0.1 is not above max 0.1.
    edge = float(np.nextafter(np.float64(np.float32(0.1)), 1.0))  # above it in double
    text = SCHEMA.replace("float_domain { min: 0 max: 1 }", "float_domain { min: 0 max: 0.1 }")
    features = replace(clean_features(), numeric_feature("score", [0.0, edge] * 200))
    assert "score" not in anomalies_of(features, text=text).anomaly_info
    features = replace(clean_features(), numeric_feature("score", [-0.5, 1.5] * 200))
    assert reasons(anomalies_of(features), "score") == [
        ("FLOAT_TYPE_SMALL_FLOAT", "Out-of-range values",
         "Unexpectedly low values: -0.5<0(upto six significant digits)"),
        ("FLOAT_TYPE_BIG_FLOAT", "Out-of-range values",
         "Unexpectedly high value: 1.5>1(upto six significant digits)")]


def test_float_domain_disallowing_nan():
    text = SCHEMA.replace("float_domain { min: 0 max: 1 }",
                          "float_domain { min: 0 max: 1 disallow_nan: true }")
    features = replace(clean_features(), numeric_feature("score", [0.5, np.nan] * 200, [0, 1]))
    assert reasons(anomalies_of(features, text=text), "score") == [
        ("FLOAT_TYPE_HAS_NAN", "Invalid values", "Float feature has NaN values.")]
    assert "score" not in anomalies_of(features).anomaly_info


def test_wrong_type():
    features = replace(clean_features(), string_feature("age", ["18", "x"] * 200))
    out = anomalies_of(features)
    assert reasons(out, "age")[0] == ("UNEXPECTED_DATA_TYPE", "Unexpected data type",
                                      "Expected data of type: INT but got STRING")
    # TFDV goes on to the domain: "x" is no int.
    assert reasons(out, "age")[1][0] == "INT_TYPE_NOT_INT_STRING"
    [f] = [f for f in schema_findings(DatasetView(dataset("s", 400, *features)), schema())
           if f.type == A.UNEXPECTED_DATA_TYPE]
    assert f.message == "age: the data holds STRING values; the schema says INT"


def test_required_feature_present_too_rarely():
    rows = ["us"] * 360 + [None] * 40
    out = anomalies_of(replace(clean_features(), string_feature("country", rows)))
    assert reasons(out, "country") == [
        ("INVALID_FEATURE_SHAPE", "Feature shape dropped",
         "The feature has a shape, but it's not always present (if the feature is nested, then "
         "it should always be present at each nested level) or its value lengths vary."),
        ("FEATURE_TYPE_LOW_FRACTION_PRESENT", "Column dropped",
         "The feature was present in fewer examples than expected: minimum fraction = 1.000000, "
         "actual = 0.900000")]
    [f] = [f for f in schema_findings(DatasetView(dataset("s", 400, *replace(
        clean_features(), string_feature("country", rows)))), schema())
        if f.type == A.FEATURE_TYPE_LOW_FRACTION_PRESENT]
    assert (f.value, f.threshold) == (0.9, 1.0)
    assert f.message == ("country: present in 90% of examples (360 of 400); the schema requires "
                         "at least 100%")


def test_required_feature_missing_from_almost_no_example():
    # 1 missing in 10^15: the fraction rounds to 1.0, TFDV's "expected everywhere" case.
    n = 10 ** 15
    f = string_feature("country", ["us"])
    f.string_stats.common_stats.num_non_missing = n
    f.string_stats.common_stats.num_missing = 1
    out = anomalies_of(replace(clean_features(), f), n=n)
    assert ("FEATURE_TYPE_LOW_FRACTION_PRESENT", "Column dropped",
            "The feature was expected everywhere, but was missing in 1 examples.") in reasons(
                out, "country")


def test_min_count():
    text = SCHEMA.replace("presence { min_count: 1 } value_count", "presence { min_count: 500 } "
                                                                   "value_count")
    assert reasons(anomalies_of(clean_features(), text=text), "device") == [
        ("FEATURE_TYPE_LOW_NUMBER_PRESENT", "Column dropped",
         "The feature was present in fewer examples than expected: minimum count = 500, "
         "actual = 400")]


def test_required_feature_present_in_no_example_or_absent():
    none = replace(clean_features(), numeric_feature("age", [None] * 400, type=FNS.INT))
    assert reasons(anomalies_of(none), "age") == [
        ("FEATURE_TYPE_NOT_PRESENT", "Column dropped",
         "The feature was not present in any examples.")]
    absent = [f for f in clean_features() if f.name != "age"]
    assert reasons(anomalies_of(absent), "age") == [
        ("SCHEMA_MISSING_COLUMN", "Column dropped", "Column is completely missing")]
    [f] = schema_findings(DatasetView(dataset("s", 400, *absent)), schema())
    assert f.message == "age: not in the data; the schema requires it (in at least 1 example)"
    assert (f.value, f.threshold) == (0.0, 1.0)
    # not required: no anomaly either way
    optional = SCHEMA.replace("int_domain { min: 18 max: 80 } presence { min_count: 1 }",
                              "int_domain { min: 18 max: 80 }")
    assert "age" not in anomalies_of(absent, text=optional).anomaly_info
    assert "age" not in anomalies_of(none, text=optional).anomaly_info


def test_value_count_out_of_range():
    rows = [["mobile"]] * 390 + [[]] * 5 + [["mobile", "desktop"]] * 5
    out = anomalies_of(replace(clean_features(), string_feature("device", rows)))
    assert reasons(out, "device") == [
        ("FEATURE_TYPE_LOW_NUMBER_VALUES", "Missing values",
         "Some examples have fewer values than expected."),
        ("FEATURE_TYPE_HIGH_NUMBER_VALUES", "Superfluous values",
         "Some examples have more values than expected.")]


def test_value_count_against_nested_values():
    f = string_feature("device", ["mobile"] * 400)
    for _ in range(2):
        f.string_stats.common_stats.presence_and_valency_stats.add(
            num_non_missing=400, min_num_values=1, max_num_values=1)
    assert reasons(anomalies_of(replace(clean_features(), f)), "device")[0][0] == \
        "VALUE_NESTEDNESS_MISMATCH"


def test_shape_with_a_different_length():
    rows = [["us", "de"]] * 400
    out = anomalies_of(replace(clean_features(), string_feature("country", rows)))
    assert reasons(out, "country") == [(
        "INVALID_FEATURE_SHAPE", "Feature shape dropped",
        "The feature has fixed value length 2 but it's not compatible with the specified "
        "shape.")]


def test_new_column():
    out = anomalies_of(clean_features() + [string_feature("extra", ["a"] * 400)])
    assert reasons(out, "extra") == [("SCHEMA_NEW_COLUMN", "New column",
                                      "New column (column in data but not in schema)")]
    assert list(out.anomaly_info) == ["extra"]


def test_deprecated_feature_is_not_checked():
    text = SCHEMA.replace('name: "age" type: INT', 'name: "age" type: INT deprecated: true')
    features = replace(clean_features(), numeric_feature("age", [1] * 400, type=FNS.INT))
    assert "age" not in anomalies_of(features, text=text).anomaly_info


def test_bool_domain_on_integers():
    text = SCHEMA + 'feature { name: "label" type: INT bool_domain {} }'
    ok = clean_features() + [numeric_feature("label", [0, 1] * 200, type=FNS.INT)]
    assert "label" not in anomalies_of(ok, text=text).anomaly_info
    bad = clean_features() + [numeric_feature("label", [0, 2] * 200, type=FNS.INT)]
    assert reasons(anomalies_of(bad, text=text), "label") == [(
        "BOOL_TYPE_BIG_INT", "Non-boolean values",
        "Integers (such as 2) not 0 or 1: converting to an integer.")]


def test_domain_that_does_not_fit_the_type():
    text = SCHEMA.replace("type: FLOAT float_domain", "type: FLOAT int_domain")
    assert reasons(anomalies_of(clean_features(), text=text), "score") == [(
        "DOMAIN_INVALID_FOR_TYPE", "The domain does not match the type",
        'The domain "int_domain" does not match the type: FLOAT')]


def test_weighted_statistics_are_read_by_weight():
    # 10 of 400 examples miss the feature, but they weigh 0: by weight it is everywhere.
    weights = [1.0] * 390 + [0.0] * 10
    features = [string_feature("country", ["us"] * 390 + [None] * 10, weights=weights),
                string_feature("device", ["mobile"] * 400, weights=weights)]
    text = ('feature { name: "country" type: BYTES presence { min_fraction: 0.99 } }'
            'feature { name: "device" type: BYTES }')
    weighted = dataset("s", 400, *features, weighted_num_examples=390.0)
    assert not validate_statistics(weighted, schema(text)).anomaly_info
    unweighted = dataset("s", 400, *features)
    assert reasons(validate_statistics(unweighted, schema(text)), "country")[0][0] == \
        "FEATURE_TYPE_LOW_FRACTION_PRESENT"


def test_empty_slice_is_data_missing():
    out = validate_statistics(dataset("s", 0), schema())
    assert out.data_missing and not out.anomaly_info


def test_tfdv_example_enum_without_tot_num_values():
    # schema_anomalies_test.cc: no tot_num_values, so the total is num_non_missing *
    # avg_num_values = 4; "D" is 2 of them. The deprecated feature is not required.
    text = """
      feature { name: "annotated_enum" value_count { min: 1 max: 1 } type: BYTES
                domain: "MyAloneEnum" presence { min_count: 1 } }
      feature { name: "ignore_this" lifecycle_stage: DEPRECATED value_count { min: 1 }
                type: BYTES presence { min_count: 1 } }
      string_domain { name: "MyAloneEnum" value: ["A", "B", "C", "D"] }"""
    stats = text_format.Parse("""
      num_examples: 7
      features { name: 'annotated_enum' type: STRING string_stats {
        common_stats { num_missing: 3 num_non_missing: 4 min_num_values: 1 max_num_values: 1
                       avg_num_values: 1 }
        unique: 3 rank_histogram { buckets { label: "D" sample_count: 2 } } } }""",
                              dataset("", 0))
    out = validate_statistics(stats, schema(text.replace('"D"]', '"E"]')))
    expected = text_format.Parse("""
      path { step: "annotated_enum" }
      description: "Examples contain values missing from the schema: D (~50%). "
      severity: ERROR
      short_description: "Unexpected string values"
      reason { type: ENUM_TYPE_UNEXPECTED_STRING_VALUES
               short_description: "Unexpected string values"
               description: "Examples contain values missing from the schema: D (~50%). " }""",
                                 A())
    assert dict(out.anomaly_info) == {"annotated_enum": expected}
    assert not validate_statistics(stats, schema(text)).anomaly_info


def test_struct_children_by_path():
    text = """feature { name: "p" type: STRUCT struct_domain {
                feature { name: "c" type: INT int_domain { max: 5 } }
                feature { name: "d" type: INT presence { min_count: 1 } } } }"""
    child = numeric_feature("", [1, 9], type=FNS.INT)
    child.path.step.extend(["p", "c"])
    parent = FNS(type=FNS.STRUCT)
    parent.path.step.append("p")
    parent.struct_stats.common_stats.num_non_missing = 2
    out = validate_statistics(dataset("s", 2, parent, child), schema(text))
    assert reasons(out, "p.c") == [("INT_TYPE_BIG_INT", "Out-of-range values",
                                    "Unexpectedly large value: 9.")]
    assert list(out.anomaly_info["p.c"].path.step) == ["p", "c"]
    assert reasons(out, "p.d")[0][0] == "SCHEMA_MISSING_COLUMN"
    assert set(out.anomaly_info) == {"p.c", "p.d"}


def test_value_counts_per_nesting_level():
    text = 'feature { name: "n" type: INT value_counts { value_count { min: 1 } ' \
           'value_count { max: 2 } } }'
    f = numeric_feature("n", [[1]] * 4, type=FNS.INT)
    f.num_stats.common_stats.presence_and_valency_stats.add(num_non_missing=4, min_num_values=1,
                                                            max_num_values=1)
    f.num_stats.common_stats.presence_and_valency_stats.add(num_non_missing=4, min_num_values=0,
                                                            max_num_values=3)
    out = validate_statistics(dataset("s", 4, f), schema(text))
    assert reasons(out, "n") == [("FEATURE_TYPE_HIGH_NUMBER_VALUES", "Superfluous values",
                                  "Some examples have more values than expected at nestedness "
                                  "level 1.")]
