"""Rows dropped for every reason, with values that would stop the run hidden among them, and
the row accounting they must give, counted by hand.

A row is dropped once, for the first of its null columns in config order: each model's label,
prediction and weight, then the query column. Of the rows of ``partitioning_cases.table()``
taken in a random order ``idx``:

- ``idx[0:40]``   null label (``idx[0:5]`` also a NaN prediction, ``idx[5:10]`` a baseline
  prediction of 2.0)                                   -> null label: 40
- ``idx[30:60]``  null prediction (``idx[40:45]`` also a weight of -1)
                                                       -> null prediction ('prediction'): 20
- ``idx[55:80]``  null weight (``idx[60:65]`` also a label of 7)     -> null weight: 20
- ``idx[75:95]``  null baseline prediction (``idx[80:85]`` also a NaN weight)
                                                       -> null prediction ('p_base'): 15
- ``idx[90:100]`` null query (with query metrics)      -> null query_key: 5
- ``idx[98:130]`` null country (not dropped: in no slice of [country]) -> 30 of the rows used
  (32 without query metrics)
"""
import numpy as np
import pyarrow as pa

from partitioning_cases import N, table

ROWS = """
model_specs { name: "cand" label_key: "label" prediction_key: "prediction"
              example_weight_key: "weight" }
model_specs { name: "base" label_key: "label" prediction_key: "p_base" is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "AUC" }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
QUERIES = ROWS + """
metrics_specs {
  query_key: "qid" example_weights { unweighted: true }
  metrics { class_name: "NDCG" config: '"gain_key": "gain", "top_k_list": [3]' }
}
"""
CONFIGS = {"rows": ROWS, "queries": QUERIES}

# by config: rows dropped by reason, rows used in no slice of [country]
DROPPED = {"rows": {"null label ('label')": 40, "null prediction ('prediction')": 20,
                    "null weight ('weight')": 20, "null prediction ('p_base')": 15}}
DROPPED["queries"] = {**DROPPED["rows"], "null query_key ('qid')": 5}
NULL_COUNTRY_USED = {"rows": 32, "queries": 30}


def _with_nulls(column, null_rows, bad_rows=(), bad_value=None):
    values = column.to_numpy(zero_copy_only=False).copy()
    if bad_value is not None:
        values[list(bad_rows)] = bad_value
    mask = np.zeros(len(values), bool)
    mask[list(null_rows)] = True
    return pa.array(values, mask=mask)


def data() -> tuple:
    """``(table, idx)``: the table with its nulls and bad values, and the row order the
    module's docstring speaks of."""
    t = table()
    idx = np.random.default_rng(41).permutation(N)
    changes = {
        "label": _with_nulls(t["label"], idx[0:40], idx[60:65], 7),
        "prediction": _with_nulls(t["prediction"], idx[30:60], idx[0:5], np.nan),
        "weight": _with_nulls(t["weight"], idx[55:80], np.r_[idx[40:45], idx[80:85]],
                              np.array([-1.0] * 5 + [np.nan] * 5)),
        "p_base": _with_nulls(t["p_base"], idx[75:95], idx[5:10], 2.0),
        "qid": _with_nulls(t["qid"], idx[90:100]),
        "country": _with_nulls(t["country"], idx[98:130]),
    }
    for name, column in changes.items():
        t = t.set_column(t.schema.get_field_index(name), name, column)
    return t, idx


def used_rows(config: str, idx: np.ndarray) -> np.ndarray:
    """The mask of the rows a run of ``CONFIGS[config]`` uses."""
    used = np.ones(N, bool)
    used[idx[:100 if config == "queries" else 95]] = False
    return used


def expected_accounting(config: str) -> dict:
    """summary.json's row accounting of a run of ``CONFIGS[config]`` on :func:`data`."""
    return {"rows_read": N, "rows_used": N - sum(DROPPED[config].values()),
            "rows_dropped": DROPPED[config],
            "rows_with_null_slicing_feature": [0, NULL_COUNTRY_USED[config]]}


def accounting(summary: dict) -> dict:
    """The row accounting of a summary.json."""
    return {"rows_read": summary["rows_read"], "rows_used": summary["rows_used"],
            "rows_dropped": summary["rows_dropped"],
            "rows_with_null_slicing_feature": [s["rows_with_null_slicing_feature"]
                                               for s in summary["specs"]]}
