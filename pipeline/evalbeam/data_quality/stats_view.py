"""Read-only views of one slice's TFDV statistics, as TFDV's checks read them.

The accessors follow TensorFlow Data Validation's ``FeatureStatsView`` and ``DatasetStatsView``
(``tensorflow_data_validation/anomalies/statistics_view.cc``): a dataset is read *by weight*
when it has ``weighted_num_examples`` and every feature has weighted common statistics; then
presence counts, value totals, rank histograms and histograms are the weighted ones.
"""
from __future__ import annotations

import re

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

ALL_EXAMPLES = "All Examples"  # TFDV's name of the overall slice
INVALID_UTF8 = "__BYTES_VALUE__"  # TFDV's label for a value that is not UTF-8

_FNS = statistics_pb2.FeatureNameStatistics
_INT64 = re.compile(r"\s*[+-]?\d+\s*")
_SCHEMA_TYPE = {_FNS.INT: schema_pb2.INT, _FNS.FLOAT: schema_pb2.FLOAT,
                _FNS.STRING: schema_pb2.BYTES, _FNS.BYTES: schema_pb2.BYTES,
                _FNS.STRUCT: schema_pb2.STRUCT}


def parse_int64(text: str) -> int | None:
    """The int64 ``text`` spells (as absl::SimpleAtoi: sign, digits, spaces around), or None."""
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -2 ** 63 <= value < 2 ** 63 else None


def feature_path(feature: statistics_pb2.FeatureNameStatistics) -> str:
    """The feature's path, its steps joined with ``.`` (TFDV's serialized path)."""
    if feature.WhichOneof("field_id") == "path":
        return ".".join(feature.path.step)
    return feature.name


class FeatureView:
    """One feature of a :class:`DatasetView`."""

    def __init__(self, data: statistics_pb2.FeatureNameStatistics, dataset: "DatasetView"):
        self.data = data
        self.dataset = dataset
        self.path = feature_path(data)

    @property
    def by_weight(self) -> bool:
        return self.dataset.by_weight

    @property
    def type(self) -> int:
        """The statistics' type (``FeatureNameStatistics.Type``: INT, FLOAT, STRING ...)."""
        return self.data.type

    @property
    def type_name(self) -> str:
        return _FNS.Type.Name(self.data.type)

    @property
    def schema_type(self) -> int:
        """The schema ``FeatureType`` the data has (STRING and BYTES are BYTES)."""
        return _SCHEMA_TYPE.get(self.data.type, schema_pb2.TYPE_UNKNOWN)

    @property
    def common(self) -> statistics_pb2.CommonStatistics:
        kind = self.data.WhichOneof("stats")
        return getattr(self.data, kind).common_stats

    @property
    def num_present(self) -> float:
        common = self.common
        return (common.weighted_common_stats.num_non_missing if self.by_weight
                else common.num_non_missing)

    @property
    def num_missing(self) -> float:
        common = self.common
        return (common.weighted_common_stats.num_missing if self.by_weight
                else common.num_missing)

    @property
    def num_examples(self) -> float:
        return self.dataset.num_examples

    def fraction_present(self) -> float | None:
        """Present / examples; exactly 1 when nothing is missing; None without examples."""
        if self.num_examples <= 0:
            return None
        if self.num_missing == 0:
            return 1.0
        return self.num_present / self.num_examples

    def min_max_num_values(self) -> list:
        """(min, max) number of values per nesting level."""
        common = self.common
        levels = [(max(int(p.min_num_values), 0), int(p.max_num_values))
                  for p in common.presence_and_valency_stats]
        return levels or [(max(int(common.min_num_values), 0), int(common.max_num_values))]

    def num_missing_nested(self) -> list:
        levels = [p.num_missing for p in self.common.presence_and_valency_stats]
        return levels or [self.num_missing]

    def total_value_count(self) -> float:
        """The number of values over all examples (weighted when read by weight)."""
        common = self.common
        if self.by_weight:
            return common.weighted_common_stats.tot_num_values
        if common.tot_num_values == 0:
            return common.num_non_missing * common.avg_num_values
        return common.tot_num_values

    def value_counts(self) -> dict:
        """{value: count} from the (weighted) rank histogram of string statistics."""
        if not self.data.HasField("string_stats"):
            return {}
        stats = self.data.string_stats
        histogram = (stats.weighted_string_stats.rank_histogram if self.by_weight
                     else stats.rank_histogram)
        counts = {}
        for bucket in histogram.buckets:
            counts.setdefault(bucket.label, bucket.sample_count)  # first one wins, as TFDV's
        return counts

    def values(self) -> list:
        """The rank histogram's values, sorted (TFDV iterates them in this order)."""
        return sorted(self.value_counts())

    def has_invalid_utf8(self) -> bool:
        return INVALID_UTF8 in self.value_counts()

    def num_unique(self) -> int | None:
        return self.data.string_stats.unique if self.data.HasField("string_stats") else None

    def standard_histogram(self) -> statistics_pb2.Histogram | None:
        """The (weighted) STANDARD histogram of numeric statistics, if any."""
        if not self.data.HasField("num_stats"):
            return None
        stats = self.data.num_stats
        histograms = (stats.weighted_numeric_stats.histograms if self.by_weight
                      else stats.histograms)
        for histogram in histograms:
            if histogram.type == statistics_pb2.Histogram.STANDARD:
                return histogram
        return None


def _has_stats(feature) -> bool:
    return feature.WhichOneof("stats") is not None or len(feature.custom_stats) > 0


class DatasetView:
    """One slice's ``DatasetFeatureStatistics``; ``by_weight`` None: TFDV's rule."""

    def __init__(self, data: statistics_pb2.DatasetFeatureStatistics, by_weight=None):
        self.data = data
        # Features without statistics are ignored, as TFDV does.
        self._features = [f for f in data.features if _has_stats(f)]
        self.by_weight = weighted_statistics_exist(data) if by_weight is None else by_weight
        self._by_path = {}
        for f in self._features:
            self._by_path.setdefault(feature_path(f), FeatureView(f, self))

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def num_examples(self) -> float:
        return self.data.weighted_num_examples if self.by_weight else self.data.num_examples

    def features(self) -> list:
        """Features with common statistics, in the statistics' order."""
        return [v for v in self._by_path.values() if v.data.WhichOneof("stats")]

    def get(self, path: str) -> FeatureView | None:
        view = self._by_path.get(path)
        return view if view is not None and view.data.WhichOneof("stats") else None


def weighted_statistics_exist(data: statistics_pb2.DatasetFeatureStatistics) -> bool:
    """TFDV's rule: weighted examples, and weighted common statistics on every feature."""
    if data.weighted_num_examples == 0:
        return False
    for f in data.features:
        kind = f.WhichOneof("stats")
        if kind is None:
            continue
        if not getattr(f, kind).common_stats.HasField("weighted_common_stats"):
            return False
    return True
