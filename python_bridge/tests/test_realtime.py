"""Realtime services over raw REST (httpx multipart), a real server on loopback and real workers.

The Iris SVC is converted to ONNX here with skl2onnx; o16n scores it with ONNX Runtime, in a
sandboxed worker (the default) or in the server process (`realtime_in_process`). Predictions must
equal scikit-learn's on the same rows.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn import datasets, svm
from sklearn.linear_model import LogisticRegression

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MAX_MODEL_BYTES = 300_000  # the in-process server's limit, to see the size refusal


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    data = datasets.load_iris()
    return data.data.astype(np.float32), data.target


@pytest.fixture(scope="module")
def svc(iris):
    x, y = iris
    return svm.SVC().fit(x, y)


@pytest.fixture(scope="module")
def svc_onnx(svc, iris) -> bytes:
    return to_onnx(svc, iris[0][:1], target_opset=17).SerializeToString()


@pytest.fixture(scope="module")
def rows_1000(iris) -> np.ndarray:
    rng = np.random.default_rng(14)
    x = np.tile(iris[0], (7, 1))[:1000]
    return (x + rng.normal(0, 0.05, x.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def in_process_server(tmp_path_factory):
    from server_process import LiveServer

    server = LiveServer(tmp_path_factory.mktemp("o16n-rt") / "data", realtime_in_process="true",
                        max_model_bytes=MAX_MODEL_BYTES).start()
    yield server
    server.stop()


@pytest.fixture(params=["sandboxed", "in-process"])
def server(request, live_server, in_process_server):
    return live_server if request.param == "sandboxed" else in_process_server


def unique(prefix: str = "rt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def publish(client: httpx.Client, path: str, model: bytes, method: str = "POST", **fields: str) -> httpx.Response:
    return client.request(method, path, files={"model": ("model.onnx", model, "application/octet-stream")}, data=fields)


def columns(x: np.ndarray) -> dict[str, list[float]]:
    return {name: x[:, i].tolist() for i, name in enumerate(COLUMNS)}


def score(client: httpx.Client, name: str, frame: object, version: str = "v1") -> dict:
    response = client.post(f"/api/{name}/{version}", json={"inputData": frame})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"], body
    return body["outputParameters"]["outputData"]


def maps_of(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_publish_list_and_consume_one_and_1000_rows(server, svc, svc_onnx, iris, rows_1000):
    name = unique()
    with server.client() as client:
        created = publish(client, f"/realtime-services/{name}/v1", svc_onnx, description="iris", operationId="iris")
        assert created.status_code == 201, created.text
        assert created.json() == f"/api/{name}/v1"

        [view] = client.get(f"/services/{name}/v1").json()
        assert view["runtimeType"] == "Realtime" and view["code"] == "" and view["initCode"] == ""
        assert view["inputParameterDefinitions"] == [{"name": "inputData", "type": "data.frame"}]
        assert view["outputParameterDefinitions"] == [{"name": "outputData", "type": "data.frame"}]
        assert view["description"] == "iris" and view["operationId"] == "iris"
        assert view["model"]["inputs"] == [{"name": "X", "type": "float32", "shape": ["N", 4]}]
        assert [o["name"] for o in view["model"]["outputs"]] == ["output_label", "output_probability"]
        assert view["model"]["sizeBytes"] == len(svc_onnx)
        assert any(v["name"] == name and v["runtimeType"] == "Realtime" for v in client.get("/services").json())

        one = iris[0][:1]
        out = score(client, name, columns(one))
        assert out["output_label"] == svc.predict(one).tolist()
        # scikit-learn's probabilities (a map per row) come as one column per class
        assert {k for k in out if k.startswith("output_probability_")} == {f"output_probability_{c}" for c in (0, 1, 2)}

        expected = svc.predict(rows_1000).tolist()
        assert score(client, name, columns(rows_1000))["output_label"] == expected
        row_form = [dict(zip(COLUMNS, map(float, row))) for row in rows_1000]
        assert score(client, name, row_form)["output_label"] == expected


def test_scoring_runs_behind_the_wall_by_default(live_server, in_process_server, svc_onnx, iris):
    """Sandboxed: ONNX Runtime is loaded only in the service's worker; in-process: in the server."""
    for server, in_server in ((live_server, False), (in_process_server, True)):
        name = unique()
        with server.client() as client:
            assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
            score(client, name, columns(iris[0][:3]))
        assert server.process is not None
        assert ("onnxruntime" in maps_of(server.process.pid)) is in_server
        import psutil

        workers = psutil.Process(server.process.pid).children(recursive=True)
        # sandboxed: a model worker scored it; in-process: no worker ever loads a model
        assert any("onnxruntime" in _maps_or_empty(w.pid) for w in workers) is not in_server


def _maps_or_empty(pid: int) -> str:
    try:
        return maps_of(pid)
    except OSError:
        return ""


def test_patch_the_model_and_the_texts(server, svc_onnx, iris):
    name = unique()
    x, y = iris
    # another model: setosa (2) or not (0) from the sepal length alone, probabilities as a matrix (no zipmap)
    other = LogisticRegression(max_iter=500).fit(x[:, :1], (y == 0).astype(int) * 2)
    other_onnx = to_onnx(other, x[:1, :1], target_opset=17, options={id(other): {"zipmap": False}}).SerializeToString()
    with server.client() as client:
        assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
        before = score(client, name, columns(x[:5]))["output_label"]
        assert before == [0, 0, 0, 0, 0]

        patched = publish(client, f"/realtime-services/{name}/v1", other_onnx, method="PATCH", description="one column")
        assert patched.status_code == 200, patched.text
        assert patched.json() == f"/api/{name}/v1"
        [view] = client.get(f"/services/{name}/v1").json()
        assert view["description"] == "one column" and view["model"]["inputs"][0]["shape"] == ["N", 1]
        assert [o["name"] for o in view["model"]["outputs"]] == ["label", "probabilities"]
        # the new model takes one column (whatever its name): its answers, the matrix as one column per class
        out = score(client, name, {"length": x[:, 0].tolist()})
        assert out["label"] == other.predict(x[:, :1]).tolist() and 2 in out["label"] and 0 in out["label"]
        assert np.allclose(out["probabilities_1"], other.predict_proba(x[:, :1])[:, 1], atol=1e-5)
        wrong = client.post(f"/api/{name}/v1", json={"inputData": columns(x[:5])})
        assert wrong.status_code == 400 and "takes 1" in wrong.json()["errorMessage"]

        # texts only: the model stays
        texts = client.patch(f"/realtime-services/{name}/v1", files={"operationId": (None, "scoreIris")})
        assert texts.status_code == 200, texts.text
        [view] = client.get(f"/services/{name}/v1").json()
        assert view["operationId"] == "scoreIris" and view["model"]["inputs"][0]["shape"] == ["N", 1]
        # a standard PATCH may change the description, never give it code
        assert client.patch(f"/services/{name}/v1", json={"description": "d"}).status_code == 200
        coded = client.patch(f"/services/{name}/v1", json={"code": "x = 1"})
        assert coded.status_code == 400 and "realtime service" in coded.json()["message"]
        assert client.delete(f"/services/{name}/v1").status_code == 200
        assert client.post(f"/api/{name}/v1", json={"inputData": {"a": [1]}}).status_code == 404


def test_versions_and_generated_versions(live_server, svc_onnx, iris):
    name = unique()
    with live_server.client() as client:
        generated = publish(client, f"/realtime-services/{name}", svc_onnx)
        assert generated.status_code == 201
        version = generated.json().rsplit("/", 1)[1]
        uuid.UUID(version)
        assert score(client, name, columns(iris[0][:1]), version=version)["output_label"] == [0]
        assert publish(client, f"/realtime-services/{name}/v2", svc_onnx).status_code == 201
        again = publish(client, f"/realtime-services/{name}/v2", svc_onnx)
        assert again.status_code in (403, 409) and "already exists" in again.json()["message"]
        # a standard service is not patched as a realtime one
        assert client.post(f"/services/{name}/std", json={"code": "y = 1", "outputParameterDefinitions":
                                                           [{"name": "y", "type": "integer"}]}).status_code == 201
        mixed = publish(client, f"/realtime-services/{name}/std", svc_onnx, method="PATCH")
        assert mixed.status_code == 400 and mixed.json()["fields"] == "model"
        assert client.patch(f"/realtime-services/{name}/nope", files={"description": (None, "x")}).status_code == 404


def test_batch_and_swagger(server, svc, svc_onnx, iris):
    name = unique()
    x = iris[0]
    with server.client() as client:
        assert publish(client, f"/realtime-services/{name}/v1", svc_onnx, operationId="scoreIris").status_code == 201
        records = [{"inputData": columns(x[i:i + 10])} for i in range(0, 150, 10)]
        started = client.post(f"/api/{name}/v1/batch?parallelCount=4", json=records)
        assert started.status_code == 202, started.text
        execution = started.json()["batchExecutionId"]
        deadline = time.monotonic() + 120
        while True:
            status = client.get(f"/api/{name}/v1/batch/{execution}").json()
            if status["state"] in ("Complete", "Failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status["state"] == "Complete", status
        labels = [label for result in status["batchExecutionResults"]
                  for label in result["outputParameters"]["outputData"]["output_label"]]
        assert labels == svc.predict(x).tolist()

        document = client.get(f"/api/{name}/v1/swagger.json").json()
        operation = document["paths"][f"/api/{name}/v1"]["post"]
        assert operation["operationId"] == "scoreIris"
        inputs = document["definitions"]["InputParameters"]["properties"]
        assert set(inputs) == {"inputData"}
        assert set(document["definitions"]["OutputParameters"]["properties"]) == {"outputData"}
        assert f"/api/{name}/v1/batch" in document["paths"]


def test_roles(live_server, svc_onnx):
    suffix = uuid.uuid4().hex[:6]
    users = {role: (f"rt-{role.lower()}-{suffix}", f"Rt-{role}-pw-{suffix}") for role in ("Reader", "Contributor")}
    other = (f"rt-other-{suffix}", f"Rt-Other-pw-{suffix}")
    for role, (user, password) in users.items():
        live_server.add_user(user, password, role)
    live_server.add_user(*other, "Contributor")
    name = unique()
    with live_server.client(*users["Reader"]) as reader:
        refused = publish(reader, f"/realtime-services/{name}/v1", svc_onnx)
        assert refused.status_code == 403
        assert reader.get(f"/services/{name}").json() == []
    with live_server.client(*users["Contributor"]) as contributor:
        assert publish(contributor, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
    with live_server.client(*other) as stranger:
        assert publish(stranger, f"/realtime-services/{name}/v1", svc_onnx, method="PATCH").status_code == 403
        assert publish(stranger, f"/realtime-services/{name}/v2", svc_onnx).status_code == 403
        assert publish(stranger, f"/realtime-services/{name}", svc_onnx).status_code == 403
        [view] = stranger.get(f"/services/{name}/v1").json()
        assert view["myPermissionOnService"] == "read only"
    with live_server.client(*users["Reader"]) as reader:  # every role may consume
        out = reader.post(f"/api/{name}/v1", json={"inputData": {c: [1.0] for c in COLUMNS}})
        assert out.status_code == 200 and out.json()["success"]
    with live_server.client() as owner:  # Owners may change anybody's
        assert publish(owner, f"/realtime-services/{name}/v1", svc_onnx, method="PATCH", description="o").status_code == 200


def _custom_op_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    node = helper.make_node("Evil", ["x"], ["y"], domain="com.example.evil")
    graph = helper.make_graph([node], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example.evil", 1)])
    return model.SerializeToString()


def _external_data_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    weight.ClearField("float_data")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g", [x], [y], initializer=[weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_bad_models_are_refused_naming_why(in_process_server, svc_onnx):
    cases = {
        "not an ONNX model": b"PK\x03\x04 a zip, not a model" * 10,
        "truncated": svc_onnx[: len(svc_onnx) // 2],
        "custom operator domains (com.example.evil)": _custom_op_model(),
        "external file": _external_data_model(),
        "max_model_bytes": b"\x08\x07" + b"\x00" * MAX_MODEL_BYTES,
        "rx_serialize_model": b"blob" + b"\x00" * 64,
        "serialized R object": b"X\n\x00\x00\x00\x03\x00\x04\x02\x00",
    }
    with in_process_server.client() as client:
        for why, data in cases.items():
            name = unique()
            response = publish(client, f"/realtime-services/{name}/v1", data)
            assert response.status_code == 400, (why, response.text)
            body = response.json()
            assert body["fields"] == "model", body
            assert (why if why != "truncated" else "not an ONNX model") in body["message"], (why, body)
            assert client.get(f"/services/{name}").json() == []  # nothing was published
        missing = client.post(f"/realtime-services/{unique()}/v1", files={"description": (None, "no model")})
        assert missing.status_code == 400 and missing.json()["fields"] == "model"
        as_json = client.post(f"/realtime-services/{unique()}/v1", json={"model": "x"})
        assert as_json.status_code == 400 and "multipart/form-data" in as_json.json()["message"]


def test_frames_that_do_not_fit(server, svc_onnx):
    name = unique()
    with server.client() as client:
        assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
        three = client.post(f"/api/{name}/v1", json={"inputData": {"a": [1.0], "b": [2.0], "c": [3.0]}})
        assert three.status_code == 400 and "takes 4" in three.json()["errorMessage"]
        empty = client.post(f"/api/{name}/v1", json={"inputData": {c: [] for c in COLUMNS}})
        assert empty.status_code == 400 and "no rows" in empty.json()["errorMessage"]
        ragged = client.post(f"/api/{name}/v1", json={"inputData": {"a": [1.0], "b": [2.0, 3.0]}})
        assert ragged.status_code == 400 and ragged.json()["fields"] == "inputData"
        text = client.post(f"/api/{name}/v1", json={"inputData": {c: ["x"] for c in COLUMNS}})
        assert text.status_code == 200 and not text.json()["success"] and text.json()["errorMessage"]
        # the worker (or the in-process session) lives on
        assert score(client, name, {c: [1.0] for c in COLUMNS})["output_label"] in ([0], [1], [2])


def test_answers_validate_against_the_9_1_document(live_server, svc_onnx, iris):
    """The realtime calls' answers (and the listing of a realtime service) as the original document says."""
    from test_conformance import Document, Seen, load

    document = Document(load("rserver-swagger-9.1.0.json"))
    name = unique()
    with live_server.client() as client:
        answers = [
            publish(client, f"/realtime-services/{name}/v1", svc_onnx, description="d"),
            publish(client, f"/realtime-services/{name}", svc_onnx),
            publish(client, f"/realtime-services/{name}/v1", svc_onnx, method="PATCH", operationId="op"),
            client.get(f"/services/{name}/v1"),
            client.get(f"/services/{name}"),
            client.post(f"/api/{name}/v1", json={"inputData": columns(iris[0][:2])}),
            publish(client, f"/realtime-services/{name}/v1", b"not a model", method="PATCH"),
        ]
    assert [a.status_code for a in answers] == [201, 201, 200, 200, 200, 200, 400]
    problems = []
    for answer in answers:
        seen = Seen(answer.request.method, answer.request.url.path, answer.status_code,
                    answer.headers.get("content-type", ""), answer.json())
        problems += document.problems(seen)
    assert problems == []


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_model_worker_watches_for_the_next_request_only_briefly(live_server, svc_onnx, iris, tmp_path):
    """The watch after each answer (realtime_spin_microseconds, 300 by default) ends: an idle model
    worker sleeps. Without the watch (0) the answers are the same."""
    import psutil
    from server_process import LiveServer

    name = unique()
    with live_server.client() as client:
        assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
        expected = score(client, name, columns(iris[0][:5]))
        assert live_server.process is not None
        models = [w.pid for w in psutil.Process(live_server.process.pid).children(recursive=True)
                  if "onnxruntime" in _maps_or_empty(w.pid)]
        assert models
        for _ in range(50):
            score(client, name, columns(iris[0][:5]))
        time.sleep(0.2)
        before = {pid: _cpu_seconds(pid) for pid in models}
        time.sleep(1.0)
        assert all(_cpu_seconds(pid) - before[pid] < 0.05 for pid in models)  # asleep, not spinning

    quiet = LiveServer(tmp_path / "data", realtime_spin_microseconds=0).start()
    try:
        with quiet.client() as client:
            assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
            assert score(client, name, columns(iris[0][:5])) == expected
    finally:
        quiet.stop()


def test_concurrent_consumes_on_one_model_worker_each_get_their_own_rows(server_factory, svc, svc_onnx, rows_1000):
    """With one model worker, consumes that wait for it are scored together (domain/grouping.py);
    every request still gets exactly its own rows' predictions, whatever its size or column names."""
    import asyncio

    server = server_factory(pool_max_size=1)
    name = unique("grouped")
    with server.client() as client:
        assert publish(client, f"/realtime-services/{name}/v1", svc_onnx).status_code == 201
        score(client, name, columns(rows_1000[:1]))  # the worker is up
        headers = dict(client.headers)

    picks = [rows_1000[i * 7:i * 7 + 1 + i % 3] for i in range(48)]  # 1 to 3 rows each

    def frame_of(i: int, x: np.ndarray) -> dict[str, list[float]]:
        frame = columns(x)  # the model's one input takes the columns by position, whatever their names
        return {f"c{n}": column for n, column in enumerate(frame.values())} if i % 5 == 0 else frame  # its own group

    async def consume_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
            return await asyncio.gather(*(http.post(f"/api/{name}/v1", json={"inputData": frame_of(i, x)})
                                          for i, x in enumerate(picks)))

    for _ in range(3):
        for x, response in zip(picks, asyncio.run(consume_all())):
            assert response.status_code == 200, response.text
            assert response.json()["outputParameters"]["outputData"]["output_label"] == svc.predict(x).tolist()
