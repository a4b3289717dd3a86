"""load_onnx: scikit-learn models trained here, converted with skl2onnx, give scikit-learn's
own scores; models it cannot run say why in one line.

skl2onnx models take float32 features (load_onnx feeds the dtype the model declares), so their
scores match scikit-learn's float64 ones to float32 precision; a model converted with double
inputs matches to float64 precision.
"""
import sys
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from evalbeam.errors import InputError
from evalbeam.inference import onnx_model
from evalbeam.inference.onnx_model import load_onnx

F32 = dict(rtol=1e-5, atol=1e-6)  # float32 arithmetic against scikit-learn's float64


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    z = X @ [1.0, -0.7, 0.4, 0.0] + rng.normal(scale=0.8, size=len(X))
    return X, (z > 0).astype(int), np.digitize(z, [-0.6, 0.6]), z


def save(tmp_path, model, name, X=None, **kw):
    onx = model if isinstance(model, onnx.ModelProto) else to_onnx(
        model, X[:1].astype(np.float32) if X is not None else None, **kw)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(onx.SerializeToString())
    return str(path)


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("make", [lambda: LogisticRegression(),
                                  lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3,
                                                                     random_state=0)],
                         ids=["logistic", "boosting"])
def test_binary_classifier_gives_the_positive_class_probability(tmp_path, data, make, zipmap):
    X, y, _, _ = data
    model = make().fit(X, y)
    path = save(tmp_path, model, "binary", X, options=None if zipmap else {"zipmap": False})
    p = load_onnx(path)
    assert (p.kind, p.n_classes, p.n_features, p.feature_names, p.loader, p.source) == (
        "classifier", 2, 4, None, "onnxruntime", path)
    got = p.predict(X)
    assert got.shape == (len(X),) and got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict_proba(X)[:, 1], **F32)
    # the pipeline's feature arrays are built a column at a time (Fortran order)
    np.testing.assert_array_equal(p.predict(np.asfortranarray(X)), got)


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
def test_three_classes_give_the_class_scores(tmp_path, data, zipmap):
    X, _, y3, _ = data
    model = LogisticRegression().fit(X, y3)
    path = save(tmp_path, model, "three", X, options=None if zipmap else {"zipmap": False})
    p = load_onnx(path)
    assert (p.kind, p.n_classes, p.n_features) == ("classifier", 3, 4)
    got = p.predict(X)
    assert got.shape == (len(X), 3)
    np.testing.assert_allclose(got, model.predict_proba(X), **F32)


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("classes", [["high", "low", "mid"], [1, 2, 3]], ids=["strings", "from1"])
def test_classes_other_than_class_ids(tmp_path, data, classes, zipmap):
    X, _, y3, _ = data
    model = LogisticRegression().fit(X, np.array(classes)[y3])
    path = save(tmp_path, model, "named", X, options=None if zipmap else {"zipmap": False})
    with pytest.raises(InputError) as e:
        load_onnx(path)
    one_line(e, path, f"the classifier's classes are [{', '.join(map(str, classes))}]; evalbeam "
                      "reads labels as class ids 0..2 (fit it on those)")


def test_regressor_gives_predict(tmp_path, data):
    X, _, _, z = data
    model = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, z)
    p = load_onnx(save(tmp_path, model, "regressor", X))
    assert (p.kind, p.n_classes, p.n_features) == ("regressor", None, 4)
    got = p.predict(X)
    assert got.shape == (len(X),)
    np.testing.assert_allclose(got, model.predict(X), **F32)


def test_double_input_model_runs_in_float64(tmp_path, data):
    X, y, _, _ = data
    model = LogisticRegression().fit(X, y)
    path = tmp_path / "double.onnx"
    path.write_bytes(to_onnx(model, X[:1], options={"zipmap": False}).SerializeToString())
    got = load_onnx(str(path)).predict(X)
    np.testing.assert_allclose(got, model.predict_proba(X)[:, 1], rtol=1e-12)


def test_one_input_per_feature_names_the_features(tmp_path, data):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    X, y, _, _ = data
    names = ["age", "income", "tenure", "visits"]
    pipe = make_pipeline(ColumnTransformer([("all", "passthrough", [0, 1, 2, 3])]),
                         LogisticRegression()).fit(X, y)
    onx = to_onnx(pipe, initial_types=[(n, FloatTensorType([None, 1])) for n in names],
                  options={id(pipe.steps[-1][1]): {"zipmap": False}})
    p = load_onnx(save(tmp_path, onx, "columns"))
    assert (p.feature_names, p.n_features, p.kind, p.n_classes) == (names, 4, "classifier", 2)
    np.testing.assert_allclose(p.predict(X), pipe.predict_proba(X)[:, 1], **F32)
    np.testing.assert_allclose(p.predict(np.asfortranarray(X)), pipe.predict_proba(X)[:, 1], **F32)


def test_output_name_picks_the_output(tmp_path, data):
    X, y, _, _ = data
    model = LogisticRegression().fit(X, y)
    path = save(tmp_path, model, "named", X, options={"zipmap": False})
    p = load_onnx(path, input_name="X", output_name="probabilities")
    np.testing.assert_allclose(p.predict(X), model.predict_proba(X)[:, 1], **F32)
    with pytest.raises(InputError, match=r"output 'label' is tensor\(int64\), not scores"):
        load_onnx(path, output_name="label")


def test_one_session_per_process_shared_by_threads(tmp_path, data):
    X, y, _, _ = data
    model = LogisticRegression().fit(X, y)
    path = save(tmp_path, model, "shared", X, options={"zipmap": False})
    p = load_onnx(path)
    assert load_onnx(path) is p
    want, got = model.predict_proba(X)[:, 1], [None] * 8

    def run(i):
        got[i] = p.predict(X[i * 50:(i + 1) * 50])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(np.concatenate(got), want, **F32)


def test_a_file_on_beams_file_systems(data):
    import memory_filesystem

    X, y, _, _ = data
    model = LogisticRegression().fit(X, y)
    path = "memstore://bucket/model.onnx"
    memory_filesystem.OBJECTS[path] = to_onnx(model, X[:1].astype(np.float32)).SerializeToString()
    np.testing.assert_allclose(load_onnx(path).predict(X), model.predict_proba(X)[:, 1], **F32)
    with pytest.raises(InputError) as e:
        load_onnx("memstore://bucket/other.onnx")
    one_line(e, "memstore://bucket/other.onnx", "cannot read it: ")


def test_empty_batch(tmp_path, data):
    X, y, _, _ = data
    p = load_onnx(save(tmp_path, LogisticRegression().fit(X, y), "empty", X))
    assert p.predict(np.zeros((0, 4))).shape == (0,)


def graph(tmp_path, name, inputs, outputs, nodes):
    """A hand-made ONNX model: inputs/outputs as (name, element type, shape)."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_tensor_value_info(*o) for o in outputs])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return save(tmp_path, model, name)


def one_line(excinfo, path, why, prefix="cannot load the model with onnxruntime: "):
    message = excinfo.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}: {prefix}"), message
    assert why in message, message


def test_not_a_model(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(InputError) as e:
        load_onnx(str(path))
    one_line(e, path, "not an ONNX model")


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.onnx"
    with pytest.raises(InputError) as e:
        load_onnx(str(path))
    one_line(e, path, "no such file")


def test_no_float_input(tmp_path):
    path = graph(tmp_path, "strings", [("city", TensorProto.STRING, [None, 1])],
                 [("y", TensorProto.STRING, [None, 1])],
                 [helper.make_node("Identity", ["city"], ["y"])])
    with pytest.raises(InputError) as e:
        load_onnx(path)
    one_line(e, path, "no float input (inputs: city tensor(string) [N, 1])")


def test_two_matrix_inputs_need_a_name(tmp_path):
    path = graph(tmp_path, "two", [("a", TensorProto.FLOAT, [None, 3]),
                                   ("b", TensorProto.FLOAT, [None, 2])],
                 [("y", TensorProto.FLOAT, [None, 5])],
                 [helper.make_node("Concat", ["a", "b"], ["y"], axis=1)])
    with pytest.raises(InputError) as e:
        load_onnx(path)
    one_line(e, path, "2 inputs, not one per feature (inputs: a tensor(float) [N, 3], "
                      "b tensor(float) [N, 2]); give the one to feed (input_name)")
    with pytest.raises(InputError) as e:
        load_onnx(path, input_name="a")
    one_line(e, path, "the model needs other inputs besides 'a'")
    with pytest.raises(InputError) as e:
        load_onnx(path, input_name="c")
    one_line(e, path, "no input named 'c' (inputs: a tensor(float) [N, 3], b tensor(float) [N, 2])")


def test_unknown_output_name_lists_the_outputs(tmp_path, data):
    X, y, _, _ = data
    path = save(tmp_path, LogisticRegression().fit(X, y), "outputs", X, options={"zipmap": False})
    with pytest.raises(InputError) as e:
        load_onnx(path, output_name="scores")
    one_line(e, path, "no output named 'scores' (outputs: label tensor(int64) [N], "
                      "probabilities tensor(float) [N, 2])")


def test_several_float_outputs_need_a_name(tmp_path):
    path = graph(tmp_path, "outs", [("x", TensorProto.FLOAT, [None, 2])],
                 [("u", TensorProto.FLOAT, [None, 2]), ("v", TensorProto.FLOAT, [None, 2])],
                 [helper.make_node("Identity", ["x"], ["u"]),
                  helper.make_node("Neg", ["x"], ["v"])])
    with pytest.raises(InputError) as e:
        load_onnx(path)
    one_line(e, path, "several float outputs (outputs: u tensor(float) [N, 2], "
                      "v tensor(float) [N, 2]); give the one to read (output_name)")
    p = load_onnx(path, output_name="v")
    X = np.array([[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_array_equal(p.predict(X), -X[:, 1])  # 2 columns: the second's score


def test_wrong_feature_count_at_predict(tmp_path, data):
    X, y, _, _ = data
    path = save(tmp_path, LogisticRegression().fit(X, y), "width", X)
    with pytest.raises(InputError) as e:
        load_onnx(path).predict(X[:, :3])
    one_line(e, path, "takes 4 feature columns; got an array of shape (400, 3)",
             prefix="the model (onnxruntime) ")


def test_missing_onnxruntime_names_the_extra(tmp_path, data, monkeypatch):
    X, y, _, _ = data
    path = save(tmp_path, LogisticRegression().fit(X, y), "noruntime", X)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setattr(onnx_model, "_SESSIONS", {})
    with pytest.raises(InputError) as e:
        load_onnx(path)
    one_line(e, path, "onnxruntime is not installed: pip install 'evalbeam[onnx]'")


def test_zipmap_removed_and_the_rest_of_the_model_kept(data):
    from evalbeam.inference import onnx_graph

    X, _, y3, _ = data
    original = to_onnx(LogisticRegression().fit(X, y3), X[:1].astype(np.float32))
    graph = onnx_graph.parse(original.SerializeToString())
    assert onnx_graph.class_labels(graph) == [[0, 1, 2], [0, 1, 2]]  # the classifier's, ZipMap's
    assert onnx_graph.without_zipmap(graph, "output_probability") == ("probabilities", 3)
    edited = onnx.load_from_string(graph.SerializeToString())
    onnx.checker.check_model(edited, full_check=True)
    assert [n for n in original.graph.node if n.op_type != "ZipMap"] == list(edited.graph.node)
    assert [o.name for o in edited.graph.output] == ["output_label", "probabilities"]
    assert (edited.graph.input, edited.graph.initializer, edited.opset_import) == (
        original.graph.input, original.graph.initializer, original.opset_import)
    assert onnx_graph.without_zipmap(graph, "output_probability") is None


def test_loading_imports_neither_onnx_nor_skl2onnx(tmp_path, data):
    import subprocess

    X, y, _, _ = data
    path = save(tmp_path, LogisticRegression().fit(X, y), "imports", X)  # with its ZipMap
    code = ("import sys, numpy as np; from evalbeam.inference.onnx_model import load_onnx; "
            f"p = load_onnx({path!r}); print(p.predict(np.zeros((2, 4))).shape, "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'skl2onnx')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split("\n")[0] == "(2,) []"


def test_weights_stored_beside_the_model(tmp_path):
    from onnx import numpy_helper

    W = np.array([[0.5], [-1.0], [2.0], [0.25]], dtype=np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "external",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
                          initializer=[numpy_helper.from_array(W, "W")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "external.onnx")
    onnx.save_model(model, path, save_as_external_data=True, location="external.weights",
                    size_threshold=0)
    assert (tmp_path / "external.weights").exists()
    p = load_onnx(path)
    X = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert (p.kind, p.n_features) == ("regressor", 4)
    np.testing.assert_allclose(p.predict(X), (X @ W)[:, 0], rtol=1e-6)


def sigmoid_scores(tmp_path, name="scores"):
    """Two [N, 1] sigmoid outputs of x [N, 4] (a network's, named neither 'prob' nor labelled)."""
    from onnx import numpy_helper

    Wa = np.array([[1.0], [-1.0], [0.5], [0.0]], dtype=np.float32)
    Wb = np.array([[0.2], [0.7], [-1.5], [1.0]], dtype=np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "Wa"], ["za"]),
         helper.make_node("Sigmoid", ["za"], ["a"]),
         helper.make_node("MatMul", ["x", "Wb"], ["zb"]),
         helper.make_node("Sigmoid", ["zb"], ["b"])],
        name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None, 1]) for o in ("a", "b")],
        initializer=[numpy_helper.from_array(Wa, "Wa"), numpy_helper.from_array(Wb, "Wb")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return save(tmp_path, model, name), Wb[:, 0].astype(np.float64)


def test_kind_says_what_a_one_column_output_is(tmp_path, data):
    X = data[0]
    path, Wb = sigmoid_scores(tmp_path)
    assert load_onnx(path, output_name="b").kind == "regressor"  # nothing says otherwise
    p = load_onnx(path, output_name="b", kind="classifier")
    assert (p.kind, p.n_classes) == ("classifier", 2)
    np.testing.assert_allclose(p.predict(X), 1 / (1 + np.exp(-(X @ Wb))), **F32)
    with pytest.raises(InputError) as e:
        load_onnx(path, output_name="b", kind="binary")
    one_line(e, path, "kind 'binary': expected 'classifier' or 'regressor'")


def test_kind_regressor_refuses_class_scores(tmp_path, data):
    X, y, _, _ = data
    path = save(tmp_path, LogisticRegression().fit(X, y), "lr", X, options={"zipmap": False})
    with pytest.raises(InputError) as e:
        load_onnx(path, kind="regressor")
    one_line(e, path, "output 'probabilities' is tensor(float) [N, 2]: class scores, not a "
                      "regressor's values")
