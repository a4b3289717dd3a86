"""Data-quality artifacts written by hand into a finished result directory, as a run with
statistics writes them (tensorflow-metadata protos, evalbeam's TFRecord writer, the files'
names of :mod:`evalbeam.io.files`), for the tests of the views: EvalResult, ``show``, the
report. The statistics are computed here with numpy from the rows given, per slice."""
import json
import os

import numpy as np
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2

from evalbeam.io import files
from evalbeam.io.convert import slice_key_proto
from evalbeam.io.data_quality import dataset_name
from evalbeam.io.tfrecord import write_records
from evalbeam.proto import data_quality_pb2, validation_result_pb2

ST = statistics_pb2
TOP = 20  # top values kept per string feature, as TFDV's default


def _histogram(values, buckets=10):
    h = ST.Histogram(type=ST.Histogram.STANDARD)
    if len(values):
        lo, hi = float(values.min()), float(values.max())
        edges = np.linspace(lo, hi, buckets + 1) if hi > lo else np.array([lo, hi])
        counts, _ = np.histogram(values, bins=edges)
        for a, b, c in zip(edges[:-1], edges[1:], counts):
            h.buckets.add(low_value=a, high_value=b, sample_count=float(c))
    return h


def _quantiles(values, buckets=4):
    h = ST.Histogram(type=ST.Histogram.QUANTILES)
    if len(values):
        q = np.quantile(values, np.linspace(0, 1, buckets + 1))
        for a, b in zip(q[:-1], q[1:]):
            h.buckets.add(low_value=a, high_value=b, sample_count=len(values) / buckets)
    return h


def feature_statistics(name, column, n_examples, weights=None):
    """A FeatureNameStatistics of one column (None / NaN: missing) by numpy."""
    f = ST.FeatureNameStatistics(name=name)
    present = np.array([v is not None and not (isinstance(v, float) and np.isnan(v))
                        for v in column], dtype=bool)
    values = [v for v, p in zip(column, present) if p]
    if values and isinstance(values[0], str):
        f.type = ST.FeatureNameStatistics.STRING
        s = f.string_stats
        common = s.common_stats
        uniq, counts = np.unique(np.array(values, dtype=object).astype(str), return_counts=True)
        s.unique = len(uniq)
        order = sorted(range(len(uniq)), key=lambda i: (-counts[i], uniq[i]))
        for i in order[:TOP]:
            s.top_values.add(value=str(uniq[i]), frequency=float(counts[i]))
        rank = s.rank_histogram
        for r, i in enumerate(order[:TOP]):
            rank.buckets.add(low_rank=r, high_rank=r, label=str(uniq[i]),
                             sample_count=float(counts[i]))
        s.avg_length = float(np.mean([len(v) for v in values]))
    else:
        x = np.asarray(values, dtype=float)
        integer = values and all(float(v).is_integer() for v in values) and \
            not isinstance(values[0], float)
        f.type = ST.FeatureNameStatistics.INT if integer else ST.FeatureNameStatistics.FLOAT
        s = f.num_stats
        common = s.common_stats
        if len(x):
            s.mean, s.std_dev = float(x.mean()), float(x.std())
            s.min, s.max, s.median = float(x.min()), float(x.max()), float(np.median(x))
            s.num_zeros = int((x == 0).sum())
            s.histograms.append(_histogram(x))
            s.histograms.append(_quantiles(x))
    common.num_non_missing = int(present.sum())
    common.num_missing = int(n_examples - present.sum())
    common.min_num_values = common.max_num_values = 1 if present.any() else 0
    common.avg_num_values = 1.0 if present.any() else 0.0
    common.tot_num_values = int(present.sum())
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        common.weighted_common_stats.num_non_missing = float(w[present].sum())
        common.weighted_common_stats.num_missing = float(w[~present].sum())
    return f


def dataset_statistics(name, frame, features, weight=None):
    d = ST.DatasetFeatureStatistics(name=name, num_examples=len(frame))
    if weight is not None:
        d.weighted_num_examples = float(frame[weight].sum())
    for feature in features:
        d.features.append(feature_statistics(
            feature, list(frame[feature].astype(object).where(frame[feature].notna(), None)),
            len(frame), None if weight is None else frame[weight].to_numpy()))
    return d


def statistics_list(frame, features, slice_columns, weight=None, only=None):
    """A DatasetFeatureStatisticsList of ``frame``: the overall slice, then a dataset per
    value of each column of ``slice_columns`` (``only``: just these slice keys)."""
    out = ST.DatasetFeatureStatisticsList()
    keys = [()] + [((c, v),) for c in slice_columns
                   for v in sorted(frame[c].dropna().unique().tolist())]
    for key in keys:
        if only is not None and key not in only:
            continue
        rows = frame
        for c, v in key:
            rows = rows[rows[c] == v]
        out.datasets.append(dataset_statistics(dataset_name(key), rows, features, weight))
    return out


def l_infinity(a, b):
    """L-infinity distance between the normalised value counts of two string columns."""
    values = sorted(set(a) | set(b))
    pa_ = np.array([list(a).count(v) for v in values], float)
    pb = np.array([list(b).count(v) for v in values], float)
    return float(np.abs(pa_ / pa_.sum() - pb / pb.sum()).max())


def drift(feature, measure, value, threshold=0.0):
    info = anomalies_pb2.DriftSkewInfo()
    info.path.step.append(feature)
    info.drift_measurements.add(
        type=anomalies_pb2.DriftSkewInfo.Measurement.Type.Value(measure), value=value,
        threshold=threshold)
    return info


def anomaly(anomalies, feature, kind, short, description, severity="ERROR"):
    info = anomalies.anomaly_info[feature]
    info.path.step.append(feature)
    info.severity = anomalies_pb2.AnomalyInfo.Severity.Value(severity)
    info.short_description, info.description = short, description
    info.reason.add(type=anomalies_pb2.AnomalyInfo.Type.Value(kind), short_description=short,
                    description=description)


def failure(slice_key, feature, kind, measure, value, threshold, message):
    f = validation_result_pb2.DataQualityFailure(
        feature=feature, kind=validation_result_pb2.DataQualityFailure.Kind.Value(kind),
        measure=measure, value=value, threshold=threshold, message=message)
    f.slice_key.CopyFrom(slice_key_proto(slice_key))
    return f


def write(out_dir, statistics=None, baseline=None, anomalies=None, slice_anomalies=None,
          failures=()):
    """Write the given artifacts into the result directory ``out_dir`` (and list them in its
    summary.json); failures go into validations.tfrecord and make validation fail."""
    written = []
    if statistics is not None:
        with open(os.path.join(out_dir, files.STATISTICS_FILE), "wb") as f:
            write_records(f, [statistics.SerializeToString()])
        written.append(files.STATISTICS_FILE)
    if baseline is not None:
        with open(os.path.join(out_dir, files.BASELINE_STATISTICS_FILE), "wb") as f:
            write_records(f, [baseline.SerializeToString()])
        written.append(files.BASELINE_STATISTICS_FILE)
    if anomalies is not None:
        with open(os.path.join(out_dir, files.ANOMALIES_FILE), "w") as f:
            f.write(text_format.MessageToString(anomalies))
        written.append(files.ANOMALIES_FILE)
    if slice_anomalies is not None:
        records = []
        for key, a in slice_anomalies.items():
            entry = data_quality_pb2.SliceAnomalies(slice_name=dataset_name(key),
                                                    anomalies=a.SerializeToString())
            entry.slice_key.CopyFrom(slice_key_proto(key))
            records.append(entry.SerializeToString())
        with open(os.path.join(out_dir, files.SLICE_ANOMALIES_FILE), "wb") as f:
            write_records(f, records)
        written.append(files.SLICE_ANOMALIES_FILE)
    path = os.path.join(out_dir, files.VALIDATIONS_FILE)
    with open(path, "rb") as f:
        from evalbeam.io.tfrecord import read_records

        validation = validation_result_pb2.ValidationResult.FromString(next(read_records(f, path)))
    if failures:
        validation.data_quality_failures.extend(failures)
        validation.validation_ok = False
        validation.missing_thresholds = False
        with open(path, "wb") as f:
            write_records(f, [validation.SerializeToString()])
    summary_path = os.path.join(out_dir, files.SUMMARY_FILE)
    with open(summary_path) as f:
        summary = json.load(f)
    summary["files"] = sorted(set(summary["files"]) | set(written))
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=2)


# --- one run with every artifact, for the views' tests ---------------------------------------

HOSTILE_FEATURE = '<img src=x onerror="window.__pwned=1">'
HOSTILE_VALUE = "</script><script>window.__pwned=2</script>"
CONFIG = """
model_specs { label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "AUC" }
  metrics { class_name: "ConfusionMatrixPlot" }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
"""
FEATURES = ["prediction", "age", "country", "device", "income", HOSTILE_FEATURE]


def rows(n, seed, shift=0.0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    income = rng.lognormal(10 + shift, 1, n)
    income[rng.random(n) < 0.15] = np.nan
    p = np.array([0.5, 0.3, 0.2]) if not shift else np.array([0.2, 0.3, 0.5])
    return pd.DataFrame({
        "label": label,
        "prediction": np.clip(0.3 * label + 0.7 * rng.random(n) + shift / 10, 0, 1),
        "weight": rng.choice([1.0, 2.0], n),
        "country": rng.choice(["us", "de", "fr"], n, p=p),
        "device": rng.choice(["mobile", "desktop", HOSTILE_VALUE], n),
        "age": rng.integers(18, 70, n),
        "income": income,
        HOSTILE_FEATURE: rng.choice(["a", "b"], n)})


def evaluated(folder, frame, config=CONFIG):
    """``evalbeam evaluate`` of ``frame`` into ``folder``/result (no data quality): the result
    directory."""
    import contextlib
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from evalbeam import cli

    os.makedirs(folder, exist_ok=True)
    data, cfg, out = (os.path.join(folder, n) for n in ("data.parquet", "cfg.textproto",
                                                         "result"))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), data)
    with open(cfg, "w") as f:
        f.write(config)
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["evaluate", "--config", cfg, "--data", data, "--output", out])
    assert code in (0, 1), f"evalbeam evaluate exited {code}"
    return out


def full_run(folder, n=3000):
    """A run with statistics, baseline statistics, anomalies per slice, drift and failures,
    all written by hand: {"dir", "statistics", "baseline", "anomalies", "slice_anomalies",
    "failures", "frame", "base"}."""
    frame, base = rows(n, 11), rows(n, 12, shift=0.5)
    out = evaluated(folder, frame)
    statistics = statistics_list(frame, FEATURES, ["country"], weight="weight")
    baseline = statistics_list(base, FEATURES, ["country"], weight="weight")
    l_country = l_infinity(frame.country, base.country)
    l_device = l_infinity(frame.device, base.device)
    overall = anomalies_pb2.Anomalies()
    anomaly(overall, "country", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "Unexpected string values",
            "Examples contain values missing from the schema: br (~2%).")
    anomaly(overall, "income", "FEATURE_TYPE_LOW_FRACTION_PRESENT", "Column dropped",
            "The feature was present in fewer examples than expected: minimum fraction 0.9, "
            "got 0.85.", severity="WARNING")
    overall.drift_skew_info.extend([
        drift("country", "L_INFTY", l_country, 0.1),
        drift("device", "L_INFTY", l_device, 0.1),
        drift("prediction", "JENSEN_SHANNON_DIVERGENCE", 0.0731, 0.05),
        drift("age", "JENSEN_SHANNON_DIVERGENCE", 0.0123)])  # no threshold: reported only
    per_slice = {(): overall}
    for country in ("de", "fr", "us"):
        a = anomalies_pb2.Anomalies()
        a.drift_skew_info.extend([
            drift("device", "L_INFTY", {"de": 0.21, "fr": 0.04, "us": 0.06}[country], 0.1),
            drift("prediction", "JENSEN_SHANNON_DIVERGENCE",
                  {"de": 0.02, "fr": 0.09, "us": 0.03}[country], 0.05)])
        if country == "fr":
            anomaly(a, "age", "INT_TYPE_BIG_INT", "Out-of-range values",
                    "Unexpectedly large value: 69.")
        per_slice[(("country", country),)] = a
    failures = [
        failure((), "country", "ANOMALY", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", 0.02, 0.0,
                "country: Unexpected string values: br (~2%)"),
        failure((), "country", "DRIFT", "L_INFTY", l_country, 0.1,
                f"country: L-infinity distance {l_country:.4g} above 0.1"),
        failure((), "prediction", "DRIFT", "JENSEN_SHANNON_DIVERGENCE", 0.0731, 0.05,
                "prediction: Jensen-Shannon divergence 0.0731 above 0.05"),
        failure((("country", "de"),), "device", "DRIFT", "L_INFTY", 0.21, 0.1,
                "device: L-infinity distance 0.21 above 0.1"),
        failure((("country", "fr"),), "prediction", "DRIFT", "JENSEN_SHANNON_DIVERGENCE", 0.09,
                0.05, "prediction: Jensen-Shannon divergence 0.09 above 0.05"),
        failure((("country", "fr"),), "age", "ANOMALY", "INT_TYPE_BIG_INT", 69.0, 0.0,
                "age: Out-of-range values: 69"),
    ]
    write(out, statistics, baseline, overall, per_slice, failures)
    return {"dir": out, "statistics": statistics, "baseline": baseline, "anomalies": overall,
            "slice_anomalies": per_slice, "failures": failures, "frame": frame, "base": base}


def remove(out_dir, name):
    """Take the artifact ``name`` out of the result directory (and its summary.json)."""
    os.remove(os.path.join(out_dir, name))
    summary_path = os.path.join(out_dir, files.SUMMARY_FILE)
    with open(summary_path) as f:
        summary = json.load(f)
    summary["files"].remove(name)
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=2)
