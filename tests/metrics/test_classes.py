"""Multi-class and multi-label outputs: binarize, aggregate and the score-vector metrics, checked
against scikit-learn on random data split into batches."""
import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from conftest import accumulate, first_spec_results, split_batches
from evalbeam.combine import FusedCombineFn
from evalbeam.compute import slice_results
from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import InputError
from evalbeam.keys import MetricKey, SubKey
from evalbeam.preagg import batch_partials

K = 5
BASE = 'model_specs { label_key: "label" prediction_key: "scores" example_weight_key: "weight" }\n'


def make_table(n=4000, seed=0, dense=False, fixed=False):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, K, n)
    logits = rng.normal(size=(n, K)) + 1.5 * np.eye(K)[label]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = scores.astype(np.float32).astype(np.float64)
    typ = pa.list_(pa.float32(), K) if fixed else pa.list_(pa.float32())
    columns = {
        "scores": pa.array(list(scores), type=typ),
        "weight": rng.choice([0.5, 1.0, 2.0], n),
        "country": rng.choice(["us", "de"], n),
    }
    columns["label"] = pa.array(list(np.eye(K, dtype=np.int64)[label])) if dense else label
    return pa.table(columns), label, scores, columns["weight"]


def run(body, table, seed=1):
    """{slice key: {MetricKey: value or plot}} of ``table`` (or a list of record batches)."""
    eval_plan = resolve_config(parse_config(BASE + body))
    fn = FusedCombineFn(eval_plan)
    accumulators = {}
    batches = table if isinstance(table, list) else split_batches(table, seed)
    for batch in batches:
        for index, part in batch_partials(batch, eval_plan)[1]:
            fn.add_input(accumulators.setdefault(index, fn.create_accumulator()), part)
    out = {}
    for acc in accumulators.values():
        for r in slice_results(fn.extract_output(acc), eval_plan)[0]:
            out[r.slice_key] = {**r.metrics, **r.plots}
    return out


def key(name, sub_key=None, aggregation=None):
    return MetricKey(name, sub_key=sub_key, example_weighted=True, aggregation_type=aggregation)


def test_binarize_class_ids_is_one_vs_rest_per_class():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            'metrics { class_name: "MeanLabel" } metrics { class_name: "AUC" } '
            'metrics { class_name: "ExampleCount" } '
            'binarize { class_ids { values: [0, 1, 2, 3, 4] } } }')
    overall = run(body, table)[()]
    for c in range(K):
        sub = SubKey(class_id=c)
        yc, pc = (y == c).astype(int), p[:, c]
        assert overall[key("precision", sub)] == pytest.approx(
            skm.precision_score(yc, pc > 0.5, sample_weight=w), abs=1e-12)
        assert overall[key("recall", sub)] == pytest.approx(
            skm.recall_score(yc, pc > 0.5, sample_weight=w), abs=1e-12)
        assert overall[key("mean_label", sub)] == pytest.approx(np.average(yc, weights=w), abs=1e-12)
        # AUC reads TFMA's 10,000-bucket histogram: within its resolution of the exact value
        assert overall[key("auc", sub)] == pytest.approx(
            skm.roc_auc_score(yc, pc, sample_weight=w), abs=2e-4)
    # a count is the same for every class: computed once, without a sub key
    assert overall[key("example_count")] == pytest.approx(w.sum())
    assert not any(k.name == "example_count" and k.sub_key for k in overall)


def test_dense_labels_and_fixed_size_lists_give_the_same_numbers():
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "AUC" } '
            'binarize { class_ids { values: [1, 3] } } }')
    sparse = run(body, make_table()[0])[()]
    dense = run(body, make_table(dense=True, fixed=True)[0])[()]
    assert sparse.keys() == dense.keys()
    for k in sparse:
        assert dense[k] == pytest.approx(sparse[k], abs=1e-12)


def test_k_list_reads_the_kth_highest_score_and_its_label():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "BinaryAccuracy" } metrics { class_name: "MeanLabel" } '
            'metrics { class_name: "MeanPrediction" } binarize { k_list { values: [1, 2] } } }')
    overall = run(body, table)[()]
    order = np.argsort(-p, axis=1)
    for k in (1, 2):
        cls = order[:, k - 1]
        yk, pk = (cls == y).astype(float), p[np.arange(len(y)), cls]
        sub = SubKey(k=k)
        assert overall[key("mean_label", sub)] == pytest.approx(np.average(yk, weights=w), abs=1e-12)
        assert overall[key("mean_prediction", sub)] == pytest.approx(np.average(pk, weights=w), abs=1e-12)
        assert overall[key("binary_accuracy", sub)] == pytest.approx(
            np.average(yk == (pk > 0.5), weights=w), abs=1e-12)
    # the top class's label is the plain accuracy
    assert overall[key("mean_label", SubKey(k=1))] == pytest.approx(
        skm.accuracy_score(y, p.argmax(axis=1), sample_weight=w), abs=1e-12)


def test_top_k_list_gives_precision_and_recall_at_k():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            'binarize { top_k_list { values: [1, 3] } } }')
    overall = run(body, table)[()]
    for k in (1, 3):
        hits = skm.top_k_accuracy_score(y, p, k=k, sample_weight=w, labels=range(K))
        # single-label: recall@k is the top-k accuracy, precision@k the hits over k per example
        assert overall[key("recall", SubKey(top_k=k))] == pytest.approx(hits, abs=1e-12)
        assert overall[key("precision", SubKey(top_k=k))] == pytest.approx(hits / k, abs=1e-12)


def test_metric_config_class_id_and_top_k_set_the_sub_key():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "Recall" config: \'"class_id": 2\' } '
            'metrics { class_name: "Precision" config: \'"top_k": 2\' } }')
    overall = run(body, table)[()]
    assert overall[key("recall", SubKey(class_id=2))] == pytest.approx(
        skm.recall_score(y == 2, p[:, 2] > 0.5, sample_weight=w), abs=1e-12)
    assert overall[key("precision", SubKey(top_k=2))] == pytest.approx(
        skm.top_k_accuracy_score(y, p, k=2, sample_weight=w) / 2, abs=1e-12)


@pytest.mark.parametrize("kind, average", [("macro_average", "macro"),
                                           ("weighted_macro_average", "weighted")])
def test_macro_averages_match_scikit_learn(kind, average):
    table, y, p, w = make_table()
    weights = " ".join(f"class_weights {{ key: {c} value: 1 }}" for c in range(K))
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            f'metrics {{ class_name: "AUC" }} aggregate {{ {kind}: true {weights} }} }}')
    overall = run(body, table)[()]
    Y, P = np.eye(K)[y], p
    predicted = (P > 0.5).astype(int)
    assert overall[key("precision", aggregation=kind)] == pytest.approx(
        skm.precision_score(Y, predicted, average=average, sample_weight=w), abs=1e-12)
    assert overall[key("recall", aggregation=kind)] == pytest.approx(
        skm.recall_score(Y, predicted, average=average, sample_weight=w), abs=1e-12)
    assert overall[key("auc", aggregation=kind)] == pytest.approx(
        skm.roc_auc_score(Y, P, average=average, sample_weight=w), abs=2e-4)
    assert not any(k.sub_key for k in overall)  # per-class values are not written unless binarized


def test_macro_average_with_class_weights_and_binarized_classes():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "Recall" } binarize { class_ids { values: [0, 2] } } '
            'aggregate { macro_average: true class_weights { key: 0 value: 1 } '
            'class_weights { key: 2 value: 3 } } }')
    overall = run(body, table)[()]
    r0 = skm.recall_score(y == 0, p[:, 0] > 0.5, sample_weight=w)
    r2 = skm.recall_score(y == 2, p[:, 2] > 0.5, sample_weight=w)
    assert overall[key("recall", SubKey(class_id=0))] == pytest.approx(r0, abs=1e-12)
    assert overall[key("recall", aggregation="macro_average")] == pytest.approx(
        (r0 + 3 * r2) / 4, abs=1e-12)


def test_micro_average_pools_every_class():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "AUC" } '
            'metrics { class_name: "BinaryAccuracy" } aggregate { micro_average: true } }')
    overall = run(body, table)[()]
    Y = np.eye(K)[y]
    assert overall[key("precision", aggregation="micro_average")] == pytest.approx(
        skm.precision_score(Y, (p > 0.5).astype(int), average="micro", sample_weight=w), abs=1e-12)
    assert overall[key("auc", aggregation="micro_average")] == pytest.approx(
        skm.roc_auc_score(Y, p, average="micro", sample_weight=w), abs=2e-4)
    flat_w = np.repeat(w, K)
    assert overall[key("binary_accuracy", aggregation="micro_average")] == pytest.approx(
        np.average(Y.ravel() == (p.ravel() > 0.5), weights=flat_w), abs=1e-12)


def test_micro_average_class_weights_weigh_each_class():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "MeanLabel" } aggregate { micro_average: true '
            'class_weights { key: 1 value: 2 } class_weights { key: 4 value: 0.5 } } }')
    overall = run(body, table)[()]
    cw = np.array([0, 2, 0, 0, 0.5])
    expected = (w[:, None] * cw * np.eye(K)[y]).sum() / (w[:, None] * cw).sum()
    assert overall[key("mean_label", aggregation="micro_average")] == pytest.approx(expected, abs=1e-12)


def test_score_vector_metrics_match_scikit_learn():
    table, y, p, w = make_table()
    body = ('metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" } '
            'metrics { class_name: "CategoricalAccuracy" } '
            'metrics { class_name: "TopKAccuracy" config: \'"k": 3\' } '
            'metrics { class_name: "SparseCategoricalCrossentropy" } '
            'metrics { class_name: "CategoricalCrossentropy" } }')
    by_slice = run(body, table)
    for slice_key, values in by_slice.items():
        rows = np.ones(len(y), bool) if not slice_key else \
            table.column("country").to_numpy(zero_copy_only=False) == slice_key[0][1]
        ys, ps, ws = y[rows], p[rows], w[rows]
        accuracy = skm.accuracy_score(ys, ps.argmax(axis=1), sample_weight=ws)
        assert values[key("sparse_categorical_accuracy")] == pytest.approx(accuracy, abs=1e-12)
        assert values[key("categorical_accuracy")] == pytest.approx(accuracy, abs=1e-12)
        assert values[key("top_k_accuracy")] == pytest.approx(
            skm.top_k_accuracy_score(ys, ps, k=3, sample_weight=ws, labels=range(K)), abs=1e-12)
        loss = skm.log_loss(ys, ps / ps.sum(axis=1, keepdims=True), sample_weight=ws, labels=range(K))
        assert values[key("sparse_categorical_crossentropy")] == pytest.approx(loss, rel=1e-6)
        assert values[key("categorical_crossentropy")] == pytest.approx(loss, rel=1e-6)


def test_score_vector_metrics_on_a_binary_output_read_p_as_two_classes():
    from conftest import make_table as binary_table
    table = binary_table()
    body = ('model_specs { label_key: "label" prediction_key: "prediction" }\n'
            'metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" } '
            'metrics { class_name: "BinaryAccuracy" } }')
    eval_plan = resolve_config(parse_config(body))
    fn = FusedCombineFn(eval_plan)
    acc = fn.create_accumulator()
    for batch in table.to_batches(1000):
        fn.add_input(acc, batch_partials(batch, eval_plan)[1][0][1])
    (result,), _ = slice_results(acc, eval_plan)
    y = table.column("label").to_numpy()
    p = table.column("prediction").to_numpy().astype(np.float64)
    expected = np.mean((p > 0.5) == y)  # argmax of [1-p, p] (first on ties) is p > 0.5
    assert result.metrics[MetricKey("sparse_categorical_accuracy")] == pytest.approx(expected)
    assert result.metrics[MetricKey("binary_accuracy")] == pytest.approx(expected)


def test_multi_hot_labels_binarize_per_class():
    rng = np.random.default_rng(3)
    n = 2000
    Y = (rng.random((n, K)) < 0.3).astype(np.int64)
    P = np.clip(0.6 * Y + rng.random((n, K)) * 0.6, 0, 1)
    table = pa.table({"label": pa.array(list(Y)), "scores": pa.array(list(P)),
                      "weight": np.ones(n), "country": ["us"] * n})
    body = ('metrics_specs { metrics { class_name: "Precision" } metrics { class_name: "Recall" } '
            'binarize { class_ids { values: [0, 4] } } aggregate { micro_average: true } }')
    overall = run(body, table)[()]
    for c in (0, 4):
        assert overall[key("precision", SubKey(class_id=c))] == pytest.approx(
            skm.precision_score(Y[:, c], P[:, c] > 0.5), abs=1e-12)
    assert overall[key("recall", aggregation="micro_average")] == pytest.approx(
        skm.recall_score(Y, (P > 0.5).astype(int), average="micro"), abs=1e-12)


@pytest.mark.parametrize("label, scores, body, match", [
    ([1, 7], [[0.5, 0.5], [0.2, 0.8]], "", r"2 label\(s\) that are not class ids 0..1|1 label\(s\) that are not class ids 0..1"),
    ([0, 1], [[0.5, 0.5], [0.2, 0.3, 0.5]], "", "lists of different lengths"),
    ([[1, 0, 0], [0, 1, 0]], [[0.5, 0.5], [0.2, 0.8]], "", "vectors of 3 but .* vectors of 2"),
    ([0, 1], [[0.5, 0.5], [0.2, 0.8]], "binarize { class_ids { values: 4 } }",
     "has 2 class scores, but the configured class ids / k need 5"),
    ([0, 1], [[0.5, None], [0.2, 0.8]], "", "null value"),
])
def test_bad_class_data_is_a_one_line_input_error(label, scores, body, match):
    table = pa.table({"label": label, "scores": scores, "weight": [1.0, 1.0]})
    eval_plan = resolve_config(parse_config(BASE + 'metrics_specs { metrics { class_name: "Recall" } '
                                     + body + ' }'))
    with pytest.raises(InputError, match=match) as info:
        batch_partials(table.to_batches()[0], eval_plan)
    assert "\n" not in str(info.value)


def test_jackknife_of_a_pooled_view_leaves_out_whole_examples():
    from evalbeam.extract import extract
    table, y, p, w = make_table(n=600)
    table = table.combine_chunks()
    body = ('metrics_specs { metrics { class_name: "MeanLabel" } metrics { class_name: "Recall" } '
            'aggregate { micro_average: true class_weights { key: 0 value: 1 } '
            'class_weights { key: 1 value: 2 } } }\n'
            'options { compute_confidence_intervals { value: true } }')
    eval_plan = resolve_config(parse_config(BASE + body))
    batch = table.to_batches()[0]
    (result,) = first_spec_results(eval_plan, [batch])
    part = eval_plan.resampling.partitions(next(iter(extract(batch, eval_plan).streams.values())))
    Y, cw = np.eye(K)[y], np.array([1.0, 2.0, 0, 0, 0])
    stats = {"mean_label": lambda m: (w[m, None] * cw * Y[m]).sum() / (w[m, None] * cw).sum(),
             "recall": lambda m: (w[m, None] * cw * Y[m] * (p[m] > 0.5)).sum()
             / (w[m, None] * cw * Y[m]).sum()}
    R = 20
    for name, stat in stats.items():
        theta = stat(np.ones(len(y), bool))
        theta_i = np.array([stat(part != i) for i in range(R)])
        se = (R * theta - (R - 1) * theta_i).std(ddof=1) / np.sqrt(R)
        k = key(name, aggregation="micro_average")
        assert result.metrics[k] == pytest.approx(theta, abs=1e-12)
        assert result.intervals[k][2] == pytest.approx(se, rel=1e-9)


def test_score_vectors_read_from_tf_examples(tmp_path):
    from evalbeam.api import run_evaluation
    from helpers_io import write_tfrecord
    rng = np.random.default_rng(5)
    y, p = rng.integers(0, 3, 400), rng.dirichlet([1, 1, 1], 400)
    path = str(tmp_path / "data.tfrecord")
    write_tfrecord(pa.table({"label": y, "scores": [list(map(float, r)) for r in p]}), path)
    config = ('model_specs { label_key: "label" prediction_key: "scores" }\n'
              'metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" } '
              'metrics { class_name: "TopKAccuracy" config: \'"k": 2\' } }')
    metrics = run_evaluation(config, path, str(tmp_path / "out")).metrics[()]
    p32 = p.astype(np.float32)  # tf.Example floats are float32
    assert metrics[MetricKey("sparse_categorical_accuracy")] == pytest.approx(
        skm.accuracy_score(y, p32.argmax(axis=1)))
    assert metrics[MetricKey("top_k_accuracy")] == pytest.approx(
        skm.top_k_accuracy_score(y, p32, k=2))


@pytest.mark.parametrize("scores_type", [pa.list_(pa.float64()), pa.list_(pa.float64(), 3)])
def test_a_batch_whose_rows_are_all_dropped_adds_nothing(scores_type):
    body = ('metrics_specs { metrics { class_name: "SparseCategoricalAccuracy" } '
            'metrics { class_name: "MultiClassConfusionMatrixPlot" } '
            'metrics { class_name: "MultiLabelConfusionMatrixPlot" } }'
            'metrics_specs { metrics { class_name: "AUC" } metrics { class_name: "Precision" } '
            'binarize { class_ids { values: [0, 2] } k_list { values: 1 } top_k_list { values: 2 } } '
            'aggregate { macro_average: true } }'
            'metrics_specs { metrics { class_name: "Recall" } aggregate { micro_average: true } }')
    dropped = pa.table({"label": pa.array([None, None], pa.int64()), "weight": [1.0, 1.0],
                        "scores": pa.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], scores_type)})
    kept = pa.table({"label": [2], "weight": [1.0], "scores": pa.array([[0.1, 0.2, 0.7]], scores_type)})
    overall = run(body, dropped.to_batches() + kept.to_batches())[()]
    assert overall[key("sparse_categorical_accuracy")] == 1.0
    assert overall[key("recall", aggregation="micro_average")] == 1.0


def test_class_views_of_many_classes_are_made_part_by_part(monkeypatch):
    from evalbeam import preagg
    table, y, p, w = make_table(n=3000)
    label = table.column("label").to_numpy().astype(object)
    label[::7] = None  # dropped rows are counted once
    table = table.set_column(table.schema.get_field_index("label"), "label",
                             pa.array(list(label), pa.int64()))
    body = ('metrics_specs { metrics { class_name: "Recall" } metrics { class_name: "AUC" } '
            'binarize { class_ids { values: [1] } top_k_list { values: 2 } } '
            'aggregate { micro_average: true } }\n'
            'slicing_specs {} slicing_specs { feature_keys: ["country"] }')
    eval_plan = resolve_config(parse_config(BASE + body))
    batches = table.to_batches(max_chunksize=1000)
    whole = accumulate(eval_plan, batches)
    monkeypatch.setattr(preagg, "MAX_VIEW_ENTRIES", 700)  # pooled views of 5 classes, one class
    calls = []
    in_parts = preagg._in_parts
    monkeypatch.setattr(preagg, "_in_parts", lambda *a: calls.append(a[2]) or in_parts(*a))
    parts = accumulate(eval_plan, batches)
    assert calls and max(calls) >= 2
    assert parts[0].tally == whole[0].tally and whole[0].tally["dropped:null label ('label')"] == 429
    for index, table in whole.items():
        want = {r.slice_key: r.metrics for r in slice_results(table, eval_plan)[0]}
        got = {r.slice_key: r.metrics for r in slice_results(parts[index], eval_plan)[0]}
        assert got.keys() == want.keys()
        for slice_key, metrics in want.items():
            assert got[slice_key] == pytest.approx(metrics, rel=1e-12)
