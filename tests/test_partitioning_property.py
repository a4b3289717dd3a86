"""The same answer whatever the partitioning, for partitionings hypothesis draws: the rows
shuffled or not, cut into one to four Parquet files (empty ones too), each written in row
groups of its own size (20 rows up), read in batches of any size (20 rows up), give the artifacts of the run on one
file of one row group read in one batch (partitioning_cases: metrics, plots, validations,
intervals by the jackknife and the Poisson bootstrap, row accounting; floats within 1e-12
relative).

Row order is drawn too: nothing in these configs depends on it. Each example's resample draws
come from its identity (its labels, predictions and weights; a query's from its query value),
never from its position, and sums are added in any order; ranking ties are broken by relevance,
not arrival. Rows alike in all of those would be told apart by their order within a batch
(README, "Is the difference real?"), so the data has none (checked below).

``HYPOTHESIS_PROFILE=thorough`` draws 100 partitionings per case instead of CI's few.
"""
import os
import tempfile

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evalbeam import run_evaluation
from partitioning_cases import (CONFIGS, METHODS, N, artifacts, assert_same,
                                config_with_intervals, one_file_artifacts, table)

_common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=6, **_common)
settings.register_profile("thorough", max_examples=100, **_common)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

DATA = table()


def test_no_two_rows_alike_in_what_their_draws_come_from():
    """The binary and query configs draw from labels and predictions (and more), the
    multi-class one from class scores (and more): no two rows share those."""
    assert DATA.group_by(["label", "prediction"]).aggregate([]).num_rows == N
    scores = DATA.column("scores").combine_chunks().values.to_numpy().reshape(N, -1)
    assert len(np.unique(scores, axis=0)) == N


@st.composite
def partitionings(draw):
    """``(order, cuts, row group sizes, batch size)``: the row order (None: as generated), the
    rows each file starts at, each file's row group size, the batch size."""
    order = draw(st.none() | st.integers(0, 2 ** 32 - 1))
    cuts = sorted(draw(st.lists(st.integers(0, N), max_size=3)))  # repeats: an empty file
    groups = draw(st.lists(st.integers(20, N), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    batch_size = draw(st.integers(20, 2 * N))
    return order, cuts, groups, batch_size


def _write(folder, order, cuts, groups) -> None:
    rows = DATA if order is None else DATA.take(np.random.default_rng(order).permutation(N))
    starts = [0, *cuts]
    for i, (start, stop, group) in enumerate(zip(starts, [*cuts, N], groups)):
        pq.write_table(rows.slice(start, stop - start), os.path.join(folder, f"part-{i}.parquet"),
                       row_group_size=group)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("config", sorted(CONFIGS))
@settings(settings.get_profile(PROFILE))
@given(partitioning=partitionings())
def test_any_partitioning_gives_the_one_file_artifacts(config, method, partitioning):
    want = one_file_artifacts(config, method)
    order, cuts, groups, batch_size = partitioning
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "data")
        os.mkdir(data)
        _write(data, order, cuts, groups)
        out = os.path.join(folder, "out")
        run_evaluation(config_with_intervals(config, method), data, out, batch_size=batch_size,
                       report=False)
        assert_same(artifacts(out), want)
