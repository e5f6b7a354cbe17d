"""Publishing and consuming: versions, conflicts, types, validation, files, and user code that
fails, crashes, hangs or eats memory (each costs that request only)."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest


def unique(prefix: str = "svc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def publish(client, name, version=None, **body):
    body.setdefault("runtimeType", "Python")
    path = f"/services/{name}" + (f"/{version}" if version else "")
    return client.post(path, json=body)


def params(**types):
    return [{"name": n, "type": t} for n, t in types.items()]


def test_publish_without_version_gets_a_guid(admin):
    name = unique()
    response = publish(admin, name, code="y = 1", outputParameterDefinitions=params(y="integer"))
    assert response.status_code == 201
    version = admin.get(f"/services/{name}").json()[0]["version"]
    assert str(uuid.UUID(version)) == version
    assert response.json() == f"/api/{name}/{version}"
    assert admin.post(f"/api/{name}/{version}", json={}).json()["outputParameters"] == {"y": 1}


def test_existing_version_conflicts(admin):
    name = unique()
    assert publish(admin, name, "1.0", code="y = 1").status_code == 201
    again = publish(admin, name, "1.0", code="y = 2")
    assert again.status_code == 403 and "PATCH" in again.json()["message"]


def test_versions_listed_oldest_first(admin):
    name = unique()
    for version in ("v3", "v1", "v2"):
        assert publish(admin, name, version, code="pass").status_code == 201
    assert [s["version"] for s in admin.get(f"/services/{name}").json()] == ["v3", "v1", "v2"]


def test_patch_is_partial_and_keeps_the_snapshot(admin):
    session_id = admin.post("/sessions", json={}).json()["sessionId"]
    admin.post(f"/sessions/{session_id}/execute", json={"code": "factor = 3"})
    snapshot_id = admin.post(f"/sessions/{session_id}/snapshot", json={}).json()["snapshotId"]
    admin.delete(f"/sessions/{session_id}")
    name = unique()
    assert publish(admin, name, "v1", code="y = x * factor", snapshotId=snapshot_id,
                   inputParameterDefinitions=params(x="numeric"), outputParameterDefinitions=params(y="numeric"),
                   operationId="triple").status_code == 201
    assert admin.patch(f"/services/{name}/v1", json={"description": "new words"}).status_code == 200
    service = admin.get(f"/services/{name}/v1").json()[0]
    assert service["description"] == "new words" and service["snapshotId"] == snapshot_id
    assert service["operationId"] == "triple" and service["code"] == "y = x * factor"
    assert admin.post(f"/api/{name}/v1", json={"x": 2}).json()["outputParameters"] == {"y": 6.0}
    # New code takes effect on the next request.
    assert admin.patch(f"/services/{name}/v1", json={"code": "y = x * factor + 1"}).status_code == 200
    assert admin.post(f"/api/{name}/v1", json={"x": 2}).json()["outputParameters"] == {"y": 7.0}
    assert admin.patch(f"/services/{name}/nope", json={"description": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"inputParameterDefinitions": params(x="numeric")}, "code", 400),
        ({"code": "y = (", }, "code", 400),
        ({"code": "y = 1", "initCode": "def broken(:"}, "initCode", 400),
        ({"code": "y = 1", "inputParameterDefinitions": params(x="complex")}, "inputParameterDefinitions", 400),
        ({"code": "y = 1", "inputParameterDefinitions": [{"name": "not valid", "type": "numeric"}]}, "inputParameterDefinitions", 400),
        ({"code": "y = 1", "runtimeType": "R"}, "runtimeType", 400),
        ({"code": "y = 1", "outputFileNames": ["../etc/passwd"]}, "outputFileNames", 400),
        ({"code": "y = 1", "snapshotId": "no-such-snapshot"}, "snapshotId", 400),
        ({"code": "y = 1", "operationId": "has spaces"}, "operationId", 400),
    ],
)
def test_bad_publish_requests_name_the_field(admin, body, field, status):
    response = publish(admin, unique(), "v1", **body)
    assert response.status_code == status
    assert response.json()["fields"] == field
    assert field in response.json()["message"] or field == "code"  # a syntax error names its line


def test_bad_names_and_bodies(admin):
    assert publish(admin, "bad name!", "v1", code="y=1").status_code in (400, 404)
    not_json = admin.post(f"/services/{unique()}/v1", content=b"{oops", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["message"]
    assert admin.post(f"/services/{unique()}/v1", json=[1, 2]).status_code == 400


def test_types_aliases_and_data_frames(admin):
    name = unique()
    code = (
        "import pandas\n"
        "assert isinstance(frame, pandas.DataFrame), type(frame)\n"
        "out = frame.assign(total=frame['a'] + frame['b'])\n"
        "count = len(frame)\n"
        "flag = not flag\n"
        "label = label.upper()\n"
        "doubled = [v * 2 for v in values]\n"
        "transposed = [list(r) for r in zip(*grid)]\n"
    )
    assert publish(
        admin, name, "v1", code=code,
        inputParameterDefinitions=params(frame="dataframe", flag="bool", label="str", values="list", grid="matrix"),
        outputParameterDefinitions=params(out="data.frame", count="int", flag="logical", label="character",
                                          doubled="vector", transposed="matrix"),
    ).status_code == 201
    declared = admin.get(f"/services/{name}/v1").json()[0]
    assert [p["type"] for p in declared["inputParameterDefinitions"]] == ["data.frame", "logical", "character", "vector", "matrix"]
    inputs = {"frame": {"a": [1, 2], "b": [10, 20]}, "flag": True, "label": "iris", "values": [1, 2.5], "grid": [[1, 2], [3, 4]]}
    result = admin.post(f"/api/{name}/v1", json=inputs).json()
    assert result["success"], result["errorMessage"]
    assert result["outputParameters"] == {
        "out": {"a": [1, 2], "b": [10, 20], "total": [11, 22]},
        "count": 2, "flag": False, "label": "IRIS", "doubled": [2, 5.0], "transposed": [[1, 3], [2, 4]],
    }
    # Rows are accepted too and reach the code as the same frame.
    inputs["frame"] = [{"a": 1, "b": 10}, {"a": 2, "b": 20}]
    assert admin.post(f"/api/{name}/v1", json=inputs).json()["outputParameters"]["count"] == 2


@pytest.mark.parametrize(
    ("inputs", "field", "words"),
    [
        ({}, "x", "missing input 'x'"),
        ({"x": 1, "y": 2, "z": 3}, "z", "unexpected input 'z'"),
        ({"x": "one", "y": 2}, "x", "must be a number"),
        ({"x": True, "y": 2}, "x", "must be a number"),
        ({"x": 1, "y": 2.5}, "y", "must be an integer"),
        ({"x": 1, "y": None}, "y", "got null"),
    ],
)
def test_bad_inputs_are_400_naming_the_parameter(admin, inputs, field, words):
    name = getattr(test_bad_inputs_are_400_naming_the_parameter, "service", None)
    if name is None:
        name = unique()
        publish(admin, name, "v1", code="s = x + y", inputParameterDefinitions=params(x="numeric", y="integer"),
                outputParameterDefinitions=params(s="numeric"))
        test_bad_inputs_are_400_naming_the_parameter.service = name
    response = admin.post(f"/api/{name}/v1", json=inputs)
    assert response.status_code == 400
    body = response.json()
    assert body["fields"] == field and words in body["message"], body


def test_errors_in_service_code_are_answers(admin):
    name = unique()
    publish(admin, name, "v1", code="print('working')\ny = 1 / x", inputParameterDefinitions=params(x="numeric"),
            outputParameterDefinitions=params(y="numeric"))
    failed = admin.post(f"/api/{name}/v1", json={"x": 0})
    assert failed.status_code == 200
    body = failed.json()
    assert body["success"] is False and "ZeroDivisionError" in body["errorMessage"]
    assert body["consoleOutput"] == "working\n" and body["outputParameters"] == {}
    assert admin.post(f"/api/{name}/v1", json={"x": 4}).json()["outputParameters"] == {"y": 0.25}


def test_missing_or_unconvertible_output(admin):
    name = unique()
    publish(admin, name, "v1", code="if x:\n    y = 'many words'", inputParameterDefinitions=params(x="logical"),
            outputParameterDefinitions=params(y="numeric"))
    missing = admin.post(f"/api/{name}/v1", json={"x": False}).json()
    assert not missing["success"] and "'y' was not assigned" in missing["errorMessage"]
    wrong = admin.post(f"/api/{name}/v1", json={"x": True}).json()
    assert not wrong["success"] and "output 'y'" in wrong["errorMessage"]


def test_init_code_runs_once_per_worker(admin):
    name = unique()
    init = "import itertools\ncounter = itertools.count()\nloaded = 'yes'"
    publish(admin, name, "v1", code="n = next(counter)\nstate = loaded", initCode=init,
            outputParameterDefinitions=params(n="integer", state="character"))
    seen = [admin.post(f"/api/{name}/v1", json={}).json()["outputParameters"] for _ in range(3)]
    assert seen == [{"n": 0, "state": "yes"}, {"n": 1, "state": "yes"}, {"n": 2, "state": "yes"}]


def test_output_files_come_back_base64(admin):
    name = unique()
    code = "open('report.txt', 'w').write(text)\nif also:\n    open('extra.bin', 'wb').write(bytes([0, 1, 2]))"
    publish(admin, name, "v1", code=code, inputParameterDefinitions=params(text="character", also="logical"),
            outputFileNames=["report.txt", "extra.bin"])
    first = admin.post(f"/api/{name}/v1", json={"text": "hello", "also": True}).json()
    assert base64.b64decode(first["outputFiles"]["report.txt"]) == b"hello"
    assert base64.b64decode(first["outputFiles"]["extra.bin"]) == b"\x00\x01\x02"
    assert sorted(first["changedFiles"]) == ["extra.bin", "report.txt"]
    # A file made by an earlier request is not handed to the next one.
    second = admin.post(f"/api/{name}/v1", json={"text": "bye", "also": False}).json()
    assert second["outputFiles"] == {"report.txt": base64.b64encode(b"bye").decode(), "extra.bin": None}


def test_a_crashing_worker_is_replaced(admin):
    name = unique()
    publish(admin, name, "v1", code="import os\nif crash:\n    os._exit(3)\nok = True",
            inputParameterDefinitions=params(crash="logical"), outputParameterDefinitions=params(ok="logical"))
    crashed = admin.post(f"/api/{name}/v1", json={"crash": True})
    assert crashed.status_code == 500
    assert crashed.json()["success"] is False and "exited with code 3" in crashed.json()["errorMessage"]
    assert admin.post(f"/api/{name}/v1", json={"crash": False}).json()["outputParameters"] == {"ok": True}


def test_unknown_service_is_404(admin):
    response = admin.post("/api/no-such-service/v1", json={})
    assert response.status_code == 404 and "no-such-service" in response.json()["message"]
    assert admin.get("/api/no-such-service/v1/swagger.json").status_code == 404
    assert admin.delete("/services/no-such-service/v1").status_code == 404


def test_the_consume_path_answers_like_every_route(admin, live_server):
    """Consumes are answered ahead of the router (app.O16nApp): the same authentication, the same
    error bodies, and the paths around it still reach the router."""
    name = unique()
    assert publish(admin, name, "v1", code="y = x + 1",
                   inputParameterDefinitions=params(x="numeric"), outputParameterDefinitions=params(y="numeric")).status_code == 201
    url = f"{live_server.url}/api/{name}/v1"
    anonymous = httpx.post(url, json={"x": 1})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    forged = httpx.post(url, json={"x": 1}, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and forged.json()["message"]
    assert admin.post(f"/api/{name}/v1", json={"x": 1}).json()["outputParameters"] == {"y": 2}
    bad = admin.post(f"/api/{name}/v1", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["fields"] == "body"
    assert admin.get(f"/api/{name}/v1").status_code == 405  # the route is still in the table
    assert admin.post(f"/api/{name}/v1/extra", json={"x": 1}).status_code == 404
    assert admin.post(f"/api/{name}", json={"x": 1}).status_code == 404
    assert admin.get(f"/api/{name}/v1/swagger.json").json()["info"]["title"]


def test_deleting_the_snapshot_keeps_the_service(admin):
    session_id = admin.post("/sessions", json={}).json()["sessionId"]
    admin.post(f"/sessions/{session_id}/execute", json={"code": "secret = 41"})
    snapshot_id = admin.post(f"/sessions/{session_id}/snapshot", json={}).json()["snapshotId"]
    name = unique()
    publish(admin, name, "v1", code="y = secret + 1", snapshotId=snapshot_id, outputParameterDefinitions=params(y="integer"))
    admin.delete(f"/sessions/{session_id}")
    admin.delete(f"/snapshots/{snapshot_id}")
    assert admin.post(f"/api/{name}/v1", json={}).json()["outputParameters"] == {"y": 42}


def test_pool_settings(admin):
    name = unique()
    publish(admin, name, "v1", code="y = 1", outputParameterDefinitions=params(y="integer"))
    assert admin.get(f"/services/{name}/v1/pool").json()[0]["status"] == "NotFound"
    assert admin.post(f"/services/{name}/v1/pool", json={"initialPoolSize": 2, "maxPoolSize": 3}).status_code == 200
    assert admin.get(f"/services/{name}/v1/pool").json()[0]["status"] in ("Pending", "Success")
    bad = admin.post(f"/services/{name}/v1/pool", json={"InitialPoolSize": 5, "MaxPoolSize": 2})
    assert bad.status_code == 400 and bad.json()["fields"] == "MaxPoolSize"
    assert admin.delete(f"/services/{name}/v1/pool").status_code == 200
    assert admin.get(f"/services/{name}/v1/pool").json()[0]["status"] == "NotFound"


def test_hanging_and_memory_hungry_code_cost_one_request(server_factory):
    server = server_factory(consume_timeout=2, worker_memory_mb=1024)
    with server.client() as client:
        name = unique()
        code = (
            "import time\n"
            "if mode == 'hang':\n    time.sleep(60)\n"
            "if mode == 'eat':\n    hog = bytearray(4 * 1024 ** 3)\n"
            "done = mode"
        )
        publish(client, name, "v1", code=code, inputParameterDefinitions=params(mode="character"),
                outputParameterDefinitions=params(done="character"))
        hung = client.post(f"/api/{name}/v1", json={"mode": "hang"})
        assert hung.status_code == 504 and "within 2 s" in hung.json()["errorMessage"]
        eaten = client.post(f"/api/{name}/v1", json={"mode": "eat"})
        assert eaten.status_code == 200 and "memory" in eaten.json()["errorMessage"]
        assert client.post(f"/api/{name}/v1", json={"mode": "fine"}).json()["outputParameters"] == {"done": "fine"}


def test_revoscalepy_models_are_refused_clearly(admin):
    # realtime services take ONNX models (test_realtime.py); revoscalepy's format is named as such
    response = admin.post(f"/realtime-services/{unique()}", files={"model": ("m.bin", b"blob")})
    assert response.status_code == 400 and "rx_serialize_model" in response.json()["message"]


def test_status_reports_database_and_workers(admin):
    status = admin.get("/status").json()
    assert status["statusCode"] == "pass"
    assert status["components"]["database"]["details"]["type"] == "sqlite"
    backend = next(iter(status["components"]["backends"]["components"].values()))
    assert backend["details"]["pythonCanOpenShell"] == "True"


def test_core_openapi_document(admin):
    document = admin.get("/swagger.json").json()
    assert document["info"]["title"] == "o16n"
    assert "/services/{name}/{version}" in document["paths"]


def test_console_output_is_capped(server_factory):
    server = server_factory(max_console_bytes=1000)
    with server.client() as client:
        name = unique()
        publish(client, name, "v1", code="print('x' * 5000)\ndone = True", outputParameterDefinitions=params(done="logical"))
        result = client.post(f"/api/{name}/v1", json={}).json()
        assert result["success"] and result["outputParameters"] == {"done": True}
        assert result["consoleOutput"].startswith("x" * 1000) and "[console output truncated]" in result["consoleOutput"]
        assert len(result["consoleOutput"]) < 1100


def pool_workers(client) -> int:
    backend = next(iter(client.get("/status").json()["components"]["backends"]["components"].values()))
    return backend["details"]["pythonCurrentPoolSize"]


def test_idle_workers_are_closed_and_the_node_stays_under_its_limit(server_factory):
    import time

    server = server_factory(pool_idle_seconds=2, max_workers=1)
    with server.client() as client:
        first, second = unique(), unique()
        for name in (first, second):
            publish(client, name, "v1", code="y = x + 1", inputParameterDefinitions=params(x="integer"),
                    outputParameterDefinitions=params(y="integer"))
        # One worker for the whole node: the services take turns, each request still answered.
        for name in (first, second, first, second):
            assert client.post(f"/api/{name}/v1", json={"x": 1}).json()["outputParameters"] == {"y": 2}
            assert pool_workers(client) <= 1
        deadline = time.monotonic() + 15
        while pool_workers(client) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert pool_workers(client) == 0
        assert client.post(f"/api/{first}/v1", json={"x": 2}).json()["outputParameters"] == {"y": 3}
