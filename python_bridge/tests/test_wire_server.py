"""The wire vocabulary against a real o16n server: every spelling of the one type table, and request
bodies that used to hurt (NaN, infinities, huge numbers, deep nesting) refused naming their field
while the warm worker lives on (#11 item 4)."""

from __future__ import annotations

import uuid

import pytest
from o16n.client import InvalidInput, connect, param_type
from o16n.wire.types import SPELLINGS

pytestmark = pytest.mark.timeout(300)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_every_spelling_of_the_table_through_a_real_server(admin, live_server):
    spellings = sorted(SPELLINGS) + [s.upper() for s in sorted(SPELLINGS)]
    name = unique("spellings")
    inputs = [{"name": f"i{n}", "type": s} for n, s in enumerate(spellings)]
    answer = admin.post(f"/services/{name}/1", json={"code": "pass", "inputParameterDefinitions": inputs})
    assert answer.status_code == 201, answer.text
    stored = admin.get(f"/services/{name}/1").json()[0]["inputParameterDefinitions"]
    assert [p["type"] for p in stored] == [param_type(s).wire for s in spellings]
    # the client sends the same spellings and the server takes them (it used to refuse tuple & co)
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as client:
        kinds = {f"x{n}": s for n, s in enumerate(("tuple", "numpy.ndarray", "pd.DataFrame", "np.ndarray"))}
        svc = client.service(unique("client-spellings")).version("1").code_str("pass").inputs(**kinds).deploy()
        assert [t.wire for t in svc.inputs.values()] == ["vector", "vector", "data.frame", "vector"]
        client.delete_service(svc.name, "1")
        for unknown in ("complex", "dict", "list[float]"):
            with pytest.raises(ValueError, match="unknown parameter type"):
                param_type(unknown)
            refused = admin.post(f"/services/{unique('unknown')}/1", json={
                "code": "pass", "inputParameterDefinitions": [{"name": "x", "type": unknown}]})
            assert refused.status_code == 400 and "unknown parameter type" in refused.json()["message"]
    admin.delete(f"/services/{name}/1")


def kw_only(a, b=1, *, c):
    return a * 100 + b * 10 + c


def test_defect_1_a_keyword_only_input_consumes_correctly(live_server):
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as client:
        name = unique("kwonly")
        svc = client.service(name).version("1").code_fn(kw_only).inputs(a=int, c=int).outputs(result=int).deploy()
        try:
            assert svc.code.rstrip().endswith("result = kw_only(a, c=c)")
            assert svc(a=2, c=5).output() == 215
        finally:
            client.delete_service(name, "1")
        with pytest.raises(ValueError, match="must start with a letter or digit"):
            client.service("-bad")
        with pytest.raises(ValueError, match="'version'"):
            client.service("ok").version("v1\n")


BAD_BODIES = [
    (b'{"x": NaN, "v": [1]}', "x"), (b'{"x": Infinity, "v": [1]}', "x"), (b'{"x": -Infinity, "v": [1]}', "x"),
    (b'{"x": 1e400, "v": [1]}', "x"), (b'{"x": ' + b"9" * 400 + b', "v": [1]}', "x"),
    (b'{"x": ' + b"9" * 5000 + b', "v": [1]}', "x"), (b'{"x": 1, "v": [1, NaN]}', "v"),
    (b'{"x": 1, "v": [[2], [3e999]]}', "v"), (b'{"x": 1, "v": ' + b"[" * 950 + b"]" * 950 + b"}", "body"),
    (b'{"x": 1, "v": [1], "f": {"a": [NaN]}}', "f"),
]


@pytest.fixture(scope="module")
def reader_service(live_server):
    """A service a Reader calls; it answers its worker's pid, so a replaced worker shows."""
    with live_server.client() as admin:
        name = unique("hardened")
        body = {"code": "import os\npid = os.getpid()\ny = x + len(v)",
                "inputParameterDefinitions": [{"name": "x", "type": "numeric"}, {"name": "v", "type": "vector"}],
                "outputParameterDefinitions": [{"name": "pid", "type": "integer"}, {"name": "y", "type": "numeric"}]}
        assert admin.post(f"/services/{name}/1", json=body).status_code == 201
        password = "reader-Secret-123"
        reader = unique("reader")
        live_server.add_user(reader, password, "Reader")
        with live_server.client(reader, password) as client:
            yield name, client
        admin.delete(f"/services/{name}/1")


@pytest.mark.parametrize(("raw", "field"), BAD_BODIES)
def test_bodies_that_could_hurt_are_400_naming_the_field(reader_service, raw, field):
    name, reader = reader_service
    first = reader.post(f"/api/{name}/1", json={"x": 1, "v": [1, 2]})
    assert first.status_code == 200 and first.json()["success"], first.text
    pid = first.json()["outputParameters"]["pid"]
    refused = reader.post(f"/api/{name}/1", content=raw, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["fields"] == field, refused.json()
    again = reader.post(f"/api/{name}/1", json={"x": 2, "v": [1]})
    assert again.status_code == 200 and again.json()["outputParameters"] == {"pid": pid, "y": 3.0}  # same worker


def test_batch_sessions_and_publish_bodies_are_guarded_too(admin, reader_service):
    name, reader = reader_service
    batch = reader.post(f"/api/{name}/1/batch", content=b'[{"x": 1, "v": [1]}, {"x": NaN, "v": [1]}]',
                        headers={"Content-Type": "application/json"})
    assert batch.status_code == 400 and batch.json()["fields"] == "x"
    session_id = admin.post("/sessions", json={}).json()["sessionId"]
    try:
        execute = admin.post(f"/sessions/{session_id}/execute", headers={"Content-Type": "application/json"},
                             content=b'{"code": "y = x", "inputParameters": [{"name": "x", "value": Infinity}]}')
        assert execute.status_code == 400 and execute.json()["fields"] == "inputParameters"
        assert admin.post(f"/sessions/{session_id}/execute", json={"code": "y = 1"}).json()["success"] is True
    finally:
        admin.delete(f"/sessions/{session_id}")
    publish = admin.post(f"/services/{unique('nan')}/1", headers={"Content-Type": "application/json"},
                         content=b'{"code": "pass", "description": "x", "poolSize": NaN}')
    assert publish.status_code == 400 and publish.json()["fields"] == "poolSize"


def test_a_nan_from_the_client_is_a_400_naming_the_input(live_server):
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as client:
        name = unique("client-nan")
        svc = client.service(name).version("1").code_str("y = x").inputs(x=float).outputs(y=float).deploy()
        try:
            with pytest.raises(InvalidInput) as refused:  # NaN travels as null (to_json): the server names the input
                svc(float("nan"))
            assert refused.value.field == "x"
            assert svc(1.5).output() == 1.5
        finally:
            client.delete_service(name, "1")
