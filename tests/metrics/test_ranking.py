"""Query metrics against references written here: NDCG against scikit-learn's ndcg_score per
query, the others against plain per-query Python over the documents; grouping of a query's
documents across batches (in process) and across Parquet files (through Beam)."""
import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import ndcg_score

from conftest import BASE, evaluate_in_process, plan, split_batches
from evalbeam import run_evaluation
from evalbeam.errors import ConfigError, InputError
from evalbeam.preagg import batch_partials
from evalbeam.queries import QUERY_BUCKETS, query_bucket
from helpers_io import write

KS = (1, 3, 5)
QUERY_SPEC = """metrics_specs {
  query_key: "qid" binarize { top_k_list { values: [1, 3] } }
  metrics { class_name: "NDCG" config: '"gain_key": "gain", "top_k_list": [5]' }
  metrics { class_name: "MinLabelPosition" }
  metrics { class_name: "QueryStatistics" }
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "PrecisionAtK" config: '"top_k_list": [5]' }
  metrics { class_name: "RecallAtK" config: '"top_k_list": [5]' }
}
"""
SLICES = 'slicing_specs {} slicing_specs { feature_keys: ["market"] } ' \
         'slicing_specs { feature_keys: ["device"] }'


def make_queries(n_queries=300, seed=0):
    """Queries of 1..12 documents, rows shuffled so a query's documents are spread out.
    ``market`` is the same for all documents of a query, ``device`` varies within one."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, n_queries)
    qid = np.repeat(np.arange(n_queries), sizes)
    n = len(qid)
    gain = rng.integers(0, 4, n).astype(float)
    gain[np.isin(qid, rng.choice(n_queries, 20, replace=False))] = 0.0  # queries without gain
    weight = rng.choice([0.5, 1.0, 2.0], n_queries)[qid]
    market = rng.choice(["us", "de", "fr"], n_queries)[qid]
    order = rng.permutation(n)
    return pa.table({
        "qid": pa.array([f"q{q}" for q in qid[order]]),
        "label": (gain[order] >= 2).astype(np.int64),
        "prediction": rng.random(n),  # continuous: no ties
        "weight": weight[order],
        "gain": gain[order],
        "market": market[order],
        "device": rng.choice(["mobile", "desktop"], n),
    })


def reference(table, weighted=True):
    """{slice key: {name: value}}, a query in every slice one of its documents is in."""
    cols = {c: np.array(table.column(c).to_pylist()) for c in table.column_names}
    queries = {}
    for i, q in enumerate(cols["qid"]):
        queries.setdefault(q, []).append(i)
    members = {}
    for q, rows in queries.items():
        members.setdefault((), []).append(q)
        for feature in ("market", "device"):
            for value in sorted(set(cols[feature][rows])):
                members.setdefault(((feature, value),), []).append(q)
    out = {}
    for key, qs in members.items():
        sums = {}

        def add(name, value, w):
            num, den = sums.get(name, (0.0, 0.0))
            sums[name] = (num + w * value, den + w)

        docs, sizes = [], []
        for q in qs:
            rows = queries[q]
            w = cols["weight"][rows[0]] if weighted else 1.0
            p, g, y = cols["prediction"][rows], cols["gain"][rows], cols["label"][rows]
            ranked = np.argsort(-p)
            for k in KS:
                if g.max() > 0:  # sklearn refuses one document; its NDCG is then 1
                    add(f"ndcg/topK:{k}", ndcg_score([g], [p], k=k) if len(rows) > 1 else 1.0, w)
                hits = (y[ranked][:k] > 0).sum()
                add(f"precision_at_k/topK:{k}", hits / k, w)
                if y.sum() > 0:
                    add(f"recall_at_k/topK:{k}", hits / (y > 0).sum(), w)
            if (y > 0).any():
                add("min_label_position", np.flatnonzero(y[ranked] > 0)[0] + 1, w)
            docs.append(len(rows) * w)
            sizes.append(w)
        values = {name: num / den for name, (num, den) in sums.items()}
        values.update(example_count=sum(sizes), total_queries=sum(sizes),
                      total_documents=sum(docs), min_documents=min(docs),
                      max_documents=max(docs))
        out[key] = values
    return out


def assert_matches(got, want):
    assert got.keys() == want.keys()
    for key, values in want.items():
        names = {n: v for n, v in got[key].items() if n.split("/")[0] != "recall_at_k"
                 or n in values}
        for name, value in values.items():
            assert names[name] == pytest.approx(value, rel=1e-12), (key, name)
        for name in set(got[key]) - set(values):  # recall where no query has a relevant doc
            assert math.isnan(got[key][name]), (key, name)


@pytest.fixture(scope="module")
def queries():
    return make_queries()


@pytest.mark.parametrize("sizes_seed", [0, 1])
def test_query_metrics_match_references_however_batches_split(queries, sizes_seed):
    metrics, _, _ = evaluate_in_process(plan(QUERY_SPEC + SLICES),
                                        split_batches(queries, sizes_seed=sizes_seed))
    assert_matches(metrics, reference(queries))


def test_unweighted_queries_count_once(queries):
    body = QUERY_SPEC.replace('query_key: "qid"',
                              'query_key: "qid" example_weights { unweighted: true }')
    metrics, _, _ = evaluate_in_process(plan(body + SLICES), split_batches(queries, size=97))
    want = reference(queries, weighted=False)
    got = {k: {n[: -len("/unweighted")]: v for n, v in m.items()} for k, m in metrics.items()}
    assert_matches(got, want)
    assert got[()]["example_count"] == 300


def test_queries_split_across_parquet_files(tmp_path, queries):
    half = queries.num_rows // 2
    files = [write(queries.slice(0, half), str(tmp_path / "a.parquet")),
             write(queries.slice(half), str(tmp_path / "b.parquet"))]
    result = run_evaluation(BASE + QUERY_SPEC + SLICES, files, str(tmp_path / "out"),
                            batch_size=101)
    got = {key: {m.name + (f"/{m.sub_key}" if m.sub_key else ""): v for m, v in ms.items()}
           for key, ms in result.metrics.items()}
    assert_matches(got, reference(queries))


def test_ndcg_worked_example_and_zero_gain_rules():
    # query a ranks gains [0, 1, 2] (ideal [2, 1, 0]); b has no positive gain (left out);
    # c has one document
    t = pa.table({"qid": [1, 1, 1, 2, 2, 3], "label": [0, 1, 1, 0, 0, 1],
                  "prediction": [0.9, 0.5, 0.1, 0.3, 0.2, 0.7],
                  "weight": [1.0, 1, 1, 2, 2, 1], "gain": [0.0, 1, 2, 0, 0, 3]})
    body = 'metrics_specs { query_key: "qid" metrics { class_name: "NDCG" ' \
           'config: \'"gain_key": "gain", "top_k_list": [1, 2]\' } }'
    got = evaluate_in_process(plan(body), t.to_batches())[0][()]
    a2 = (1 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert got["ndcg/topK:1"] == pytest.approx((0 * 1 + 1 * 1) / 2)
    assert got["ndcg/topK:2"] == pytest.approx((a2 + 1) / 2)


def test_ties_rank_the_less_relevant_document_first():
    # equal predictions: whatever the row order, the tie puts the relevant document second
    for labels in ([1, 0], [0, 1]):
        t = pa.table({"qid": ["q", "q"], "label": labels, "prediction": [0.5, 0.5],
                      "weight": [1.0, 1.0], "gain": [float(v) for v in labels]})
        body = 'metrics_specs { query_key: "qid" metrics { class_name: "MinLabelPosition" } ' \
               'metrics { class_name: "NDCG" config: \'"gain_key": "gain", "top_k_list": [1]\' } }'
        got = evaluate_in_process(plan(body), t.to_batches())[0][()]
        assert got["min_label_position"] == 2.0 and got["ndcg/topK:1"] == 0.0


def test_min_label_position_reads_label_key_and_is_nan_without_labels():
    t = pa.table({"qid": [1, 1, 1], "label": [0, 0, 0], "clicked": [0, 0, 1],
                  "prediction": [0.9, 0.5, 0.1], "weight": [1.0] * 3})
    body = 'metrics_specs { query_key: "qid" metrics { class_name: "MinLabelPosition" } ' \
           'metrics { class_name: "MinLabelPosition" config: \'"name": "first_click", ' \
           '"label_key": "clicked"\' } }'
    got = evaluate_in_process(plan(body), t.to_batches())[0][()]
    assert math.isnan(got["min_label_position"]) and got["first_click"] == 3.0


def test_query_statistics_names_and_min_slice_size_counts_queries():
    t = pa.table({"qid": [1, 1, 2, 3, 3, 3], "label": [0] * 6, "prediction": [0.1] * 6,
                  "weight": [2.0, 2, 1, 1, 1, 1], "market": ["us", "us", "us", "de", "de", "de"]})
    body = ('metrics_specs { query_key: "qid" metrics { class_name: "QueryStatistics" '
            'config: \'"total_queries_name": "queries"\' } }\n'
            'slicing_specs {} slicing_specs { feature_keys: ["market"] } '
            'options { min_slice_size { value: 2 } }')
    metrics, _, omitted = evaluate_in_process(plan(body), split_batches(t, size=1))
    assert metrics[()] == {"queries": 4.0, "total_documents": 4 + 1 + 3,
                           "min_documents": 1.0, "max_documents": 4.0}
    assert omitted == [(("market", "de"),)]  # one query (three documents) < 2


def test_null_queries_are_dropped_and_counted():
    t = pa.table({"qid": ["a", None, "a"], "label": [1, 1, 0], "prediction": [0.2, 0.9, 0.8],
                  "weight": [1.0] * 3})
    eval_plan = plan('metrics_specs { query_key: "qid" metrics { class_name: "MinLabelPosition" } }')
    extracted, _ = batch_partials(t.to_batches()[0], eval_plan)
    assert extracted.dropped == {"null query_key ('qid')": 1}
    assert evaluate_in_process(eval_plan, t.to_batches())[0][()]["min_label_position"] == 2.0


def test_query_bucket_is_a_function_of_the_value():
    values = pa.array(["alpha", "", "beta", "q17", "alpha"])
    buckets = query_bucket(values)
    assert buckets[0] == buckets[4]
    assert (query_bucket(values.slice(2)) == buckets[2:]).all()  # offsets into shared buffers
    assert (query_bucket(pa.array(["q17", "beta"], pa.large_string())) == buckets[[3, 2]]).all()
    spread = np.bincount(query_bucket(pa.array(np.arange(10000))), minlength=QUERY_BUCKETS)
    assert spread.min() > 100


@pytest.mark.parametrize("body, message", [
    ('metrics_specs { metrics { class_name: "NDCG" config: \'"gain_key": "g", "top_k_list": [1]\' } }',
     "NDCG ranks the documents of a query; set query_key"),
    ('metrics_specs { query_key: "qid" metrics { class_name: "AUC" } }',
     "AUC is not computed per query"),
    ('metrics_specs { query_key: "qid" metrics { class_name: "NDCG" config: \'"top_k_list": [1]\' } }',
     r"NDCG\): gain_key is required: a non-empty string$"),
    ('metrics_specs { query_key: "qid" metrics { class_name: "NDCG" config: \'"gain_key": "g"\' } }',
     "top_k values are required"),
    ('metrics_specs { query_key: "qid" metrics { class_name: "PrecisionAtK" '
     'config: \'"top_k_list": [0]\' } }', "top_k_list must be a list of whole numbers of at least 1, got \\[0\\]"),
    ('metrics_specs { query_key: "qid" binarize { top_k_list { values: 3 } } '
     'metrics { class_name: "PrecisionAtK" config: \'"top_k_list": 5\' } }',
     r"PrecisionAtK\): top_k_list must be a list of whole numbers of at least 1, got 5$"),
    ('metrics_specs { query_key: "q" binarize { class_ids { values: 1 } } '
     'metrics { class_name: "MinLabelPosition" } }', "with query_key, binarize takes top_k_list only"),
    ('metrics_specs { query_key: "q" aggregate { micro_average: true } '
     'metrics { class_name: "MinLabelPosition" } }', "does not apply to query metrics"),
    ('metrics_specs { query_key: "a" metrics { class_name: "MinLabelPosition" } } '
     'metrics_specs { query_key: "b" metrics { class_name: "QueryStatistics" } }',
     "one query column per evaluation"),
])
def test_config_errors(body, message):
    with pytest.raises(ConfigError, match=message):
        plan(body)


def test_data_errors_name_file_and_column(tmp_path):
    t = pa.table({"qid": [1, 1, 2], "label": [1, 0, 1], "prediction": [0.3, 0.2, 0.1],
                  "weight": [1.0, 2.0, 1.0], "gain": [1.0, 0.0, 1.0]})
    path = write(t, str(tmp_path / "d.parquet"))
    ndcg = 'metrics_specs { query_key: "%s" metrics { class_name: "NDCG" ' \
           'config: \'"gain_key": "%s", "top_k_list": [1]\' } }'
    with pytest.raises(InputError, match=r"d.parquet: no column 'query' \(query_key\)"):
        run_evaluation(BASE + ndcg % ("query", "gain"), path, str(tmp_path / "o1"))
    with pytest.raises(InputError, match=r"d.parquet: no column 'gains' \(read by a query metric"):
        run_evaluation(BASE + ndcg % ("qid", "gains"), path, str(tmp_path / "o2"))
    with pytest.raises(InputError, match=r"d.parquet: query 1 \(query_key 'qid'\) has documents "
                                         r"with different weights in column 'weight'"):
        run_evaluation(BASE + ndcg % ("qid", "gain"), path, str(tmp_path / "o3"))


def test_row_and_query_metrics_in_one_config(queries):
    body = ('metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }\n'
            + QUERY_SPEC.replace('metrics { class_name: "ExampleCount" }', "") + SLICES)
    metrics, _, _ = evaluate_in_process(plan(body), split_batches(queries, sizes_seed=3))
    want = reference(queries)
    for key, values in want.items():
        for name in ("ndcg/topK:3", "min_label_position", "total_queries"):
            assert metrics[key][name] == pytest.approx(values[name], rel=1e-12)
    assert metrics[()]["example_count"] == pytest.approx(queries.column("weight").to_numpy().sum())


def test_no_queries_gives_empty_statistics(tmp_path):
    empty = pa.table({"qid": pa.array([], pa.string()), "label": pa.array([], pa.int64()),
                      "prediction": pa.array([], pa.float64()),
                      "weight": pa.array([], pa.float64())})
    body = 'metrics_specs { query_key: "qid" metrics { class_name: "QueryStatistics" } ' \
           'metrics { class_name: "MinLabelPosition" } }'
    result = run_evaluation(BASE + body, empty, str(tmp_path / "out"))
    got = {k.name: v for k, v in result.metrics[()].items()}
    assert got["total_queries"] == 0 and got["total_documents"] == 0
    assert all(math.isnan(got[n]) for n in ("min_documents", "max_documents",
                                            "min_label_position"))


def test_a_threshold_checks_every_k(tmp_path):
    t = pa.table({"qid": [1, 1, 2, 2], "label": [0, 1, 1, 0], "prediction": [0.9, 0.1, 0.8, 0.2],
                  "weight": [1.0] * 4})
    body = ('metrics_specs { query_key: "qid" metrics { class_name: "PrecisionAtK" '
            'config: \'"top_k_list": [1, 2]\' '
            'threshold { value_threshold { lower_bound { value: 0.4 } } } } }')
    result = run_evaluation(BASE + body, t, str(tmp_path / "out"))
    # precision@1 = (0 + 1) / 2 and precision@2 = (1/2 + 1/2) / 2: both 0.5
    assert result.validation.validation_ok
    strict = body.replace("0.4", "0.6")
    result = run_evaluation(BASE + strict, t, str(tmp_path / "out2"))
    failed = sorted(f.metric_key.sub_key.top_k.value for s in
                    result.validation.metric_validations_per_slice for f in s.failures)
    assert failed == [1, 2]


def test_gains_must_be_present_and_finite():
    body = 'metrics_specs { query_key: "qid" metrics { class_name: "NDCG" ' \
           'config: \'"gain_key": "gain", "top_k_list": [1]\' } }'
    for gains, problem in (([1.0, None], "1 null value"), ([1.0, float("nan")], "1 NaN or infinite")):
        t = pa.table({"qid": [1, 1], "label": [1, 0], "prediction": [0.3, 0.2],
                      "weight": [1.0, 1.0], "gain": pa.array(gains, pa.float64())})
        with pytest.raises(InputError, match=rf"column 'gain' \(read by a query metric\) has {problem}"):
            evaluate_in_process(plan(body), t.to_batches())


@pytest.mark.parametrize("method", ["JACKKNIFE", "POISSON_BOOTSTRAP"])
def test_query_metric_intervals_resample_whole_queries_whatever_the_batching(queries, method):
    from conftest import first_spec_results
    from evalbeam.hashing import value_hashes
    from evalbeam.arrays import QueryArrays
    body = ('metrics_specs { query_key: "qid" metrics { class_name: "PrecisionAtK" '
            'config: \'"top_k_list": [3]\' } metrics { class_name: "MinLabelPosition" } }\n'
            'options { compute_confidence_intervals { value: true } confidence_intervals { '
            f'method: {method} }} }}')
    eval_plan = plan(body)
    runs = [first_spec_results(eval_plan, split_batches(queries, sizes_seed=s))[0]
            for s in (1, 2)]
    assert len(runs[0].intervals) == 2
    for k in runs[0].intervals:  # the draws follow the query values: batching changes nothing
        assert runs[0].intervals[k] == pytest.approx(runs[1].intervals[k], rel=1e-12)
    if method != "JACKKNIFE":
        return
    # the textbook grouped jackknife, each query in the partition drawn from its value
    cols = {c: np.array(queries.column(c).to_pylist()) for c in ("qid", "label", "prediction",
                                                                  "weight")}
    ids = sorted(set(cols["qid"]))
    precision, weight = [], []
    for q in ids:
        rows = cols["qid"] == q
        ranked = cols["label"][rows][np.argsort(-cols["prediction"][rows])]
        precision.append((ranked[:3] > 0).sum() / 3)
        weight.append(cols["weight"][rows][0])
    precision, weight = np.array(precision), np.array(weight)
    hashes = value_hashes(pa.array(ids))
    R = 20
    part = QueryArrays(None, None, np.ones(len(ids)), weight, None, hashes).draws(1, R, (len(ids),))
    theta = np.average(precision, weights=weight)
    theta_i = np.array([np.average(precision[part != i], weights=weight[part != i])
                        for i in range(R)])
    se = (R * theta - (R - 1) * theta_i).std(ddof=1) / np.sqrt(R)
    (key,) = [k for k in runs[0].metrics if k.name == "precision_at_k"]
    assert runs[0].metrics[key] == pytest.approx(theta, rel=1e-12)
    assert runs[0].intervals[key][2] == pytest.approx(se, rel=1e-9)
