"""ONNX models of realtime services are checked before anything runs them (no HTTP here)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn import datasets, svm
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from o16n.server.domain.models import check_model
from o16n.server.errors import BadRequest

LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def iris_model() -> bytes:
    iris = datasets.load_iris()
    clf = make_pipeline(StandardScaler(), svm.SVC()).fit(iris.data, iris.target)
    return to_onnx(clf, iris.data[:1].astype(np.float32), target_opset=17).SerializeToString()


def refused(data: bytes, limit: int = LIMIT) -> str:
    with pytest.raises(BadRequest) as error:
        check_model(data, limit)
    assert error.value.field == "model"
    return error.value.message


def test_the_iris_pipeline_is_taken(iris_model):
    signature = check_model(iris_model, LIMIT)
    assert [(t.name, t.element, t.columns) for t in signature.inputs] == [("X", "float32", 4)]
    assert [(t.name, t.element) for t in signature.outputs] == [("output_label", "int64"), ("output_probability", "map")]
    assert signature.matrix_input


def test_what_is_not_an_onnx_model(iris_model):
    assert "not an ONNX model" in refused(b"PK\x03\x04 a zip, not a model")
    assert "not an ONNX model" in refused(iris_model[: len(iris_model) // 2])
    assert "rx_serialize_model" in refused(b"X\n\x00\x00\x00\x03\x00\x04\x02\x00")
    assert "empty" in refused(b"")
    assert "max_model_bytes" in refused(iris_model, limit=100)


def graph_model(nodes: list, opsets: list, inputs: list, outputs: list, initializers: list | None = None) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers or [])
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def test_custom_operator_domains_are_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    node = helper.make_node("Evil", ["x"], ["y"], domain="com.example.evil")
    data = graph_model([node], [helper.make_opsetid("", 17), helper.make_opsetid("com.example.evil", 1)], [x], [y])
    assert "custom operator domains (com.example.evil)" in refused(data)


def test_external_data_is_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../../../etc/passwd"
    node = helper.make_node("Mul", ["x", "w"], ["y"])
    data = graph_model([node], [helper.make_opsetid("", 17)], [x], [y], [weight])
    assert "external file" in refused(data)


def test_a_model_the_checker_refuses():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    node = helper.make_node("NoSuchOperator", ["x"], ["y"])
    assert "ONNX checker" in refused(graph_model([node], [helper.make_opsetid("", 17)], [x], [y]))


def test_one_input_per_column():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    signature = check_model(graph_model([helper.make_node("Add", ["a", "b"], ["y"])], [helper.make_opsetid("", 17)],
                                        [a, b], [y]), LIMIT)
    assert not signature.matrix_input and [t.name for t in signature.inputs] == ["a", "b"]
    wide = helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, 3])
    y3 = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])
    assert "several inputs" in refused(graph_model([helper.make_node("Add", ["a", "b"], ["y"])],
                                                   [helper.make_opsetid("", 17)], [a, wide], [y3]))


def test_onnx_itself_parses_what_we_pass(iris_model):
    onnx.checker.check_model(onnx.load_model_from_string(iris_model))


def test_the_scorer_maps_frames_to_the_model_and_back(iris_model):
    from o16n.server.runtime.onnx_scorer import OnnxScorer, ScoringError

    iris = datasets.load_iris()
    clf = make_pipeline(StandardScaler(), svm.SVC()).fit(iris.data, iris.target)
    scorer = OnnxScorer(iris_model)
    rows = np.arange(1000) % 150
    frame = {name: iris.data[rows, i].tolist() for i, name in enumerate(["sl", "sw", "pl", "pw"])}
    out = scorer.score(frame)
    assert out["output_label"] == clf.predict(iris.data[rows]).tolist()
    assert sorted(out) == ["output_label", "output_probability_0", "output_probability_1", "output_probability_2"]
    assert all(isinstance(v, float) for v in out["output_probability_0"])
    with pytest.raises(ScoringError, match="refused"):
        scorer.score({"sl": [1.0], "sw": [2.0]})  # two columns for a four-column model
