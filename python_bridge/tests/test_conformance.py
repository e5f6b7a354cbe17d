"""Conformance with the original documents: every response of the walkthrough validates against the
9.1 swagger (and the 9.3 one for pools), read at test time from ../shared/reference/.

The places where the original contradicts itself (its own examples, or what the real server sent)
are allowed explicitly below, each with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dill
import httpx
import jsonschema
import pytest

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"

# (operation, JSON path inside the body): where the original document is known to be wrong.
ALLOWED = {
    # The document says string; its own example and the real server send an integer (epoch seconds).
    ("AccessTokenResponse", "expires_on"),
    # /status: `details` values are strings and numbers on the wire, the document says objects.
    ("StatusResponse", "details.*"),
    # A WorkspaceObject's value is any JSON value (the examples show numbers and strings), not only objects.
    ("WorkspaceObject", "value"),
    # The document types the per-service swagger as an object of objects; a swagger document has strings.
    ("SwaggerJsonResponse", "*"),
}


def load(name: str) -> dict[str, Any]:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"the reference document {path} is not here (it lives beside the repository, in shared/)")
    return json.loads(path.read_text())


@dataclass
class Seen:
    method: str
    path: str
    status: int
    content_type: str
    body: Any


class Document:
    """One swagger 2.0 document: find the operation of a request and check a response against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in spec["paths"]]

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        # The most specific template first: /services/{name}/{version} before /services/{name}.
        for pattern, template in sorted(self.routes, key=lambda r: -r[1].count("/")):
            if pattern.match(path):
                return self.spec["paths"][template].get(method.lower())
        return None

    def problems(self, seen: Seen) -> list[str]:
        op = self.operation(seen.method, seen.path)
        if op is None:
            return []  # not an operation of this document
        response = op["responses"].get(str(seen.status)) or op["responses"].get("default")
        if response is None:
            return [f"{seen.method} {seen.path}: status {seen.status} is not documented"]
        produces = op.get("produces") or self.spec.get("produces") or []
        schema = response.get("schema") or {}
        found: list[str] = []
        is_file = schema.get("type") == "file"  # a file is any bytes, whatever the document's default media type
        if seen.status < 300 and produces and not is_file and not any(seen.content_type.startswith(p) for p in produces):
            found.append(f"{seen.method} {seen.path}: answered {seen.content_type}, the document says {produces}")
        if schema and not is_file and seen.status < 300:
            found += self._validate(seen, schema)
        return found

    def _validate(self, seen: Seen, schema: dict[str, Any]) -> list[str]:
        resolved = self._inline(schema, None)
        validator = jsonschema.Draft4Validator(resolved)
        found = []
        for error in validator.iter_errors(seen.body):
            where = ".".join(str(p) for p in error.absolute_path)
            definition = _definition_of(resolved, error)
            if _allowed(definition, where):
                continue
            found.append(f"{seen.method} {seen.path} {seen.status}: {where or '(body)'}: {error.message}")
        return found

    def _inline(self, schema: Any, within: str | None) -> Any:
        """Replace $refs by the definitions they name (none of these documents is recursive but
        StatusResponse, whose recursion is cut at one level), marking where each came from."""
        if isinstance(schema, dict):
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                if name == within:
                    return {"x-definition": name}
                inlined = self._inline(self.spec["definitions"][name], name)
                return {**inlined, "x-definition": name}
            return {k: self._inline(v, within) for k, v in schema.items()}
        if isinstance(schema, list):
            return [self._inline(v, within) for v in schema]
        return schema


def _definition_of(resolved: Any, error: jsonschema.ValidationError) -> str | None:
    """The named definition the failing part of the schema belongs to (the last one on its path)."""
    name, node = resolved.get("x-definition"), resolved
    for step in error.absolute_schema_path:
        node = node[step]
        if isinstance(node, dict) and "x-definition" in node:
            name = node["x-definition"]
    return name


def _allowed(definition: str | None, where: str) -> bool:
    """Is this place on the allow-list? `where` is matched from the end (a definition may be nested)."""
    for name, pattern in ALLOWED:
        regex = "(^|\\.)" + re.escape(pattern).replace(r"\*", "[^.]*") + "$"
        if name == definition and (pattern == "*" or re.search(regex, where)):
            return True
    return False


class Recorder:
    """An httpx client that keeps every response it got, for checking them all at the end."""

    def __init__(self, url: str) -> None:
        self.seen: list[Seen] = []
        self.http = httpx.Client(base_url=url, timeout=120, event_hooks={"response": [self._keep]})

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        content_type = response.headers.get("content-type", "")
        body: Any = response.content
        if "json" in content_type:
            body = response.json()
        elif content_type.startswith("text/"):
            body = response.text
        self.seen.append(Seen(response.request.method, response.request.url.path, response.status_code,
                              content_type, body))

    def login(self, username: str, password: str) -> dict[str, Any]:
        tokens = self.http.post("/login", json={"username": username, "password": password}).json()
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        return tokens


def walkthrough(server: Any) -> list[Seen]:
    """The seed walkthrough and the rest of the core API, as a client of the 9.1 API drives them."""
    r = Recorder(server.url)
    h = r.http
    tokens = r.login(server.admin_user, server.admin_password)
    renewed = h.post("/login/refreshToken", json={"refreshToken": tokens["refresh_token"]}).json()
    h.headers["Authorization"] = f"Bearer {renewed['access_token']}"
    h.get("/status")

    session = h.post("/sessions", json={"runtimeType": "Python"}).json()["sessionId"]  # unnamed on purpose
    h.post(f"/sessions/{session}/execute", json={
        "code": "from sklearn import svm, datasets\niris = datasets.load_iris()\nclf = svm.SVC()\n"
                "clf.fit(iris.data, iris.target)\nnames = [str(n) for n in iris.target_names]\nanswer = 42\nprint('fit')",
        "outputParameters": ["answer"]})
    h.get(f"/sessions/{session}/console-output")
    h.get(f"/sessions/{session}/history")
    h.post(f"/sessions/{session}/files", files={"file": ("data.csv", b"a,b\n1,2\n")})
    h.get(f"/sessions/{session}/files")
    h.get(f"/sessions/{session}/files/data.csv")
    h.get(f"/sessions/{session}/workspace")
    h.get(f"/sessions/{session}/workspace/answer")
    h.post(f"/sessions/{session}/workspace/extra", content=dill.dumps([1, 2]),
           headers={"Content-Type": "application/octet-stream"})
    h.delete(f"/sessions/{session}/workspace/extra")
    snapshot = h.post(f"/sessions/{session}/snapshot", json={}).json()["snapshotId"]  # unnamed on purpose
    h.get("/sessions")
    h.get("/snapshots")
    h.post(f"/sessions/{session}/loadsnapshot/{snapshot}")
    h.delete(f"/sessions/{session}/files/data.csv")
    h.delete(f"/sessions/{session}")

    name = "ConformanceIris"
    h.post(f"/services/{name}/v1", json={  # no description, initCode or operationId: declared strings anyway
        "snapshotId": snapshot, "code": "iris_type = names[int(clf.predict([flower_data])[0])]",
        "inputParameterDefinitions": [{"name": "flower_data", "type": "vector"}],
        "outputParameterDefinitions": [{"name": "iris_type", "type": "character"}], "runtimeType": "Python"})
    h.get("/services")
    h.get(f"/services/{name}")
    h.get(f"/services/{name}/v1")
    h.patch(f"/services/{name}/v1", json={"description": "Iris, patched"})
    h.post(f"/api/{name}/v1", json={"flower_data": [5.1, 3.5, 1.4, 0.2]})
    h.get(f"/api/{name}/v1/swagger.json")
    h.post(f"/services/{name}/v1/pool", json={"InitialPoolSize": 1, "MaxPoolSize": 2})
    h.get(f"/services/{name}/v1/pool")
    h.delete(f"/services/{name}/v1/pool")
    h.delete(f"/services/{name}/v1")
    h.delete(f"/snapshots/{snapshot}")
    h.get("/swagger.json")
    h.delete("/login/refreshToken", params={"refreshToken": renewed["refresh_token"]})
    h.close()
    return r.seen


@pytest.fixture(scope="module")
def seen(live_server: Any) -> list[Seen]:
    return walkthrough(live_server)


def test_every_response_of_the_walkthrough_validates_against_9_1(seen):
    document = Document(load("rserver-swagger-9.1.0.json"))
    assert all(s.status < 400 for s in seen), [(s.method, s.path, s.status, s.body) for s in seen if s.status >= 400]
    problems = [p for s in seen for p in document.problems(s)]
    assert problems == [], "\n".join(problems)


def test_pool_responses_validate_against_9_3(seen):
    document = Document(load("mlserver-swagger-9.3.0.json"))
    pools = [s for s in seen if s.path.endswith("/pool")]
    assert len(pools) == 3
    assert [p for s in pools for p in document.problems(s)] == []


def test_revoke_answers_a_token_response(seen):
    revoke = next(s for s in seen if s.method == "DELETE" and s.path == "/login/refreshToken")
    assert isinstance(revoke.body, dict) and revoke.body["token_type"] == "Bearer"


def test_the_validator_catches_what_it_should(seen):
    """Guard against a checker that cannot fail: a null declared string and a wrong media type."""
    document = Document(load("rserver-swagger-9.1.0.json"))
    listing = next(s for s in seen if s.method == "GET" and s.path == "/services")
    broken = Seen(listing.method, listing.path, 200, "application/json", [{"name": "x", "version": None}])
    assert document.problems(broken)
    upload = next(s for s in seen if s.method == "POST" and s.path.endswith("/files"))
    assert document.problems(Seen(upload.method, upload.path, 201, "application/json", "x"))




def test_upload_errors_are_text_too(live_server):
    with live_server.client() as admin:
        session = admin.post("/sessions", json={}).json()["sessionId"]
        try:
            refused = admin.post(f"/sessions/{session}/files", content=b"x", headers={"Content-Type": "text/csv"})
            assert refused.status_code == 415 and refused.headers["content-type"].startswith("text/plain")
            assert json.loads(refused.text)["message"]  # the error body, as text
        finally:
            admin.delete(f"/sessions/{session}")


def test_the_session_limit_is_a_429_naming_the_setting(server_factory):
    server = server_factory(max_sessions=1)
    with server.client() as admin:
        first = admin.post("/sessions", json={})
        assert first.status_code == 201
        refused = admin.post("/sessions", json={})
        assert refused.status_code == 429 and "max_sessions" in refused.json()["message"]
