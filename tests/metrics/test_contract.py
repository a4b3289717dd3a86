"""The accumulator contract, run on every family: sharded and merged equals one pass (any
split, any merge order), merging an empty accumulator is a no-op, merge leaves its inputs
untouched, and accumulators survive a pickle round trip."""
import copy
import pickle

import numpy as np
import pytest

from conftest import evaluate_in_process, plan, split_batches
from evalbeam.combine import FusedCombineFn, batch_partials, slice_results

CONFIG = """
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" }
  metrics { class_name: "Precision" config: '"thresholds": [0.3, 0.5, 0.7]' }
  metrics { class_name: "BinaryCrossentropy" } metrics { class_name: "SquaredPearsonCorrelation" }
  metrics { class_name: "AUC" } metrics { class_name: "CalibrationPlot" }
  metrics { class_name: "ConfusionMatrixPlot" } metrics { class_name: "ThresholdAtRecall" config: '"recall": 0.6' }
  metrics { class_name: "GainCurve" } metrics { class_name: "LiftCurve" }
  metrics { class_name: "ScoreDistributionPlot" } metrics { class_name: "PredictedVsTrue" }
  metrics { class_name: "ResidualHistogram" }
  metrics { class_name: "CalibrationPlot" config: '"name": "regression_calibration", "left": -1, "right": 2' }
}
slicing_specs {} slicing_specs { feature_keys: ["age"] } slicing_specs { feature_keys: ["country", "age"] }
"""


def _flatten(metrics, plots):
    out = {}
    for key, values in metrics.items():
        for name, v in values.items():
            out[(key, name)] = np.asarray(v, float)
    for key, values in plots.items():
        for name, plot in values.items():
            for kind, columns in plot.items():
                for field, v in columns.items():
                    out[(key, name, field)] = np.asarray(v, float)
    return out


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-9, err_msg=str(k))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_split_gives_the_same_numbers(table, seed):
    eval_plan = plan(CONFIG)
    one = _flatten(*evaluate_in_process(eval_plan, table.to_batches())[:2])
    many = _flatten(*evaluate_in_process(eval_plan, split_batches(table, sizes_seed=seed))[:2])
    _assert_same(one, many)


def _partials(eval_plan, batches, spec_index):
    return [part for b in batches for i, part in batch_partials(b, eval_plan)[1] if i == spec_index]


def _results(eval_plan, acc):
    results, _ = slice_results(acc, eval_plan)
    return {(r.slice_key, k.name): np.asarray(v, float) for r in results for k, v in r.metrics.items()}


@pytest.mark.parametrize("spec_index", [0, 2])
def test_merge_orders_lists_iterators_empty_and_pickle(table, spec_index):
    eval_plan = plan(CONFIG)
    fn = FusedCombineFn(eval_plan)
    parts = _partials(eval_plan, split_batches(table, sizes_seed=4), spec_index)
    snapshot = pickle.dumps(parts)

    def accumulate(chunk):
        acc = fn.create_accumulator()
        for p in chunk:
            acc = fn.add_input(acc, p)
        return acc

    single = _results(eval_plan, fn.extract_output(accumulate(parts)))
    shards = [accumulate(parts[i::3]) for i in range(3)]
    as_list = fn.merge_accumulators([copy.deepcopy(s) for s in shards])
    _assert_same(single, _results(eval_plan, fn.extract_output(as_list)))
    reversed_iter = fn.merge_accumulators(iter([copy.deepcopy(s) for s in shards[::-1]]))
    _assert_same(single, _results(eval_plan, fn.extract_output(reversed_iter)))
    with_empty = fn.merge_accumulators([fn.create_accumulator(), accumulate(parts),
                                        fn.create_accumulator()])
    _assert_same(single, _results(eval_plan, fn.extract_output(with_empty)))
    alone = fn.merge_accumulators([accumulate(parts)])
    _assert_same(single, _results(eval_plan, fn.extract_output(alone)))
    round_trip = pickle.loads(pickle.dumps(fn.compact(accumulate(parts))))
    _assert_same(single, _results(eval_plan, fn.extract_output(round_trip)))
    assert pickle.dumps(parts) == snapshot  # inputs left untouched


def test_sparse_histograms_for_high_cardinality_match_dense(table, monkeypatch):
    from evalbeam.metrics import histogram, state

    eval_plan = plan(CONFIG)
    dense = _flatten(*evaluate_in_process(eval_plan, split_batches(table, sizes_seed=5))[:2])
    monkeypatch.setattr(histogram, "DENSE_CELLS", 0)  # every batch partial sparse
    monkeypatch.setattr(histogram, "DENSE_PER_ROW", 0)
    monkeypatch.setattr(state, "DENSE_CELLS", 0)
    monkeypatch.setattr(state, "DENSE_PER_ROW", 0)
    monkeypatch.setattr(state.SparseColumn, "MAX_PENDING", 50)  # compact and densify often
    sparse = _flatten(*evaluate_in_process(eval_plan, split_batches(table, sizes_seed=5))[:2])
    _assert_same(dense, sparse)
