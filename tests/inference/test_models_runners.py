"""Models run on every runner the pipeline runs on: the in-process runner, local worker
processes, PortableRunner (Beam's local job service) and Dask give the same artifacts; a
user's own Beam ModelHandler runs too, once per record batch."""
import numpy as np
import pytest
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.ml.inference.sklearn_inference import ModelFileType, SklearnModelHandlerNumpy
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from evalbeam import run_evaluation
from trained import FEATURES, frame, save, write

CONFIG = """
model_specs { name: "candidate" label_key: "label" example_weight_key: "weight"
              feature_keys: ["f0", "f1", "f2", "f3"] }
model_specs { name: "baseline" label_key: "label" example_weight_key: "weight"
              is_baseline: true }
metrics_specs {
  metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
  metrics { class_name: "BinaryCrossEntropy" } metrics { class_name: "SymmetricFlipRate" }
  example_weights { weighted: true }
}
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
ROWS, ROW_GROUP = 6000, 1500  # 4 read tasks


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    where = tmp_path_factory.mktemp("models_runners")
    df = frame(ROWS, seed=8)
    X = df[FEATURES].to_numpy()
    candidate = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, df["label"])
    baseline = LogisticRegression().fit(df[FEATURES], df["label"])
    models = {"candidate": save(candidate, where / "candidate.joblib"),
              "baseline": save(baseline, where / "baseline.joblib")}
    data = write(df, where / "d.parquet", row_group_size=ROW_GROUP)
    local = run_evaluation(CONFIG, data, str(where / "in_process"), models=models)
    return df, data, models, local, (candidate, baseline)


def _same(got, want):
    assert got.metrics.keys() == want.metrics.keys() and len(want.metrics) == 4
    for slice_key, values in want.metrics.items():
        assert got.metrics[slice_key].keys() == values.keys()
        for key, value in values.items():
            assert got.metrics[slice_key][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    assert got.summary["rows_read"] == want.summary["rows_read"] == ROWS


def test_in_process_numbers(setup):
    df, _, _, local, (candidate, baseline) = setup
    p = candidate.predict_proba(df[FEATURES].to_numpy())[:, 1]
    b = baseline.predict_proba(df[FEATURES])[:, 1]
    w = df["weight"].to_numpy()
    got = {(k.name, k.model_name, k.is_diff): v for k, v in local.metrics[()].items()}
    assert got["binary_crossentropy", "candidate", False] == pytest.approx(
        log_loss(df["label"], p, sample_weight=w), rel=1e-9)
    assert got["binary_crossentropy", "baseline", False] == pytest.approx(
        log_loss(df["label"], b, sample_weight=w), rel=1e-9)
    flips = ((p > 0.5) != (b > 0.5)).astype(float)  # the decisions at 0.5 that differ
    assert got["symmetric_flip_rate", "candidate", True] == pytest.approx(
        np.average(flips, weights=w), rel=1e-12)


def test_local_worker_processes(setup, tmp_path):
    """Models run in Beam's worker processes (evalbeam's own forked readers only
    pre-aggregate, so a run with models takes Beam's)."""
    _, data, models, local, _ = setup
    _same(run_evaluation(CONFIG, data, str(tmp_path / "workers"), models=models,
                         pipeline_options=["--direct_num_workers=2",
                                           "--direct_running_mode=multi_processing"]), local)


def test_portable_runner(setup, job_service, tmp_path):
    _, data, models, local, _ = setup
    _same(run_evaluation(CONFIG, data, str(tmp_path / "portable"), models=models,
                         pipeline_options=["--runner=PortableRunner",
                                           f"--job_endpoint={job_service}",
                                           "--environment_type=LOOPBACK"]), local)


def test_dask_cluster(setup, dask_cluster, tmp_path):
    _, data, models, local, _ = setup
    _same(run_evaluation(CONFIG, data, str(tmp_path / "dask"), models=models, pipeline_options=[
        "--runner=DaskRunner", f"--dask_client_address={dask_cluster[0].scheduler_address}"]), local)


def _class_scores(model, batch, inference_args=None):
    return model.predict_proba(np.stack(batch))


def test_beams_own_sklearn_handler_gives_the_same_result(setup, tmp_path):
    """Beam's SklearnModelHandlerNumpy, told to give class scores: one PredictionResult per
    row, whose (2,) scores give the positive class's."""
    _, data, models, local, _ = setup
    handler = SklearnModelHandlerNumpy(model_uri=models["candidate"],
                                       model_file_type=ModelFileType.JOBLIB,
                                       inference_fn=_class_scores)
    got = run_evaluation(CONFIG, data, str(tmp_path / "beam_handler"),
                         models={**models, "candidate": handler})
    _same(got, local)


CALLS = []  # rows of each call of the counting handler (this process: the in-process runner)


class CountingHandler(ModelHandler):
    """A user's handler that gives one array for the whole batch."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def load_model(self):
        import joblib

        return joblib.load(self.path)

    def run_inference(self, batch, model, inference_args=None):
        CALLS.append(len(batch))
        return [model.predict_proba(batch)[:, 1]]


def test_a_user_handler_predicts_once_per_record_batch(setup, tmp_path):
    _, data, models, local, _ = setup
    CALLS.clear()
    got = run_evaluation(CONFIG, data, str(tmp_path / "counted"), batch_size=500,
                         models={**models, "candidate": CountingHandler(models["candidate"])})
    _same(got, local)
    # one call on the first 1000 rows before the run, then one per record batch of 500 rows
    assert CALLS == [1000] + [500] * (ROWS // 500), CALLS
