"""Tests of o16n.client.

The first part needs no server: types, code generation, capture, display, and the wire protocol
checked against an in-process httpx.MockTransport that records every request. The second part runs
against a real o16n server on loopback (the ``live_server`` / ``server_factory`` fixtures).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from o16n.client import (
    AuthenticationError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerError,
    ServiceResult,
    capture,
    connect,
    param_type,
)
from o16n.client.definition import ServiceDefinition, call_code, infer_inputs, infer_outputs
from o16n.client.encoding import decode_output, encode_input, to_json
from o16n.client.results import RESULT_MIME, BatchResult


# ====================================================================== no server needed
class TestTypes:
    @pytest.mark.parametrize("declared, wire", [
        (float, "numeric"), (int, "integer"), (str, "character"), (bool, "logical"), (list, "vector"),
        (np.ndarray, "vector"), (pd.DataFrame, "data.frame"), (list[float], "vector"),
        ("numeric", "numeric"), ("data.frame", "data.frame"), ("matrix", "matrix"), ("float", "numeric"),
        ("str", "character"), ("string", "character"), ("dataframe", "data.frame"), ("vector", "vector"),
        ("logical", "logical"), ("integer", "integer"), ("character", "character"), (np.float64, "numeric"),
    ])
    def test_param_type(self, declared, wire):
        assert param_type(declared).wire == wire

    def test_unknown_type_is_explained(self):
        with pytest.raises(ValueError, match="numeric"):
            param_type("complex")
        with pytest.raises(ValueError):
            param_type(dict)

    def test_encode_inputs(self):
        assert encode_input(param_type(float), np.float32(1.5)) == 1.5
        assert encode_input(param_type(float), 2) == 2.0 and isinstance(encode_input(param_type(float), 2), float)
        assert encode_input(param_type(int), np.int64(3)) == 3
        assert encode_input(param_type(list), np.array([1, 2])) == [1, 2]
        assert encode_input(param_type("matrix"), np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
        frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
        assert encode_input(param_type(pd.DataFrame), frame) == {"a": [1, 2], "b": ["x", None]}
        assert to_json({"x": float("nan"), "y": np.bool_(True)}) == {"x": None, "y": True}
        assert json.dumps(to_json(pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])})))

    def test_decode_outputs(self):
        assert decode_output(param_type(list), [1, 2]) == [1, 2]
        arr = decode_output(param_type(np.ndarray), [1, 2])
        assert isinstance(arr, np.ndarray) and arr.tolist() == [1, 2]
        frame = decode_output(param_type("data.frame"), {"a": [1, 2]})
        assert isinstance(frame, pd.DataFrame) and frame["a"].tolist() == [1, 2]
        assert decode_output(param_type(float), 3) == 3.0
        assert decode_output(param_type(int), 3.0) == 3


def score(flower_data: list) -> str:
    return "setosa"


def several(a: float, b: float, c: int, d: str, e: bool) -> dict:
    return {"total": a + b + c, "label": d if e else ""}


def untyped(x, y):
    return x


def init_models():
    global ready
    ready = True


class TestDefinition:
    def test_inferred_from_annotations(self):
        assert {k: v.wire for k, v in infer_inputs(score).items()} == {"flower_data": "vector"}
        assert {k: v.wire for k, v in infer_outputs(score).items()} == {"result": "character"}

    def test_code_fn_body(self):
        d = ServiceDefinition(None, "iris").code_fn(score, init=init_models)
        body = d.request_body()
        assert body["code"].startswith("def score(flower_data: list) -> str:")
        assert body["code"].rstrip().endswith("result = score(flower_data)")
        assert body["operationId"] == "score"
        assert body["inputParameterDefinitions"] == [{"name": "flower_data", "type": "vector"}]
        assert body["outputParameterDefinitions"] == [{"name": "result", "type": "character"}]
        assert body["initCode"].rstrip().endswith("init_models()")
        assert body["runtimeType"] == "Python"
        assert "snapshotId" not in body

    def test_declared_output_name(self):
        d = ServiceDefinition(None, "iris").code_fn(score).outputs(iris_type=str).alias("predict")
        body = d.request_body()
        assert body["code"].rstrip().endswith("iris_type = score(flower_data)")
        assert body["operationId"] == "predict"

    def test_several_outputs_bind_dict_or_tuple(self):
        code = call_code("f", ["a"], ["x", "y"])
        ns: dict[str, Any] = {"a": 1, "f": lambda a: {"x": a, "y": a + 1}}
        exec(code, ns)
        assert (ns["x"], ns["y"]) == (1, 2)
        ns = {"a": 1, "f": lambda a: (a, a + 1)}
        exec(code, ns)
        assert (ns["x"], ns["y"]) == (1, 2)

    def test_generated_code_runs(self):
        d = ServiceDefinition(None, "s").code_fn(several).outputs(total=float, label=str)
        ns = {"a": 1.0, "b": 2.0, "c": 3, "d": "hi", "e": True}
        exec(d.request_body()["code"], ns)
        assert ns["total"] == 6.0 and ns["label"] == "hi"

    def test_untyped_function_needs_inputs(self):
        with pytest.raises(ValueError, match="annotation"):
            ServiceDefinition(None, "s").code_fn(untyped).request_body()
        body = ServiceDefinition(None, "s").code_fn(untyped).inputs(x=float, y=float).outputs(x=float).request_body()
        assert body["code"].rstrip().endswith("x = untyped(x, y)")

    def test_partial_body_for_redeploy(self):
        body = ServiceDefinition(None, "s").description("new words").request_body(partial=True)
        assert body == {"description": "new words", "runtimeType": "Python"}

    def test_code_str_without_types(self):
        body = ServiceDefinition(None, "s").code_str("y = x * 2").inputs(x=int).outputs(y=int).request_body()
        assert body["code"] == "y = x * 2" and "operationId" not in body

    def test_lambda_refused(self):
        with pytest.raises(ValueError, match="lambda"):
            ServiceDefinition(None, "s").code_fn(lambda x: x)


class TestCapture:
    def test_unpicklable_reported_rest_taken(self, tmp_path):
        fh = open(tmp_path / "f.txt", "w")
        try:
            ns = {
                "model": {"weights": [1, 2, 3]},
                "frame": pd.DataFrame({"a": [1]}),
                "gen": (i for i in range(3)),
                "fh": fh,
                "lock": threading.Lock(),
                "np": np,
                "In": [""], "Out": {}, "_": 1, "__": 2, "_i1": "x", "_oh": {}, "exit": object(),
                "get_ipython": lambda: None,
            }
            result = capture(ns)
        finally:
            fh.close()
        assert set(result.objects) == {"model", "frame"}
        assert set(result.failed) == {"gen", "fh", "lock"}
        assert "generator" in result.failed["gen"]
        assert "file" in result.failed["fh"]
        assert "lock" in result.failed["lock"]
        assert "np" in result.skipped and "In" in result.skipped and "_i1" in result.skipped
        assert result.sizes["model"] > 0 and result.total_size == sum(result.sizes.values())
        assert result.load("model") == {"weights": [1, 2, 3]}
        assert "gen" in repr(result) and "<table>" in result._repr_html_()

    def test_named_subset(self):
        result = capture({"a": 1, "b": 2}, names=["a", "zz"])
        assert set(result.objects) == {"a"} and result.failed == {"zz": "no such variable"}

    def test_serialize_failure_message(self):
        class Bad:
            def __reduce__(self):
                raise TypeError("nope")
        result = capture({"bad": Bad(), "ok": 1})
        assert "nope" in result.failed["bad"] and "ok" in result.objects


class TestResultDisplay:
    def test_mimebundle(self):
        body = {"success": True, "errorMessage": "", "consoleOutput": "hi\n", "changedFiles": [],
                "outputFiles": {"a.txt": base64.b64encode(b"hello").decode(), "b.png": None},
                "outputParameters": {"y": 10, "df": {"c": [1, 2]}}}
        r = ServiceResult(body, name="Double", version="1", elapsed=0.01,
                          output_types={"y": param_type(int), "df": param_type("data.frame")})
        bundle = r._repr_mimebundle_()
        data = bundle[RESULT_MIME]
        assert data["name"] == "Double" and data["success"] is True and data["outputParameters"]["y"] == 10
        assert data["outputFiles"] == ["a.txt", "b.png"] and data["elapsed"] == 0.01
        assert json.dumps(data)
        assert "text/html" in bundle and "y = 10" in bundle["text/plain"]
        assert isinstance(r["df"], pd.DataFrame)
        assert r.output_file("a.txt") == b"hello" and r.output_file("a.txt", encoding="utf-8") == "hello"
        assert r.output_file("b.png") is None

    def test_batch_result(self):
        body = {"state": "Complete", "completedItemCount": 2, "totalItemCount": 2,
                "batchExecutionResults": [{"success": True, "outputParameters": {"y": 2}},
                                          {"success": False, "errorMessage": "boom", "outputParameters": {}}]}
        b = BatchResult(body, execution_id="e1", name="s", version="1")
        assert b.done and not b.failed and len(b) == 2
        assert b.execution(0).output("y") == 2 and b.execution(1).error == "boom"
        assert b.to_frame()["success"].tolist() == [True, False]


# ---------------------------------------------------------------------- wire protocol (MockTransport)
class FakeServer:
    """Just enough of the REST API to check what the client sends, recorded in ``calls``."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.lifetime = lifetime
        self.counter = 0
        self.valid_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.services: dict[tuple[str, str], dict] = {}
        self.fail_next_with_401 = False

    def _tokens(self) -> httpx.Response:
        self.counter += 1
        access, refresh = f"a{self.counter}", f"r{self.counter}"
        self.valid_access = {access}
        self.valid_refresh = {refresh}
        return httpx.Response(200, json={"token_type": "Bearer", "access_token": access, "expires_in": self.lifetime,
                                         "expires_on": int(time.time() + self.lifetime), "refresh_token": refresh})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = request.content
        p = request.url.path
        self.calls.append((request.method, p + (f"?{request.url.query.decode()}" if request.url.query else ""), body))
        if p == "/login":
            if body == {"username": "admin", "password": "pw"}:
                return self._tokens()
            return httpx.Response(401, json={"message": "invalid credentials"})
        if p == "/login/refreshToken" and request.method == "POST":
            if body.get("refreshToken") in self.valid_refresh:
                return self._tokens()
            return httpx.Response(401, json={"message": "invalid or expired refresh token"})
        auth = request.headers.get("authorization", "")
        if self.fail_next_with_401 or auth.removeprefix("Bearer ") not in self.valid_access:
            self.fail_next_with_401 = False
            return httpx.Response(401, json={"message": "expired access token"})
        if p == "/login/refreshToken" and request.method == "DELETE":
            self.valid_refresh.discard(request.url.params["refreshToken"])
            return httpx.Response(200, json={})
        if p == "/sessions":
            return httpx.Response(201, json={"sessionId": "S1"})
        if p.startswith("/sessions/S1/workspace/"):
            return httpx.Response(200)
        if p == "/sessions/S1/snapshot":
            return httpx.Response(201, json={"snapshotId": "SN1"})
        if p.startswith("/services/") and request.method in ("POST", "PATCH"):
            parts = p.split("/")[2:]
            name, version = parts[0], (parts[1] if len(parts) > 1 else "guid-1")
            meta = self.services.setdefault((name, version), {"name": name, "version": version})
            meta.update(body)
            return httpx.Response(201 if request.method == "POST" else 200, text="Created")
        if p.startswith("/services/") and request.method == "GET":
            parts = p.split("/")[2:]
            found = [m for (n, v), m in self.services.items() if n == parts[0] and (len(parts) == 1 or v == parts[1])]
            return httpx.Response(200, json=found) if found else httpx.Response(404, json={"message": "no such service"})
        if p.startswith("/api/"):
            return httpx.Response(200, json={"success": True, "errorMessage": "", "consoleOutput": "",
                                             "changedFiles": [], "outputFiles": {}, "outputParameters": {"y": 2}})
        if p == "/status":
            return httpx.Response(200, json={"statusCode": "pass"})
        if p == "/forbidden":
            return httpx.Response(403, json={"message": "another user owns this service"})
        if p == "/broken":
            return httpx.Response(500, text="kaboom")
        if p == "/bad":
            return httpx.Response(400, json={"message": "input 'x' must be a number", "fields": "x", "code": 400})
        return httpx.Response(200, json={})


@pytest.fixture
def fake(monkeypatch):
    for var in ("O16N_URL", "O16N_USER", "O16N_PASSWORD", "O16N_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    return FakeServer()


def _connect(fake, **kw):
    return connect("http://o16n.test", "admin", "pw", transport=httpx.MockTransport(fake), **kw)


class TestWire:
    def test_login_and_revoke_on_close(self, fake):
        with _connect(fake) as client:
            assert client.status() == {"statusCode": "pass"}
        assert fake.calls[0][:2] == ("POST", "/login")
        assert fake.calls[-1][:2] == ("DELETE", "/login/refreshToken?refreshToken=r1")

    def test_bad_password(self, fake):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            connect("http://o16n.test", "admin", "nope", transport=httpx.MockTransport(fake))

    def test_refresh_before_expiry(self, fake):
        fake.lifetime = 1
        client = _connect(fake)
        time.sleep(1.1)
        client.status()
        methods = [(m, p) for m, p, _ in fake.calls]
        assert ("POST", "/login/refreshToken") in methods
        assert fake.calls[methods.index(("POST", "/login/refreshToken"))][2] == {"refreshToken": "r1"}
        client.close()

    def test_refresh_after_401_and_retry_once(self, fake):
        client = _connect(fake)
        fake.fail_next_with_401 = True
        assert client.status() == {"statusCode": "pass"}
        assert [c[:2] for c in fake.calls[-3:]] == [("GET", "/status"), ("POST", "/login/refreshToken"), ("GET", "/status")]

    def test_token_only_cannot_refresh(self, fake):
        client = connect("http://o16n.test", token="bogus", transport=httpx.MockTransport(fake))
        with pytest.raises(AuthenticationError):
            client.status()
        client.close()
        assert not any(c[0] == "DELETE" for c in fake.calls)  # not ours to revoke

    def test_errors_are_typed(self, fake):
        client = _connect(fake)
        t = client._transport
        with pytest.raises(PermissionDenied, match="another user"):
            t.request("GET", "/forbidden")
        with pytest.raises(ServerError, match="kaboom"):
            t.request("GET", "/broken")
        with pytest.raises(InvalidInput) as err:
            t.request("GET", "/bad")
        assert err.value.field == "x" and err.value.status == 400
        with pytest.raises(NotFound):
            client.get_service("nothing")

    def test_unreachable_is_server_error(self, monkeypatch):
        monkeypatch.delenv("O16N_CREDENTIALS_FILE", raising=False)
        with pytest.raises(ServerError, match="cannot reach"):
            connect("http://127.0.0.1:9", "admin", "pw", timeout=2)

    def test_env_and_credentials_file(self, fake, monkeypatch, tmp_path):
        monkeypatch.setenv("O16N_URL", "http://o16n.test")
        monkeypatch.setenv("O16N_USER", "admin")
        monkeypatch.setenv("O16N_PASSWORD", "pw")
        connect(transport=httpx.MockTransport(fake)).close()
        assert fake.calls[0] == ("POST", "/login", {"username": "admin", "password": "pw"})
        # a credentials file holding a refresh token wins over O16N_USER/O16N_PASSWORD
        fake.calls.clear()
        cred = tmp_path / "cred.json"
        fake.valid_refresh = {"rX"}
        cred.write_text(json.dumps({"url": "http://o16n.test", "refresh_token": "rX"}))
        monkeypatch.setenv("O16N_CREDENTIALS_FILE", str(cred))
        monkeypatch.delenv("O16N_URL")
        client = connect(transport=httpx.MockTransport(fake))
        assert fake.calls[0] == ("POST", "/login/refreshToken", {"refreshToken": "rX"})
        assert client.url == "http://o16n.test"
        client.close()
        assert not any(c[0] == "DELETE" for c in fake.calls)  # the file's token is the extension's
        cred.write_text(json.dumps({"url": "http://o16n.test", "username": "admin", "password": "pw"}))
        fake.calls.clear()
        connect(transport=httpx.MockTransport(fake)).close()
        assert fake.calls[0] == ("POST", "/login", {"username": "admin", "password": "pw"})

    def test_no_credentials(self, fake):
        with pytest.raises(AuthenticationError, match="O16N_USER"):
            connect("http://o16n.test", transport=httpx.MockTransport(fake))

    def test_deploy_sequence_with_objects(self, fake):
        client = _connect(fake)
        svc = (client.service("iris").version("1.0").description("d").code_fn(score)
               .objects(clf={"w": 1}).objects(names=["a", "b"]).output_files(["out.png"]).deploy())
        sent = [(m, p) for m, p, _ in fake.calls[1:]]
        assert sent == [
            ("POST", "/sessions"),
            ("POST", "/sessions/S1/workspace/clf"),
            ("POST", "/sessions/S1/workspace/names"),
            ("POST", "/sessions/S1/snapshot"),
            ("POST", "/services/iris/1.0"),
            ("DELETE", "/sessions/S1"),
            ("DELETE", "/snapshots/SN1"),
            ("GET", "/services/iris/1.0"),
        ]
        assert fake.calls[1][2] == {"runtimeType": "Python"}
        import dill
        assert dill.loads(fake.calls[2][2]) == {"w": 1}
        publish = fake.calls[5][2]
        assert publish["snapshotId"] == "SN1" and publish["outputFileNames"] == ["out.png"]
        assert publish["runtimeType"] == "Python" and publish["operationId"] == "score"
        assert svc.name == "iris" and hasattr(svc, "score")
        assert svc.score([1, 2, 3, 4]).output("y") == 2
        assert fake.calls[-1] == ("POST", "/api/iris/1.0", {"flower_data": [1, 2, 3, 4]})

    def test_deploy_without_objects_skips_session(self, fake):
        client = _connect(fake)
        client.service("double").code_str("y = x * 2").inputs(x=int).outputs(y=int).deploy()
        sent = [(m, p) for m, p, _ in fake.calls[1:]]
        assert sent == [("POST", "/services/double"), ("GET", "/services/double")]

    def test_session_closed_even_when_publish_fails(self, fake):
        client = _connect(fake)
        fake.services[("x", "1")] = {"name": "x", "version": "1"}
        original = fake.__call__

        def refuse(request):
            if request.url.path == "/services/x/1" and request.method == "POST":
                fake.calls.append((request.method, request.url.path, None))
                return httpx.Response(403, json={"message": "exists; use patch"})
            return original(request)
        client._transport.http._transport = httpx.MockTransport(refuse)
        with pytest.raises(PermissionDenied, match="use patch"):
            client.service("x").version("1").code_str("y=1").objects(o=1).deploy()
        assert [c[:2] for c in fake.calls[-2:]] == [("DELETE", "/sessions/S1"), ("DELETE", "/snapshots/SN1")]

    def test_redeploy_sends_only_given_fields(self, fake):
        client = _connect(fake)
        client.service("double").version("1").code_str("y = x * 2").inputs(x=int).outputs(y=int).deploy()
        fake.calls.clear()
        client.service("double").version("1").description("twice x").redeploy()
        assert fake.calls[0] == ("PATCH", "/services/double/1", {"description": "twice x", "runtimeType": "Python"})

    def test_call_binding(self, fake):
        client = _connect(fake)
        svc = client.service("s").version("1").code_fn(several).outputs(total=float, label=str).deploy()
        svc(1, 2, 3, "x", True)
        assert fake.calls[-1][2] == {"a": 1.0, "b": 2.0, "c": 3, "d": "x", "e": True}
        svc(a=np.float64(1), b=2, c=np.int64(3), d="x", e=np.bool_(False))
        assert fake.calls[-1][2] == {"a": 1.0, "b": 2.0, "c": 3, "d": "x", "e": False}
        with pytest.raises(TypeError, match="missing"):
            svc(1, 2)
        with pytest.raises(TypeError, match="no input"):
            svc(1, 2, 3, "x", True, zz=1)
        records = svc._records(pd.DataFrame({"e": [True], "a": [1.0], "b": [2.0], "c": [3], "d": ["q"]}))
        assert records == [{"a": 1.0, "b": 2.0, "c": 3, "d": "q", "e": True}]
        assert svc._records({"a": [1], "b": [2], "c": [3], "d": ["q"], "e": [False]})[0]["c"] == 3


# ====================================================================== live server
IRIS_NAMES = ["setosa", "versicolor", "virginica"]


@pytest.fixture
def client(live_server):
    with connect(live_server.url, live_server.admin_user, live_server.admin_password) as c:
        yield c


def _unique(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000) % 10**9}"


def test_live_deploy_code_fn_inferred_types(client):
    from sklearn import datasets, svm
    iris = datasets.load_iris()
    clf = svm.SVC().fit(iris.data, iris.target)
    names = IRIS_NAMES

    def predict_iris(flower_data: list) -> str:
        return names[int(clf.predict([flower_data])[0])]

    name = _unique("iris")
    svc = client.service(name).version("v1").description("iris").code_fn(predict_iris).objects(clf=clf, names=names).deploy()
    try:
        assert svc.inputs["flower_data"].wire == "vector" and svc.outputs["result"].wire == "character"
        r = svc.predict_iris([5.1, 3.5, 1.4, 0.2])
        assert r.success, r.error
        assert r.output() == "setosa"
        r2 = svc(flower_data=[7, 3.2, 4.7, 1.4])
        assert r2.output() == "versicolor"
        assert r2.elapsed > 0
        # the throwaway snapshot was deleted but the service keeps working
        assert all(s.get("id") != svc.snapshot_id for s in client.list_snapshots())
        latest = client.get_service(name)
        assert latest.version == "v1" and latest.operation_id == "predict_iris"
        swagger = svc.swagger()
        assert swagger["swagger"] == "2.0"
        caps = svc.capabilities()
        assert caps["inputs"] == {"flower_data": "vector"} and caps["operation_id"] == "predict_iris"
    finally:
        client.delete_service(name, "v1")
    with pytest.raises(NotFound):
        client.get_service(name, "v1")


def test_live_code_str_explicit_types_positional_and_keyword(client):
    name = _unique("double")
    svc = (client.service(name).version("1.0").code_str("y = x * 2\nprint('doubled')")
           .inputs(x=int).outputs(y=int).alias("double").deploy())
    try:
        assert svc(5).output("y") == 10
        assert svc(x=6)["y"] == 12
        r = svc.double(7)
        assert r.outputs == {"y": 14} and "doubled" in r.console_output
        with pytest.raises(InvalidInput) as err:
            client._transport.request("POST", svc.api, json={"x": "seven"})
        assert "x" in str(err.value)
        listed = client.list_services(name)
        assert [s["version"] for s in listed] == ["1.0"]
        svc2 = client.service(name).version("1.0").description("now described").redeploy()
        assert svc2.description == "now described" and svc2(2).output("y") == 4
    finally:
        client.delete_service(name, "1.0")


def test_live_dataframe_in_and_out_and_many_inputs(client):
    def frame_stats(df: pd.DataFrame, a: float, b: float, c: int, d: str, e: bool) -> dict:
        out = df.copy()
        out["total"] = out.sum(axis=1) * a + b + c
        return {"frame": out, "label": d.upper() if e else d}

    name = _unique("frames")
    svc = client.service(name).version("1").code_fn(frame_stats).outputs(frame=pd.DataFrame, label=str).deploy()
    try:
        assert list(svc.inputs) == ["df", "a", "b", "c", "d", "e"]
        df = pd.DataFrame({"p": [1.0, 2.0], "q": [3.0, 4.0]})
        r = svc(df, 2.0, 1.0, 1, "hi", True)
        assert r.success, r.error
        frame = r["frame"]
        assert isinstance(frame, pd.DataFrame)
        assert frame["total"].tolist() == [10.0, 14.0]
        assert r["label"] == "HI"
        r = svc(df=df.to_dict(orient="records"), a=np.float64(1), b=0, c=np.int64(0), d="x", e=np.bool_(False))
        assert r.success and r["frame"]["total"].tolist() == [4.0, 6.0] and r["label"] == "x"
    finally:
        client.delete_service(name, "1")


def test_live_service_error_is_result_not_exception(client):
    name = _unique("boom")
    svc = client.service(name).version("1").code_str("raise ValueError('bad thing')").inputs(x=int).outputs(y=int).deploy()
    try:
        r = svc(1)
        assert not r.success and "bad thing" in r.error
    finally:
        client.delete_service(name, "1")


def test_live_token_expiring_mid_use_is_refreshed(server_factory):
    server = server_factory(access_token_lifetime=2)
    with connect(server.url, server.admin_user, server.admin_password) as c:
        first = c._transport.access_token
        name = _unique("tok")
        svc = c.service(name).version("1").code_str("y = x + 1").inputs(x=int).outputs(y=int).deploy()
        time.sleep(3)
        assert svc(1).output("y") == 2
        assert c._transport.access_token != first
        # and after a 401 (token invalidated behind our back) it renews and retries once
        c._transport._access_token = "not-a-token"
        c._transport._expires_at = time.time() + 3600
        assert svc(2).output("y") == 3
        c.delete_service(name, "1")


def test_live_batch_of_100_rows_with_progress(client, capsys):
    name = _unique("batch")
    svc = client.service(name).version("1").code_str("y = a * b").inputs(a=float, b=float).outputs(y=float).deploy()
    try:
        df = pd.DataFrame({"b": [2.0] * 100, "a": [float(i) for i in range(100)]})
        batch = svc.batch(df, parallel_count=5).start()
        assert batch.execution_id
        done = batch.wait(timeout=240, poll_interval=0.2)
        assert done.state == "Complete", done
        assert done.total_item_count == 100 and done.completed_item_count == 100
        assert [done.execution(i).output("y") for i in range(100)] == [2.0 * i for i in range(100)]
        assert done.to_frame()["y"].tolist()[:3] == [0.0, 2.0, 4.0]
        err = capsys.readouterr().err
        assert "100" in err  # tqdm progress bar went to stderr
        assert batch.execution_id in svc.list_batch_executions()
        batch.cancel()
    finally:
        client.delete_service(name, "1")


def test_live_batch_output_files(client, tmp_path):
    name = _unique("files")
    code = "open('out.txt', 'w').write('row %d' % i)\ny = i"
    svc = client.service(name).version("1").code_str(code).inputs(i=int).outputs(y=int).output_files(["out.txt"]).deploy()
    try:
        r = svc(3)
        assert r.output_file("out.txt", encoding="utf-8") == "row 3"
        batch = svc.batch([{"i": 0}, {"i": 1}]).start()
        batch.wait(timeout=120, progress=False)
        assert "out.txt" in batch.list_output_files(1)
        assert batch.output_file(1, "out.txt") == b"row 1"
        paths = batch.download(0, "out.txt", tmp_path)
        assert open(paths[0]).read() == "row 0"
    finally:
        client.delete_service(name, "1")


def test_live_capture_with_unpicklable_object_then_publish(client, tmp_path):
    fh = open(tmp_path / "log.txt", "w")
    ns = {"scale": 3, "offsets": [1, 2], "handle": fh, "stream": (i for i in range(2)), "json": json}
    try:
        taken = capture(ns)
    finally:
        fh.close()
    assert set(taken.objects) == {"scale", "offsets"}
    assert set(taken.failed) == {"handle", "stream"}
    name = _unique("captured")
    svc = (client.service(name).version("1").code_str("y = x * scale + offsets[1]")
           .inputs(x=int).outputs(y=int).objects(**taken.objects).deploy())
    try:
        assert svc(2).output("y") == 8
    finally:
        client.delete_service(name, "1")


def test_live_sessions(client):
    with client.create_session("work") as session:
        session.put_object("base", 40)
        r = session.execute("total = base + extra\nprint('sum', total)", inputs={"extra": 2}, outputs=["total"])
        assert r.success, r.error
        assert r.outputs == {"total": 42} and "sum 42" in r.console_output
        assert session.get_object("base") == 40
        bad = session.execute("1/0")
        assert not bad.success and "ZeroDivision" in bad.error
        snap = session.snapshot("work-snap")
        assert any(s["id"] == snap for s in client.list_snapshots())
        client.delete_snapshot(snap)


def test_live_status_and_errors(client, live_server):
    assert client.status()["statusCode"] in ("pass", "warn")
    with pytest.raises(AuthenticationError):
        connect(live_server.url, live_server.admin_user, "wrong password")
    with pytest.raises(NotFound):
        client.delete_service(_unique("missing"), "1")


def test_live_close_revokes_refresh_token(live_server):
    c = connect(live_server.url, live_server.admin_user, live_server.admin_password)
    refresh = c._transport.refresh_token
    assert refresh
    c.close()
    answer = httpx.post(live_server.url + "/login/refreshToken", json={"refreshToken": refresh})
    assert answer.status_code == 401


def test_live_credentials_file(live_server, tmp_path, monkeypatch):
    tokens = live_server.login()
    cred = tmp_path / "kernel-credentials.json"
    cred.write_text(json.dumps({"url": live_server.url, "refresh_token": tokens["refresh_token"]}))
    for var in ("O16N_URL", "O16N_USER", "O16N_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("O16N_CREDENTIALS_FILE", str(cred))
    with connect() as c:
        assert c.url == live_server.url
        assert c.status()["statusCode"] in ("pass", "warn")
