"""The accumulator contract, run on every metric family at the level of the CombineFn
(create_accumulator / add_input / merge_accumulators / compact / extract_output), comparing
every output: metric values, plots, confidence intervals, counts and weights per slice.

- partials sharded at random, accumulated and merged in a random tree equal one pass (1e-12
  relative; NaN equals NaN; arrays elementwise);
- rows permuted and cut into other batches give the same metrics and plots (intervals draw
  their resamples from each batch's content, so they are compared on fixed batches above);
- merging empty accumulators is a no-op; merge and add_input leave their inputs unchanged
  (all but merge's first accumulator, which Beam lets it reuse);
- a list, an iterator and a generator of accumulators merge the same;
- a pickle round trip (and the accumulator coder's) of a partial or an accumulator, at any
  point, changes nothing;
- sparse and mixed storage of bucketed states (:class:`Case`) give what dense storage gives.

Every :class:`~evalbeam.metrics.base.Family` subclass must be exercised by a case of
:data:`CASES` (:data:`FAMILY_CASES` says which): a new family fails
:func:`test_every_family_has_a_case` until it has one.
"""
import copy
import dataclasses
import importlib
import pathlib
import pickle
import pkgutil
import sys
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

import evalbeam.metrics
from conftest import partials, split_batches
from evalbeam import compute
from evalbeam.combine import FusedCombineFn
from evalbeam.compute import slice_results
from evalbeam.config import parse_config, resolve_config
from evalbeam.keys import MetricKey
from evalbeam.metrics import histogram, state
from evalbeam.metrics.base import Family
from evalbeam.metrics.resampling import Replicated
from evalbeam.metrics.state import SparseColumn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))  # custom_metrics

RTOL = 1e-12
K = 3  # classes of the multi-class and multi-label outputs


def contract_table(n=360, seed=0) -> pa.Table:
    """Weighted binary, multi-class and multi-label outputs of the same rows, a baseline
    model's predictions, and queries of 1..8 documents spread over the rows; a few rows
    without a label or a slicing value, tags of 0..2 values (repeats too) per row."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    prediction = np.clip(rng.beta(2, 3, n) + 0.25 * label, 0, 1)
    sizes = rng.integers(1, 9, n)
    qid = np.repeat(np.arange(n), sizes)[:n]
    qweight = rng.choice([0.5, 1.0, 2.0], n)[qid]
    class_label = rng.integers(0, K, n)
    logits = rng.normal(size=(n, K)) + 1.5 * np.eye(K)[class_label]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    unlabelled = rng.random(n) < 0.02  # rows dropped (and counted) for a null label
    table = pa.table({
        "label": pa.array(label, mask=unlabelled),
        "prediction": prediction,
        "weight": rng.choice([0.0, 0.5, 1.0, 2.0], n, p=[0.05, 0.25, 0.5, 0.2]),
        "p_base": np.clip(prediction + rng.normal(0, 0.2, n), 0, 1),
        "w_base": rng.choice([0.0, 0.5, 1.0, 3.0], n),
        "country": rng.choice(["us", "de", "fr"], n, p=[0.5, 0.3, 0.2]),
        "device": pa.array(rng.choice(["mobile", "desktop"], n), mask=rng.random(n) < 0.03),
        "tags": pa.array([None if rng.random() < 0.03 else
                          list(rng.choice(["a", "b", "c"], rng.choice(3, p=[0.1, 0.6, 0.3])))
                          for _ in range(n)], pa.list_(pa.string())),
        "class_label": pa.array(class_label, mask=unlabelled),
        "scores": pa.array(list(scores), pa.list_(pa.float64())),
        "multi_label": pa.array(list((rng.random((n, K)) < 0.4).astype(np.int64)),
                                mask=unlabelled),
        "qid": pa.array([f"q{q}" for q in qid]),
        "qweight": qweight,
        "gain": rng.integers(0, 4, n).astype(float),
    })
    return table.take(pa.array(rng.permutation(n)))


BINARY = 'model_specs { label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }\n'
MULTI_CLASS = ('model_specs { label_key: "class_label" prediction_key: "scores" '
               'example_weight_key: "weight" }\n')
MULTI_LABEL = ('model_specs { label_key: "multi_label" prediction_key: "scores" '
               'example_weight_key: "weight" }\n')
TWO_MODELS = """
model_specs { name: "base" label_key: "label" prediction_key: "p_base" example_weight_key: "w_base"
              is_baseline: true }
model_specs { name: "cand" label_key: "label" prediction_key: "prediction" example_weight_key: "weight" }
"""
QUERIES = 'model_specs { label_key: "label" prediction_key: "prediction" example_weight_key: "qweight" }\n'
SLICES = ('slicing_specs {} slicing_specs { feature_keys: ["tags"] } '
          'slicing_specs { feature_keys: ["country", "device"] }\n')
# class matrices are read one slice at a time (a million cells each): fewer slices
FEW_SLICES = 'slicing_specs {} slicing_specs { feature_keys: ["device"] }\n'

INTERVALS = "options { compute_confidence_intervals { value: true } }\n"
MIN_SLICE_SIZE = "options { min_slice_size { value: 40 } }\n"  # omits a few slices
BOOTSTRAP = ("options { compute_confidence_intervals { value: true } "
             "confidence_intervals { method: POISSON_BOOTSTRAP } }\n")


def metrics(*names, **configs) -> str:
    """``metrics { ... }`` entries: class names, or ``name=config`` (a JSON object's body)."""
    out = [f'metrics {{ class_name: "{n}" }}' for n in names]
    out += [f"metrics {{ class_name: \"{n.split('__')[0]}\" config: '{c}' }}"
            for n, c in configs.items()]
    return " ".join(out)


def custom(*names, module="custom_metrics") -> str:
    return " ".join(f'metrics {{ module: "{module}" class_name: "{n}" }}' for n in names)


@dataclass(frozen=True)
class Case:
    """A configuration, and how bucketed states are stored: ``dense`` as they would be for
    these few slices; ``sparse``: every batch's as entries, merges compacting often;
    ``mixed``: large batches' dense, small batches' as entries, and a slice's state densified
    once it holds 48 entries (so dense and sparse states merge into each other); metrics
    computed for one slice at a time rather than for the table at once."""

    text: str
    storage: str = "dense"


SUMS = metrics("ExampleCount", "WeightedExampleCount", "MeanLabel", "MeanPrediction",
               "Calibration", "BinaryCrossentropy", "MeanSquaredError", "RootMeanSquaredError",
               "MeanAbsoluteError", "MeanAbsolutePercentageError", "SquaredPearsonCorrelation")
CONFUSION = metrics("Recall", "F1Score", "MatthewsCorrelationCoefficient", "BinaryAccuracy",
                    "DiagnosticOddsRatio", "MaxRecall",
                    Precision='"thresholds": [0.3, 0.5, 0.7]',
                    ConfusionMatrixAtThresholds='"thresholds": [0.25, 0.5, 0.75]')
HISTOGRAM = metrics("AUC", "AUCPrecisionRecall", "ConfusionMatrixPlot", "CalibrationPlot",
                    "GainCurve", "LiftCurve",
                    ThresholdAtRecall='"recall": 0.6', PrecisionAtRecall='"recall": 0.5',
                    AUC__coarse='"num_thresholds": 200, "name": "auc_200"')
VALUE_HISTOGRAM = metrics("PredictedVsTrue", "ResidualHistogram", "ScoreDistributionPlot",
                          CalibrationPlot='"name": "regression_calibration", "left": -1, "right": 2')
USER = (custom("MeanAbsoluteLogError", "MaxAbsoluteError", "FalsePositivesPerTruePositive")
        + " " + custom("MinPrediction", "PeakWeightedError", "MeanWeight",
                       module="reduction_metrics")
        + " " + metrics("TruePositives", "FalsePositives"))
FLIPS = metrics("BooleanFlipRates", "MeanPrediction", "AUC",
                SymmetricFlipRate='"threshold": 0.3, "name": "flips_at_0.3"')
CLASSES = metrics("SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
                  "MultiClassConfusionMatrixPlot", TopKAccuracy='"k": 2',
                  MultiClassConfusionMatrixAtThresholds='"thresholds": [0.4]')
QUERY_METRICS = ('metrics_specs { query_key: "qid" binarize { top_k_list { values: [1, 3] } } '
                 + metrics("MinLabelPosition", "QueryStatistics", "ExampleCount",
                           NDCG='"gain_key": "gain", "top_k_list": [5]',
                           PrecisionAtK='"top_k_list": [5]', RecallAtK='"top_k_list": [5]')
                 + " }\n")
# beside a metric of rows, whose partials count the examples (else the queries' do)
RANKING = 'metrics_specs { metrics { class_name: "MeanLabel" } }\n' + QUERY_METRICS


def spec(body: str, extra: str = "") -> str:
    return f"metrics_specs {{ {body} {extra} }}\n"


CASES = {
    "sums": Case(BINARY + spec(SUMS) + SLICES),
    "confusion": Case(BINARY + spec(CONFUSION) + SLICES),
    "histogram": Case(BINARY + spec(HISTOGRAM) + SLICES),
    "histogram_sparse": Case(BINARY + spec(HISTOGRAM) + SLICES, storage="sparse"),
    "histogram_mixed": Case(BINARY + spec(HISTOGRAM) + SLICES + MIN_SLICE_SIZE, storage="mixed"),
    "value_histogram": Case(BINARY + spec(VALUE_HISTOGRAM) + SLICES),
    "value_histogram_sparse": Case(BINARY + spec(VALUE_HISTOGRAM) + SLICES, storage="sparse"),
    "value_histogram_mixed": Case(BINARY + spec(VALUE_HISTOGRAM) + SLICES, storage="mixed"),
    "user": Case(BINARY + spec(USER) + SLICES),
    "flips": Case(TWO_MODELS + spec(FLIPS) + SLICES),
    "multi_class": Case(MULTI_CLASS + spec(CLASSES) + spec(
        metrics("Precision", "AUC", "MeanLabel"),
        "binarize { class_ids { values: [0, 1, 2] } top_k_list { values: [2] } }") + spec(
        metrics("Recall", "AUC"), "aggregate { micro_average: true }") + spec(
        metrics("Precision"), "aggregate { macro_average: true class_weights { key: 0 value: 1 } "
        "class_weights { key: 2 value: 3 } }") + FEW_SLICES),
    "multi_label": Case(MULTI_LABEL + spec(metrics("MultiLabelConfusionMatrixPlot")) + spec(
        metrics("Recall", "AUC"), "binarize { class_ids { values: [0, 2] } }") + FEW_SLICES),
    "ranking": Case(QUERIES + RANKING + SLICES),
    "intervals": Case(BINARY + spec(metrics("MeanLabel", "BinaryCrossentropy", "AUC",
                                            Precision='"thresholds": [0.3, 0.6]')
                                    + " " + custom("MaxAbsoluteError", "MeanAbsoluteLogError"))
                      + SLICES + INTERVALS),
    "intervals_sparse": Case(BINARY + spec(metrics("AUC", "AUCPrecisionRecall", "MeanLabel"))
                             + SLICES + INTERVALS, storage="sparse"),
    "intervals_mixed": Case(BINARY + spec(metrics("AUC", "AUCPrecisionRecall", "MeanLabel"))
                            + SLICES + "options { compute_confidence_intervals { value: true } "
                            "min_slice_size { value: 40 } }\n", storage="mixed"),
    "intervals_bootstrap": Case(BINARY + spec(metrics("MeanLabel", "AUC", "Recall")
                                              + " " + custom("MaxPrediction", "MeanWeight",
                                                             module="reduction_metrics"))
                                + SLICES + BOOTSTRAP),
    "intervals_bootstrap_sparse": Case(BINARY + spec(metrics("AUC", "MeanPrediction"))
                                       + SLICES + BOOTSTRAP, storage="sparse"),
    "intervals_bootstrap_mixed": Case(BINARY + spec(metrics("AUC", "MeanPrediction"))
                                      + SLICES + BOOTSTRAP, storage="mixed"),
    "intervals_flips": Case(TWO_MODELS + spec(metrics("SymmetricFlipRate", "MeanLabel", "AUC"))
                            + SLICES + INTERVALS),
    "intervals_multi_class": Case(MULTI_CLASS + spec(metrics("SparseCategoricalAccuracy")) + spec(
        metrics("Recall", "AUC"), "aggregate { micro_average: true }") + SLICES + INTERVALS),
    "intervals_ranking": Case(QUERIES + QUERY_METRICS + SLICES + BOOTSTRAP),
}

# Family class (module.qualname) -> cases whose plans hold one (test_every_family_has_a_case)
FAMILY_CASES = {
    "evalbeam.metrics.sums.Sums": ["sums", "flips"],
    "evalbeam.metrics.sums.ExampleSums": ["sums"],
    "evalbeam.metrics.classes.ClassSums": ["multi_class"],
    "evalbeam.metrics.confusion.Confusion": ["confusion", "user", "multi_class", "multi_label"],
    "evalbeam.metrics.histogram.Histogram": ["histogram", "histogram_sparse", "histogram_mixed",
                                             "multi_class", "multi_label", "flips"],
    "evalbeam.metrics.value_histogram.ValueHistogram": [
        "value_histogram", "value_histogram_sparse", "value_histogram_mixed"],
    "evalbeam.metrics.score_distribution.ThresholdIntervals": [
        "value_histogram", "value_histogram_sparse", "value_histogram_mixed"],
    "evalbeam.metrics.class_matrices.MultiClassMatrices": ["multi_class"],
    "evalbeam.metrics.class_matrices.MultiLabelMatrices": ["multi_label"],
    "evalbeam.metrics.flips.FlipCounts": ["flips", "intervals_flips"],
    "evalbeam.metrics.custom._UserFamily": ["user", "intervals", "intervals_bootstrap"],
    "evalbeam.metrics.ranking.QuerySums": ["ranking", "intervals_ranking"],
    "evalbeam.metrics.ranking.QueryDocuments": ["ranking", "intervals_ranking"],
    "evalbeam.metrics.resampling.Replicated": [
        "intervals", "intervals_sparse", "intervals_mixed", "intervals_bootstrap",
        "intervals_bootstrap_sparse", "intervals_bootstrap_mixed", "intervals_flips",
        "intervals_multi_class", "intervals_ranking"],
}


def _name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def family_classes() -> list:
    """Every Family subclass of the package, after importing every module of evalbeam.metrics."""
    for module in pkgutil.walk_packages(evalbeam.metrics.__path__, "evalbeam.metrics."):
        importlib.import_module(module.name)
    found, todo = [], [Family]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return sorted((c for c in found if c.__module__.startswith("evalbeam.")), key=_name)


def eval_plan_of(name: str):
    return resolve_config(parse_config(CASES[name].text))


def test_every_family_has_a_case():
    classes = family_classes()
    missing = [_name(c) for c in classes if _name(c) not in FAMILY_CASES]
    assert not missing, (f"no contract case exercises the families {missing}: add a config "
                         "that uses each to CASES and name it in FAMILY_CASES")
    stale = set(FAMILY_CASES) - {_name(c) for c in classes}
    assert not stale, f"FAMILY_CASES names families that no longer exist: {sorted(stale)}"
    for cls in classes:
        for case in FAMILY_CASES[_name(cls)]:
            families = eval_plan_of(case).fused.families
            assert any(type(f) is cls for f in families), \
                f"case {case!r} does not use {_name(cls)}: {sorted({_name(type(f)) for f in families})}"


def test_each_case_gives_what_the_properties_compare():
    """Not vacuous: every case has finite values (and intervals with resampling), rows
    dropped for a null label and rows without a slicing value."""
    for name, case in CASES.items():
        eval_plan, by_spec = case_partials(name)
        fn = FusedCombineFn(eval_plan)
        finite, null_rows, tally = {}, 0, {}
        for parts in by_spec.values():
            out = outputs(fn, eval_plan, one_pass(fn, parts))
            for path, value in out.items():
                if len(path) > 2 and path[1] in ("metric", "plot", "interval"):
                    array = np.asarray(value)
                    finite[path[1]] = finite.get(path[1], False) or (
                        array.dtype.kind in "fiub" and bool(np.isfinite(array).any()))
            null_rows += out[("null_rows",)]
            tally.update(out[("tally",)])
        assert finite.get("metric") or finite.get("plot"), name
        assert finite.get("interval", False) == (eval_plan.resampling is not None), name
        assert null_rows and any(k.startswith("dropped:null label") for k in tally), name


def test_intervals_replicate_dense_and_sparse_states_both_ways():
    """Replicated runs over inner families of dense and of sparse states, for the jackknife
    and the bootstrap, weighting drawn examples or repeating them (a user's family)."""
    seen = set()
    for case in FAMILY_CASES["evalbeam.metrics.resampling.Replicated"]:
        for f in eval_plan_of(case).fused.families:
            if isinstance(f, Replicated):
                sparse = any(s.sparse for s in f.inner.states().values())
                seen.add((f.resampling.method, sparse, f.repeats, CASES[case].storage))
    methods = {"jackknife", "poisson_bootstrap"}
    assert {(m, s) for m, s, _, _ in seen} == {(m, s) for m in methods for s in (False, True)}
    assert ("poisson_bootstrap", False, True) in {(m, s, r) for m, s, r, _ in seen}
    assert {(m, st) for m in methods for st in ("dense", "sparse", "mixed")} == {
        (m, storage) for m, s, _, storage in seen if s}


def use_storage(monkeypatch, kind: str) -> None:
    """Bucketed states stored as :class:`Case` ``storage`` says."""
    if kind == "dense":
        return
    # mixed: a batch's overall prediction histogram (10,002 buckets) dense from 50 rows, its
    # 102-bucket value histograms from 51 rows; smaller batches' and larger slicings' sparse
    for module, per_row in ((histogram, 200), (state, 2)):
        monkeypatch.setattr(module, "DENSE_CELLS", 0)
        monkeypatch.setattr(module, "DENSE_PER_ROW", per_row if kind == "mixed" else 0)
    monkeypatch.setattr(state.SparseColumn, "MAX_PENDING", 50)
    if kind == "mixed":
        init = state.SparseColumn.__init__

        def densify_soon(self, spec):
            init(self, spec)
            if self.buckets <= 1 << 15:  # not the class matrices' million cells
                self.densify_at = 48

        monkeypatch.setattr(state.SparseColumn, "__init__", densify_soon)
        monkeypatch.setattr(compute, "CELLS_PER_PART", 1)  # metrics computed slice by slice


@pytest.fixture
def storage(request, monkeypatch):
    case = CASES[request.node.callspec.params["case"]]
    use_storage(monkeypatch, case.storage)
    return case


_TABLE = contract_table()


def case_partials(name: str, seed: int = 0) -> tuple:
    """``(eval_plan, {spec index: [partial, ...]})`` of the case over the table cut into
    batches of random sizes."""
    eval_plan = eval_plan_of(name)
    by_spec = {}
    for index, part in partials(eval_plan, split_batches(_TABLE, sizes_seed=seed)):
        by_spec.setdefault(index, []).append(part)
    return eval_plan, by_spec


# -- what is compared ---------------------------------------------------------------------

def _leaves(out: dict, path: tuple, value) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _leaves(out, path + (k,), v)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple, np.ndarray))
                                                  for v in value):
        for i, v in enumerate(value):
            _leaves(out, path + (i,), v)
    else:
        out[path] = value


def outputs(fn, eval_plan, acc) -> dict:
    """Everything the accumulator gives (of a copy: extracting compacts it): per slice its
    count and weight, metric values, plots, intervals and their degrees of freedom; the
    row tally, rows without a slicing value and the slices omitted."""
    table = fn.extract_output(copy.deepcopy(acc))
    out = {("tally",): sorted(table.tally.items()), ("null_rows",): table.null_rows}
    for key, count, weight in zip(table.keys, table.counts.tolist(), table.weights.tolist()):
        out[("size", key)] = (count, weight)
    results, omitted = slice_results(table, eval_plan)
    out[("omitted",)] = sorted(omitted)
    for r in results:
        _leaves(out, (r.slice_key, "metric"), r.metrics)
        _leaves(out, (r.slice_key, "plot"), r.plots)
        _leaves(out, (r.slice_key, "interval"), {k: list(v) for k, v in r.intervals.items()})
        _leaves(out, (r.slice_key, "dof"), {"all": r.dof, **r.dofs})
        out[(r.slice_key, "count")] = r.example_count
    return out


def contents(table) -> dict:
    """A table's state (of a copy: reading a sparse state compacts it): slice keys, counts,
    weights, every dense state, every sparse state's non-zero cells; the tally and rows
    without a slicing value."""
    table = copy.deepcopy(table).compact()
    out = {("tally",): sorted(table.tally.items()), ("null_rows",): table.null_rows,
           ("keys",): list(table.keys), ("counts",): table.counts, ("weights",): table.weights}
    for name, col in table.columns.items():
        if isinstance(col, SparseColumn):
            for part, values in zip(("units", "buckets", "values"), col.entries()):
                out[(name, part)] = values
        else:
            out[(name,)] = col.data[: col.n]
    return out


def assert_same(got: dict, want: dict, what: str = "") -> None:
    """Equal keys; numbers equal to :data:`RTOL` relative (NaN equals NaN), elementwise."""
    assert got.keys() == want.keys(), (what, sorted(map(str, got.keys() ^ want.keys()))[:10])
    scales = _operand_scales(want)
    for k, w in want.items():
        g = got[k]
        w_arr, g_arr = np.asarray(w), np.asarray(g)
        if w_arr.dtype.kind in "fiub" and g_arr.dtype.kind in "fiub":
            assert g_arr.shape == w_arr.shape, (what, k)
            np.testing.assert_allclose(g_arr, w_arr, rtol=RTOL, atol=RTOL * scales.get(k, 0.0),
                                       equal_nan=True, err_msg=f"{what} {k}")
        else:
            assert g == w, (what, k)


def _operand_scales(out: dict) -> dict:
    """For each value of a diff metric (candidate - baseline) and its interval, the largest
    magnitude of the models' own values of that metric in the slice: a difference of two
    values equal to RTOL relative is equal to RTOL of its operands (a diff near 0 cancels)."""
    magnitude = {}
    for path, value in out.items():
        if len(path) > 2 and path[1] == "metric" and isinstance(path[2], MetricKey) \
                and not path[2].is_diff:
            operand = (path[0], dataclasses.replace(path[2], model_name="")) + path[3:]
            values = np.abs(np.asarray(value, float))
            top = float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
            magnitude[operand] = max(magnitude.get(operand, 0.0), top)
    scales = {}
    for path in out:
        if len(path) > 2 and isinstance(path[2], MetricKey) and path[2].is_diff:
            own = dataclasses.replace(path[2], model_name="", is_diff=False)
            rest = path[3:] if path[1] == "metric" else path[3:-1]  # an interval: (.., bound)
            scales[path] = magnitude.get((path[0], own) + rest, 0.0)
    return scales


def one_pass(fn, parts):
    return one_pass_into(fn, fn.create_accumulator(), parts)


def one_pass_into(fn, acc, parts):
    for part in parts:
        acc = fn.add_input(acc, part)
    return acc


CASE_NAMES = list(CASES)


# -- the properties -----------------------------------------------------------------------

@pytest.mark.parametrize("case", CASE_NAMES)
def test_sharded_and_merged_equals_one_pass(case, storage):
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    worker = pickle.loads(pickle.dumps(fn))  # as a runner ships it
    for index, parts in by_spec.items():
        want = outputs(fn, eval_plan, one_pass(fn, copy.deepcopy(parts)))
        for seed in (1, 2):
            rng = np.random.default_rng(seed)
            got = worker.extract_output(_sharded(worker, copy.deepcopy(parts), rng))
            assert_same(outputs(fn, eval_plan, got), want, f"spec {index}, seed {seed}")


def _sharded(fn, parts, rng):
    """``parts`` in random order over 1..4 shards (some maybe empty), each accumulated with
    compacting now and then, merged in a random tree of lists and iterators."""
    order = rng.permutation(len(parts))
    owner = rng.integers(0, rng.integers(1, 5), len(parts))
    shards = []
    for s in range(owner.max() + 2):  # one more: an empty shard
        acc = fn.create_accumulator()
        for i in order[owner[order] == s]:
            acc = fn.add_input(acc, parts[i])
            if rng.random() < 0.3:
                acc = fn.compact(acc)
        shards.append(acc)
    while len(shards) > 1:
        pick = rng.choice(len(shards), int(rng.integers(2, min(3, len(shards)) + 1)), replace=False)
        group = [shards[i] for i in pick]
        shards = [s for i, s in enumerate(shards) if i not in pick]
        shards.append(fn.merge_accumulators(iter(group) if rng.random() < 0.5 else group))
    return shards[0]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_batching_and_row_order_do_not_change_the_numbers(case, storage):
    """One batch of every row against the rows permuted and cut at random (point values and
    plots; interval resamples are drawn per batch)."""
    eval_plan = eval_plan_of(case)
    fn = FusedCombineFn(eval_plan)

    def run(batches):
        by_spec = {}
        for index, part in partials(eval_plan, batches):
            by_spec.setdefault(index, []).append(part)
        return {index: {k: v for k, v in outputs(fn, eval_plan, one_pass(fn, parts)).items()
                        if not (len(k) > 1 and k[1] in ("interval", "dof"))}
                for index, parts in by_spec.items()}

    want = run(_TABLE.combine_chunks().to_batches())
    shuffled = _TABLE.take(pa.array(np.random.default_rng(7).permutation(_TABLE.num_rows)))
    got = run(split_batches(shuffled, sizes_seed=8))
    assert got.keys() == want.keys()
    for index in want:
        assert_same(got[index], want[index], index)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_merging_empty_accumulators_is_a_no_op(case, storage):
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    empty = outputs(fn, eval_plan, fn.create_accumulator())
    assert_same(outputs(fn, eval_plan, fn.merge_accumulators(
        [fn.create_accumulator(), fn.create_accumulator()])), empty)
    for index, parts in by_spec.items():
        acc = one_pass(fn, parts)
        want = outputs(fn, eval_plan, acc)
        for merged in ([copy.deepcopy(acc), fn.create_accumulator()],
                       [fn.create_accumulator(), copy.deepcopy(acc), fn.create_accumulator()],
                       [copy.deepcopy(acc)]):
            assert_same(outputs(fn, eval_plan, fn.merge_accumulators(merged)), want, index)
        assert_same(outputs(fn, eval_plan, fn.add_input(copy.deepcopy(acc),
                                                        fn.create_accumulator())), want, index)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_merge_and_add_input_leave_their_inputs_unchanged(case, storage):
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    for index, parts in by_spec.items():
        before = [contents(p) for p in parts]
        shards = [one_pass(fn, parts[i::3]) for i in range(3)]
        for part, snapshot in zip(parts, before):
            assert_same(contents(part), snapshot, f"a partial added (spec {index})")
        kept = [contents(s) for s in shards[1:]]
        kept_outputs = [outputs(fn, eval_plan, s) for s in shards[1:]]
        fn.merge_accumulators(shards)
        for shard, snapshot, out in zip(shards[1:], kept, kept_outputs):
            assert_same(contents(shard), snapshot, f"an accumulator merged (spec {index})")
            assert_same(outputs(fn, eval_plan, shard), out, f"an accumulator merged ({index})")
        # the merged ones still accumulate and merge as before
        again = fn.merge_accumulators([fn.add_input(one_pass(fn, parts[0::3]), shards[1]),
                                       shards[2]])
        assert_same(outputs(fn, eval_plan, again), outputs(fn, eval_plan, shards[0]), index)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_list_and_an_iterator_merge_the_same(case, storage):
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    for index, parts in by_spec.items():
        shards = [one_pass(fn, parts[i::3]) for i in range(3)]
        want = outputs(fn, eval_plan, fn.merge_accumulators(copy.deepcopy(shards)))
        assert_same(want, outputs(fn, eval_plan, one_pass(fn, parts)), index)
        for merged in (fn.merge_accumulators(iter(copy.deepcopy(shards))),
                       fn.merge_accumulators(s for s in copy.deepcopy(shards)),
                       fn.merge_accumulators(tuple(copy.deepcopy(shards)))):
            assert_same(outputs(fn, eval_plan, merged), want, index)
        alone = outputs(fn, eval_plan, shards[0])
        for merged in (fn.merge_accumulators([copy.deepcopy(shards[0])]),
                       fn.merge_accumulators(iter([copy.deepcopy(shards[0])]))):
            assert_same(outputs(fn, eval_plan, merged), alone, index)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_pickle_round_trip_changes_nothing(case, storage):
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    coder = fn.get_accumulator_coder()

    def trips(x):
        return (pickle.loads(pickle.dumps(copy.deepcopy(x))),
                coder.decode(coder.encode(copy.deepcopy(x))))

    for index, parts in by_spec.items():
        want = outputs(fn, eval_plan, one_pass(fn, parts))
        shipped = [trips(p)[i % 2] for i, p in enumerate(parts)]  # partials cross a shuffle
        assert_same(outputs(fn, eval_plan, one_pass(fn, shipped)), want, index)
        for shipped_acc in trips(fn.create_accumulator()):
            assert_same(outputs(fn, eval_plan, one_pass_into(fn, shipped_acc, parts)), want, index)
        half = len(parts) // 2
        acc = one_pass(fn, parts[:half])  # not compacted: as a runner may ship it mid-way
        for shipped_acc in trips(acc):
            assert_same(contents(shipped_acc), contents(acc), index)
            assert_same(outputs(fn, eval_plan, one_pass_into(fn, shipped_acc, parts[half:])),
                        want, index)
        for shipped_acc in trips(fn.compact(one_pass(fn, parts))):
            assert_same(outputs(fn, eval_plan, shipped_acc), want, index)


def _units(parts) -> set:
    """How the units of the sparse states of ``parts`` are held: "dense" and/or "entries"."""
    kinds = set()
    for part in parts:
        for col in part.columns.values():
            if isinstance(col, SparseColumn):
                if (col.slot[: col.n * col.blocks] >= 0).any():
                    kinds.add("dense")
                if col._rows:
                    kinds.add("entries")
    return kinds


@pytest.mark.parametrize("case", [c for c in CASE_NAMES if CASES[c].storage != "dense"])
def test_storage_does_not_change_the_numbers(case, monkeypatch):
    """Sparse and mixed storage give what dense storage gives (intervals too: the same
    batches draw the same resamples)."""
    kind = CASES[case].storage
    eval_plan, by_spec = case_partials(case)
    fn = FusedCombineFn(eval_plan)
    want = {index: outputs(fn, eval_plan, one_pass(fn, parts)) for index, parts in by_spec.items()}
    assert _units(p for parts in by_spec.values() for p in parts) == {"dense"}
    use_storage(monkeypatch, kind)
    eval_plan, by_spec = case_partials(case)
    parts = [p for parts in by_spec.values() for p in parts]
    assert _units(parts) == ({"entries"} if kind == "sparse" else {"dense", "entries"})
    if kind == "mixed":  # some units densified by merging, beside units of entries
        merged = [fn.compact(one_pass(fn, parts)) for parts in by_spec.values()]
        assert _units(merged) == {"dense", "entries"}
    for index, parts in by_spec.items():
        assert_same(outputs(fn, eval_plan, one_pass(fn, parts)), want[index], index)
