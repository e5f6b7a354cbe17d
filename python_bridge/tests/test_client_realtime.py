"""Realtime services from o16n.client: ``.realtime(model, sample)`` with a fitted scikit-learn SVC
(converted with skl2onnx), an ``onnx.ModelProto`` or ONNX bytes, published through the 9.1
multipart ``/realtime-services`` routes of a real o16n server on loopback and consumed like any
service (``inputData`` frame in, ``outputData`` out)."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pandas as pd
import pytest

from o16n.client import InvalidInput, connect
from o16n.client.definition import ServiceDefinition
from o16n.jupyter.inkernel import onnxmodel

pytestmark = pytest.mark.timeout(600)
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def iris():
    from sklearn import datasets, svm

    data = datasets.load_iris()
    frame = pd.DataFrame(data.data, columns=COLUMNS)
    return svm.SVC().fit(frame, data.target), frame, data.target


# ====================================================================== conversion (no server)
def test_realtime_converts_an_estimator_with_the_sample_schema(iris):
    clf, frame, _ = iris
    d = ServiceDefinition(None, "iris").realtime(clf, sample=frame.head(3))  # type: ignore[arg-type]
    info = d.model_info
    assert info is not None and info["inputs"] == [{"name": "float_input", "type": "float", "shape": ["?", 4]}]
    assert [o["name"] for o in info["outputs"]] == ["output_label", "output_probability"]
    assert onnxmodel.summary(info).startswith("onnx ") and "float_input: float[?,4]" in onnxmodel.summary(info)
    # the same from an array, from a ModelProto and from the bytes
    import onnx
    data = d.model_bytes()
    assert data is not None
    assert ServiceDefinition(None, "i").realtime(clf, frame.to_numpy()[:2]).model_info["inputs"] == info["inputs"]  # type: ignore[arg-type,index]
    assert ServiceDefinition(None, "i").realtime(onnx.load_model_from_string(data)).model_bytes() == data  # type: ignore[arg-type]
    assert ServiceDefinition(None, "i").realtime(data).model_info == info  # type: ignore[arg-type]


def test_mixed_columns_give_one_input_per_column():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "color": ["red", "blue", "red", "blue"]})
    model = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), ["size"]),
                                                  ("cat", OneHotEncoder(), ["color"])])),
                      ("clf", LogisticRegression())]).fit(frame, [0, 1, 0, 1])
    info = ServiceDefinition(None, "m").realtime(model, frame).model_info  # type: ignore[arg-type]
    assert info is not None and info["inputs"] == [{"name": "size", "type": "float", "shape": ["?", 1]},
                                                   {"name": "color", "type": "string", "shape": ["?", 1]}]


def test_what_cannot_be_a_model_is_refused_before_sending(iris):
    from sklearn import svm

    clf, frame, _ = iris
    with pytest.raises(ValueError, match="not fitted"):
        ServiceDefinition(None, "x").realtime(svm.SVC(), frame)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a dict"):
        ServiceDefinition(None, "x").realtime({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an ONNX model"):
        ServiceDefinition(None, "x").realtime(b"not onnx at all")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2-d array"):
        ServiceDefinition(None, "x").realtime(clf, np.zeros((2, 2, 2)))  # type: ignore[arg-type]
    d = ServiceDefinition(None, "x").realtime(clf, frame).code_str("y = 1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="its model alone: drop the code"):
        d.deploy()
    with pytest.raises(ValueError, match="no environment"):
        ServiceDefinition(None, "x").realtime(clf, frame).environment()  # type: ignore[arg-type]


# ====================================================================== against a real server
@pytest.fixture
def client(live_server):
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as c:
        probe = httpx.post(live_server.url + "/realtime-services/probe/1", files={"model": ("m.onnx", b"x")},
                           headers={"Authorization": f"Bearer {c._transport.access_token}"})
        if "not supported by this server" in probe.text:
            pytest.fail("the o16n server does not serve the /realtime-services routes")
        yield c


def test_publish_consume_and_update_a_realtime_iris(client, iris):
    clf, frame, target = iris
    name = f"RtIris{int(time.time() * 1000) % 10**8}"
    svc = client.service(name).version("1").description("iris, realtime").realtime(clf, frame.head(5)).deploy()
    try:
        assert svc.runtime_type == "Realtime"
        assert {n: t.wire for n, t in svc.inputs.items()} == {"inputData": "data.frame"}
        assert {n: t.wire for n, t in svc.outputs.items()} == {"outputData": "data.frame"}
        assert svc.model is not None and svc.model["inputs"][0]["name"] == "float_input"
        one = svc(inputData=frame.head(1)).output("outputData")
        assert isinstance(one, pd.DataFrame) and one["output_label"].tolist() == [int(target[0])]
        rows = frame.sample(100, random_state=1)
        many = svc(inputData=rows).output("outputData")
        assert many["output_label"].tolist() == clf.predict(rows).tolist()
        # PATCH: a new model for the same version (predicts from the two petal columns only)
        from sklearn import tree

        petals = tree.DecisionTreeClassifier(max_depth=1).fit(frame, target)
        updated = client.service(name).version("1").realtime(petals, frame.head(2)).redeploy()
        again = updated(inputData=rows).output("outputData")
        assert again["output_label"].tolist() == petals.predict(rows).tolist()
        assert updated.description == "iris, realtime"
        # a PATCH of the description alone is multipart too (the server refuses any other body)
        client.patch_realtime_service(name, "1", description="iris, petals only")
        assert client.get_service(name, "1").description == "iris, petals only"
        assert updated(inputData=rows).output("outputData")["output_label"].tolist() == petals.predict(rows).tolist()
    finally:
        client.delete_service(name, "1")


def test_a_server_generated_version_and_the_onnx_bytes(client, iris):
    clf, frame, _ = iris
    name = f"RtBytes{int(time.time() * 1000) % 10**8}"
    data = ServiceDefinition(client, "x").realtime(clf, frame.head(2)).model_bytes()
    svc = client.service(name).alias("score").realtime(data).deploy()
    try:
        assert svc.version and svc.operation_id == "score"
        result = svc.score(inputData=frame.head(3).to_dict(orient="list"))
        assert result.output("outputData")["output_label"].tolist() == clf.predict(frame.head(3)).tolist()
    finally:
        client.delete_service(name, svc.version)


def test_the_server_refuses_a_truncated_model_naming_it(client, iris):
    clf, frame, _ = iris
    data = ServiceDefinition(client, "x").realtime(clf, frame.head(2)).model_bytes()
    assert data is not None
    with pytest.raises(InvalidInput) as caught:
        client.post_realtime_service(f"RtBad{int(time.time()) % 10**6}", "1", data[: len(data) // 2])
    assert caught.value.field == "model"
