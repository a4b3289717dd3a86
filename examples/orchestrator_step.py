#!/usr/bin/env python3
"""evalbeam as the Evaluator step of a deployment pipeline, from plain Python.

Each step is a function an orchestrator (Airflow, Kubeflow, a cron job ...) would call. The
evaluator compares the new model with the production model's last evaluation, which it reuses
instead of re-evaluating production, and the push step reads only the BLESSED marker.

usage: python examples/orchestrator_step.py [WORKDIR]
"""
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evalbeam import evaluate_and_bless

GATE = """
model_specs { name: "production" label_key: "label" prediction_key: "p_production" is_baseline: true }
model_specs { name: "candidate" label_key: "label" prediction_key: "p_candidate" }
metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "AUC"
            threshold { value_threshold { lower_bound { value: 0.7 } }
                        # with a baseline result (no resamples of the baseline) the point
                        # value decides; a failure says so
                        change_threshold { direction: HIGHER_IS_BETTER absolute { value: -0.01 }
                                           require_significance: true } } }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
options { compute_confidence_intervals { value: true } }
"""
PRODUCTION_ONLY = """
model_specs { label_key: "label" prediction_key: "p_production" }
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" } }
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
"""


def make_data(path, n=20_000, seed=0):
    """Labels, the production model's and a slightly better candidate's scores."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    signal = label + rng.normal(0, 1.0, n)
    pq.write_table(pa.table({
        "label": label,
        "p_production": 1 / (1 + np.exp(-signal)),
        "p_candidate": 1 / (1 + np.exp(-(signal + 0.3 * label))),
        "country": rng.choice(["us", "de", "fr"], n),
    }), path)


def evaluate_production(data, runs):
    """Yesterday's run: the production model's evaluation, kept as the next baseline."""
    evaluate_and_bless(data, PRODUCTION_ONLY, os.path.join(runs, "production"))
    return os.path.join(runs, "production")


def evaluator_step(data, runs, last_production_evaluation):
    """Today's Evaluator: is the candidate at least as good as production, on every slice?"""
    return evaluate_and_bless(data, GATE, os.path.join(runs, "candidate"),
                              baseline_result=last_production_evaluation)


def push_step(runs):
    """The pusher needs no evalbeam: it reads the marker."""
    blessed = os.path.exists(os.path.join(runs, "candidate", "BLESSED"))
    print("pushing the candidate" if blessed else "keeping production: the candidate is not blessed")
    return blessed


def main(workdir):
    os.makedirs(workdir, exist_ok=True)
    data = os.path.join(workdir, "eval.parquet")
    make_data(data)
    baseline = evaluate_production(data, workdir)
    blessed = evaluator_step(data, workdir, baseline)
    assert push_step(workdir) == blessed
    return 0 if blessed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "orchestrator-example"))
