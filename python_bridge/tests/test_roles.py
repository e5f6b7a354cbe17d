"""Roles and ownership: the default-deny walk over every route of the server.

* The route table below lists every (method, path) of the app; a test checks it against the app.
* Without a token, with a garbage token, with Basic auth, with a token signed by another key and
  with a revoked token, every route answers 401 (the login routes answer 401 for bad credentials).
* As each role (Owner, Contributor, Reader) and as another user of the same role, every route is
  walked over resources that belong to someone else, with the status each role must get.
* Separate tests cover what the walk must not do in passing: deleting, role changes, and the
  resource owner's own use of every route (so that a 404 for others means something).

Runs for users of every sign-in provider (the module's ``provider`` parameter): local users on the
shared ``live_server``; LDAP users (a real slapd) and OIDC token users (a real OpenID provider) on
the ``enterprise_server``, which has all three. The local admin is the Owner in every run; every
name is unique per run.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dill
import httpx
import jwt
import pytest

from o16n.server.app import create_app
from o16n.server.config import Settings

# ------------------------------------------------------------------------------ the route table
ROUTES: list[tuple[str, str]] = [
    ("GET", "/swagger.json"),
    ("POST", "/login"),
    ("POST", "/login/refreshToken"),
    ("DELETE", "/login/refreshToken"),
    ("DELETE", "/login/refreshToken/{token}"),
    ("GET", "/status"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("POST", "/sessions"),
    ("GET", "/sessions"),
    ("DELETE", "/sessions/{session_id}"),
    ("DELETE", "/sessions/{session_id}/force"),
    ("POST", "/sessions/{session_id}/cancel"),
    ("POST", "/sessions/{session_id}/execute"),
    ("GET", "/sessions/{session_id}/console-output"),
    ("GET", "/sessions/{session_id}/history"),
    ("POST", "/sessions/{session_id}/files"),
    ("GET", "/sessions/{session_id}/files"),
    ("GET", "/sessions/{session_id}/files/{file_name}"),
    ("DELETE", "/sessions/{session_id}/files/{file_name}"),
    ("GET", "/sessions/{session_id}/workspace"),
    ("GET", "/sessions/{session_id}/workspace/{object_name}"),
    ("POST", "/sessions/{session_id}/workspace/{object_name}"),
    ("DELETE", "/sessions/{session_id}/workspace/{object_name}"),
    ("POST", "/sessions/{session_id}/snapshot"),
    ("POST", "/sessions/{session_id}/loadsnapshot/{snapshot_id}"),
    ("GET", "/snapshots"),
    ("GET", "/snapshots/{snapshot_id}"),
    ("DELETE", "/snapshots/{snapshot_id}"),
    ("GET", "/services"),
    ("GET", "/services/{name}"),
    ("POST", "/services/{name}"),
    ("GET", "/services/{name}/{version}"),
    ("POST", "/services/{name}/{version}"),
    ("PATCH", "/services/{name}/{version}"),
    ("DELETE", "/services/{name}/{version}"),
    ("POST", "/services/{name}/{version}/pool"),
    ("GET", "/services/{name}/{version}/pool"),
    ("DELETE", "/services/{name}/{version}/pool"),
    ("POST", "/realtime-services/{name}"),
    ("POST", "/realtime-services/{name}/{version}"),
    ("PATCH", "/realtime-services/{name}/{version}"),
    ("POST", "/api/{name}/{version}/batch"),
    ("GET", "/api/{name}/{version}/batch"),
    ("GET", "/api/{name}/{version}/batch/{execution_id}"),
    ("DELETE", "/api/{name}/{version}/batch/{execution_id}"),
    ("GET", "/api/{name}/{version}/batch/{execution_id}/{index}/files"),
    ("GET", "/api/{name}/{version}/batch/{execution_id}/{index}/files/{file_name}"),
    ("POST", "/api/{name}/{version}"),
    ("GET", "/api/{name}/{version}/swagger.json"),
    ("GET", "/users/me"),  # o16n extensions
    ("POST", "/environments"),
    ("GET", "/environments"),
    ("GET", "/environments/server"),
    ("GET", "/environments/{key}"),
    ("DELETE", "/environments/{key}"),
    ("GET", "/users"),
    ("GET", "/computenodes"),  # ML Server 9.3
    ("POST", "/computenodes"),
    ("PUT", "/computenodes"),
    ("DELETE", "/computenodes"),
]

# Routes that take credentials in the body or query instead of a bearer token.
LOGIN_ROUTES = {r for r in ROUTES if r[1].startswith("/login")}
# Routes for load balancers: no token, and nothing in the answer but "live"/"ready".
HEALTH_ROUTES = {r for r in ROUTES if r[1].startswith("/health/")}

UNKNOWN_ENVIRONMENT = "0" * 64  # the walk builds no environment (test_environments.py does)
SVC_CODE = "y = x * 2\nwith open('out.txt', 'w') as handle:\n    handle.write(str(y))\n"
SVC_INIT = "import math  # init code of the role tests"


def publish_body(code: str = SVC_CODE, init: str | None = SVC_INIT) -> dict:
    body = {
        "code": code,
        "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
        "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
        "outputFileNames": ["out.txt"],
        "runtimeType": "Python",
    }
    if init is not None:
        body["initCode"] = init
    return body


def request_kwargs(method: str, template: str) -> dict[str, Any]:
    """A request body that would succeed if the caller were allowed to make it."""
    if template == "/login":
        return {"json": {"username": "admin", "password": "certainly-wrong"}}
    if template == "/login/refreshToken" and method == "POST":
        return {"json": {"refreshToken": "garbage-refresh-token"}}
    if template == "/login/refreshToken":
        return {"params": {"refreshToken": "garbage-refresh-token"}}
    if template.endswith("/execute"):
        return {"json": {"code": "walked = 1"}}
    if template.endswith("/files") and method == "POST":
        return {"files": {"file": ("walk.txt", b"walk", "text/plain")}}
    if template.endswith("/workspace/{object_name}") and method == "POST":
        return {"content": dill.dumps(7), "headers": {"content-type": "application/octet-stream"}}
    if method == "POST" and template in ("/sessions", "/sessions/{session_id}/snapshot"):
        return {"json": {}}
    if method == "POST" and template in ("/services/{name}", "/services/{name}/{version}"):
        return {"json": publish_body()}
    if method == "PATCH" and template.startswith("/services/"):
        return {"json": {"description": "patched during the role walk"}}
    if template.endswith("/pool") and method == "POST":
        return {"json": {"InitialPoolSize": 0, "MaxPoolSize": 1}}
    if template.startswith("/realtime-services"):
        return {"json": {}}
    if template == "/computenodes" and method != "GET":
        return {"json": {"entries": ["http://node.invalid:12800"]}}
    if template == "/api/{name}/{version}/batch" and method == "POST":
        return {"json": [{"x": 1}, {"x": 2}]}
    if template == "/api/{name}/{version}" and method == "POST":
        return {"json": {"x": 21}}
    return {}


def fill(template: str, ids: dict[str, str]) -> str:
    ids = {**ids, "key": UNKNOWN_ENVIRONMENT}
    if template.startswith("/api/"):
        ids = {**ids, "file_name": "out.txt"}  # the batch item's output file, not the session's file
    return template.format(**ids)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------------------ people and resources
@dataclass
class Person:
    key: str
    username: str
    password: str
    role: str
    client: httpx.Client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> httpx.Response:
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, f"{self.key}: {method} {path} -> {response.status_code} {response.text}"
        return response


@pytest.fixture(scope="module", params=["local", "ldap", "oidc"])
def provider(request) -> str:
    """Where the walk's users (all but the local admin) sign in."""
    return request.param


@pytest.fixture(scope="module")
def live_server(live_server, provider, request):
    """The shared server for local users; the one with LDAP and OIDC for directory users."""
    return live_server if provider == "local" else request.getfixturevalue("enterprise_server")


def token_person(server, key: str, role: str, token: str) -> Person:
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    me = client.get("/users/me").json()
    assert me["role"] == role, me
    return Person(key, me["username"], "", role, client)


@pytest.fixture(scope="module")
def people(live_server, provider, request) -> Iterator[dict[str, Person]]:
    tag = uuid.uuid4().hex[:8]
    found: dict[str, Person] = {}
    specs = [("contrib_a", "Contributor"), ("contrib_b", "Contributor"), ("reader_a", "Reader"),
             ("reader_b", "Reader"), ("owner_b", "Owner")]
    for key, role in specs:
        if provider == "ldap":  # the directory has these users, in the groups of their roles
            username, password = key.replace("_", "-"), f"pw-{key.replace('_', '-')}"
            found[key] = Person(key, username, password, role, live_server.client(username, password))
        elif provider == "oidc":  # client-credentials tokens whose roles claim names the group
            token = request.getfixturevalue("oidc_provider").token(f"{key.replace('_', '-')}-app")
            found[key] = token_person(live_server, key, role, token)
        else:
            username, password = f"{key.replace('_', '-')}-{tag}", f"pw-{key}-{tag}"
            live_server.add_user(username, password, role)
            found[key] = Person(key, username, password, role, live_server.client(username, password))
    found["admin"] = Person("admin", live_server.admin_user, live_server.admin_password, "Owner", live_server.client())
    yield found
    for person in found.values():
        person.client.close()


@dataclass
class Resources:
    """What one user owns: the service its batch ran on, a session, a snapshot, a batch execution."""

    name: str
    version: str
    service_publisher: str
    execution_id: str
    session_id: str | None = None
    snapshot_id: str | None = None

    def ids(self, **extra: str) -> dict[str, str]:
        return {
            "name": self.name, "version": self.version, "execution_id": self.execution_id, "index": "0",
            "file_name": "f.txt", "object_name": "z", "token": "garbage-refresh-token",
            "session_id": self.session_id or "no-session", "snapshot_id": self.snapshot_id or "no-snapshot",
            **extra,
        }


def wait_for_batch(person: Person, name: str, version: str, execution_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        status = person.ok("GET", f"/api/{name}/{version}/batch/{execution_id}").json()
        if status["state"] in ("Complete", "Failed") or time.monotonic() > deadline:
            assert status["state"] == "Complete", status
            return status
        time.sleep(0.1)


def start_batch(person: Person, name: str, version: str, inputs: list[dict] | None = None) -> str:
    response = person.ok("POST", f"/api/{name}/{version}/batch", 202, json=inputs or [{"x": 1}, {"x": 2}])
    return response.json()["batchExecutionId"]


def make_session(person: Person) -> tuple[str, str]:
    """A session with file f.txt and object z = 5, and a snapshot of it: (session id, snapshot id)."""
    session_id = person.ok("POST", "/sessions", 201, json={"name": "roles"}).json()["sessionId"]
    person.ok("POST", f"/sessions/{session_id}/files", 201, files={"file": ("f.txt", b"file of " + person.key.encode())})
    result = person.ok("POST", f"/sessions/{session_id}/execute", json={"code": "z = 5\nprint('hello')"}).json()
    assert result["success"], result
    snapshot_id = person.ok("POST", f"/sessions/{session_id}/snapshot", 201, json={"name": "roles"}).json()["snapshotId"]
    return session_id, snapshot_id


@pytest.fixture(scope="module")
def world(people) -> Iterator[dict[str, Resources]]:
    contrib_a, admin, reader_a = people["contrib_a"], people["admin"], people["reader_a"]
    svc_a, svc_o = unique("roles-a"), unique("roles-o")
    contrib_a.ok("POST", f"/services/{svc_a}/v1", 201, json=publish_body())
    admin.ok("POST", f"/services/{svc_o}/v1", 201, json=publish_body())
    resources = {
        "contrib_a": Resources(svc_a, "v1", "contrib_a", start_batch(contrib_a, svc_a, "v1"), *make_session(contrib_a)),
        "admin": Resources(svc_o, "v1", "admin", start_batch(admin, svc_o, "v1"), *make_session(admin)),
        # Readers cannot have sessions or snapshots: only a batch, on contrib_a's service.
        "reader_a": Resources(svc_a, "v1", "contrib_a", start_batch(reader_a, svc_a, "v1")),
    }
    for key, res in resources.items():
        wait_for_batch(people[key], res.name, res.version, res.execution_id)
    yield resources
    for key, res in resources.items():
        if res.session_id:
            people[key].request("DELETE", f"/sessions/{res.session_id}/force")
        if res.snapshot_id:
            people[key].request("DELETE", f"/snapshots/{res.snapshot_id}")
    for name in (svc_a, svc_o):
        admin.request("DELETE", f"/services/{name}/v1")


# ------------------------------------------------------------------------------ the table is complete
def app_routes(tmp_path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path / "routes-data"))
    try:
        return {(method, route.path) for route in app.routes for method in route.methods if method != "HEAD"}
    finally:
        app.state.o16n.db.close()


def test_route_table_covers_every_route(tmp_path, monkeypatch):
    monkeypatch.setenv("O16N_ADMIN_PASSWORD", "route-table-pw")
    assert len(ROUTES) == len(set(ROUTES))
    assert set(ROUTES) == app_routes(tmp_path)


def test_walk_tables_cover_every_route():
    assert set(FOREIGN) | LOGIN_ROUTES == set(ROUTES)


# ------------------------------------------------------------------------------ (a) no valid token: 401
def auth_variants(live_server, provider: str, request) -> dict[str, dict[str, str]]:
    real = live_server.login()
    claims = jwt.decode(real["access_token"], options={"verify_signature": False})
    revoked = live_server.login()
    response = httpx.delete(live_server.url + "/login/refreshToken", params={"refreshToken": revoked["refresh_token"]})
    assert response.status_code == 200, response.text
    header, payload, signature = real["access_token"].split(".")
    middle = len(signature) // 2
    bad_signature = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    return {
        "none": {},
        "garbage": {"Authorization": "Bearer garbage"},
        "basic": {"Authorization": "Basic " + base64.b64encode(
            f"{live_server.admin_user}:{live_server.admin_password}".encode()).decode()},
        "other-key": {"Authorization": "Bearer " + jwt.encode(claims, b"k" * 32, algorithm="HS256")},
        "bad-signature": {"Authorization": f"Bearer {header}.{payload}.{bad_signature}"},
        # Revoked before its first use, so no cache can still trust it.
        "revoked": {"Authorization": "Bearer " + revoked["access_token"]},
        **(oidc_variants(request.getfixturevalue("oidc_provider")) if provider == "oidc" else {}),
    }


def oidc_variants(oidc_provider) -> dict[str, dict[str, str]]:
    """Tokens of the real OpenID provider that must not pass: another audience; one re-signed by us."""
    good = oidc_provider.token("owner-app")
    claims = jwt.decode(good, options={"verify_signature": False})
    return {
        "oidc-other-audience": {"Authorization": "Bearer " + oidc_provider.token("owner-app", "urn:other")},
        "oidc-other-key": {"Authorization": "Bearer " + jwt.encode(claims, b"k" * 32, algorithm="HS256",
                                                                  headers={"kid": jwt.get_unverified_header(good)["kid"]})},
    }


@pytest.mark.parametrize("which", ["real", "missing"])
def test_every_route_needs_a_valid_token(live_server, provider, request, people, world, which):
    res = world["contrib_a"]
    ids = res.ids() if which == "real" else Resources("no-svc", "v0", "", "no-exec", "no-session", "no-snap").ids()
    failures = []
    with httpx.Client(base_url=live_server.url, timeout=60) as anonymous:
        for variant, headers in auth_variants(live_server, provider, request).items():
            for method, template in ROUTES:
                if (method, template) in HEALTH_ROUTES:
                    continue  # public by design (test_store.py checks they tell nothing)
                kwargs = request_kwargs(method, template)
                kwargs["headers"] = {**kwargs.get("headers", {}), **headers}
                response = anonymous.request(method, fill(template, ids), **kwargs)
                problem = None
                if response.status_code != 401:
                    problem = f"status {response.status_code}"
                elif not response.headers.get("content-type", "").startswith("application/json"):
                    problem = "not JSON"
                elif not response.json().get("message"):
                    problem = "no message"
                if problem:
                    failures.append(f"[{variant}] {method} {fill(template, ids)}: {problem}: {response.text[:200]}")
    assert not failures, "\n".join(failures)
    if which == "real":
        # Nothing was changed by the refused calls.
        owner = people["contrib_a"]
        services = owner.ok("GET", f"/services/{res.name}/{res.version}").json()
        assert services[0]["code"] == SVC_CODE
        assert owner.ok("GET", f"/sessions/{res.session_id}/files").json() == ["f.txt"]
        assert owner.ok("GET", f"/sessions/{res.session_id}/history").json() == ["z = 5\nprint('hello')"]
        assert owner.ok("GET", f"/snapshots/{res.snapshot_id}").content[:2] == b"PK"
        assert res.execution_id in owner.ok("GET", f"/api/{res.name}/{res.version}/batch").json()


# ------------------------------------------------------------------------------ (b) the role walk
# Expected status for a caller who does NOT own the resources in the path (the service, the
# session, the snapshot and the batch execution all belong to someone else), by the caller's role:
# (Owner, Contributor, Reader). SKIP: destructive for that role; covered by its own test below.
SKIP = "skip"
REALTIME = (400, 400, (400, 403))  # walked with a JSON body, not the multipart form: never 2xx (test_realtime.py)
FOREIGN: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("GET", "/swagger.json"): (200, 200, 200),
    ("GET", "/status"): (200, 200, 200),
    ("GET", "/health/live"): (200, 200, 200),  # anybody, with or without a token
    ("GET", "/health/ready"): (200, 200, 200),
    ("POST", "/sessions"): (201, 201, 403),
    ("GET", "/sessions"): (200, 200, 200),
    **{("DELETE" if t in ("", "/force") else "POST", "/sessions/{session_id}" + t): (404, 404, 404)
       for t in ("", "/force", "/cancel", "/execute", "/snapshot", "/loadsnapshot/{snapshot_id}")},
    **{(m, "/sessions/{session_id}" + t): (404, 404, 404) for m, t in [
        ("GET", "/console-output"), ("GET", "/history"), ("POST", "/files"), ("GET", "/files"),
        ("GET", "/files/{file_name}"), ("DELETE", "/files/{file_name}"), ("GET", "/workspace"),
        ("GET", "/workspace/{object_name}"), ("POST", "/workspace/{object_name}"),
        ("DELETE", "/workspace/{object_name}")]},
    ("GET", "/snapshots"): (200, 200, 200),
    ("GET", "/snapshots/{snapshot_id}"): (404, 404, 404),
    ("DELETE", "/snapshots/{snapshot_id}"): (404, 404, 404),
    ("GET", "/services"): (200, 200, 200),
    ("GET", "/services/{name}"): (200, 200, 200),
    ("POST", "/services/{name}"): (201, 403, 403),  # a new GUID version under another user's name
    ("GET", "/services/{name}/{version}"): (200, 200, 200),
    ("POST", "/services/{name}/{version}"): (201, 403, 403),  # walked with a new version string
    ("PATCH", "/services/{name}/{version}"): (200, 403, 403),
    ("DELETE", "/services/{name}/{version}"): (SKIP, 403, 403),
    ("POST", "/services/{name}/{version}/pool"): (200, 403, 403),
    ("GET", "/services/{name}/{version}/pool"): (200, 200, 200),
    ("DELETE", "/services/{name}/{version}/pool"): (200, 403, 403),
    ("POST", "/realtime-services/{name}"): REALTIME,
    ("POST", "/realtime-services/{name}/{version}"): REALTIME,
    ("PATCH", "/realtime-services/{name}/{version}"): REALTIME,
    ("POST", "/api/{name}/{version}/batch"): (202, 202, 202),
    ("GET", "/api/{name}/{version}/batch"): (200, 200, 200),
    ("GET", "/api/{name}/{version}/batch/{execution_id}"): (200, 404, 404),
    ("DELETE", "/api/{name}/{version}/batch/{execution_id}"): (SKIP, 404, 404),
    ("GET", "/api/{name}/{version}/batch/{execution_id}/{index}/files"): (200, 404, 404),
    ("GET", "/api/{name}/{version}/batch/{execution_id}/{index}/files/{file_name}"): (200, 404, 404),
    ("POST", "/api/{name}/{version}"): (200, 200, 200),
    ("GET", "/api/{name}/{version}/swagger.json"): (200, 200, 200),
    ("GET", "/users/me"): (200, 200, 200),  # the caller itself
    ("POST", "/environments"): (SKIP, SKIP, 403),  # a build: test_environments.py; Readers may not
    ("GET", "/environments"): (200, 200, 200),
    ("GET", "/environments/server"): (200, 200, 200),
    ("GET", "/environments/{key}"): (404, 404, 404),
    ("DELETE", "/environments/{key}"): (404, 403, 403),  # Owners only
    ("GET", "/users"): (200, 403, 403),  # every user: Owners only
    ("GET", "/computenodes"): (200, 403, 403),  # the cluster's nodes: Owners only
    ("POST", "/computenodes"): (SKIP, 403, 403),  # an Owner's set/add/remove: test_cluster.py
    ("PUT", "/computenodes"): (SKIP, 403, 403),
    ("DELETE", "/computenodes"): (SKIP, 403, 403),
}
ROLE_COLUMN = {"Owner": 0, "Contributor": 1, "Reader": 2}


def check_service_view(entry: dict, caller: Person, publisher: Person) -> list[str]:
    problems = []
    manages = caller.role == "Owner" or caller.key == publisher.key
    if entry["versionPublishedBy"] != publisher.username:
        problems.append(f"versionPublishedBy {entry['versionPublishedBy']!r}")
    want = "read/write" if manages else "read only"
    if entry["myPermissionOnService"] != want:
        problems.append(f"myPermissionOnService {entry['myPermissionOnService']!r}, expected {want!r}")
    shows = caller.role == "Owner" or caller.key == publisher.key
    if shows and (entry["code"] != SVC_CODE or entry["initCode"] != SVC_INIT):
        problems.append(f"code/initCode hidden from {caller.key}: {entry['code']!r} {entry['initCode']!r}")
    if not shows and (entry["code"] or entry["initCode"]):  # hidden: empty strings, never null
        problems.append(f"code/initCode shown to {caller.key}: {entry['code']!r} {entry['initCode']!r}")
    return problems


def extra_checks(method: str, template: str, response: httpx.Response, caller: Person, res: Resources,
                 people: dict[str, Person]) -> list[str]:
    """What a 2xx answer to a foreign caller must (not) contain."""
    publisher = people[res.service_publisher]
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    if (method, template) == ("GET", "/sessions"):
        return [f"lists a foreign session {s}" for s in body if s["id"] == res.session_id or s["owner"] != caller.username]
    if (method, template) == ("GET", "/snapshots"):
        return [f"lists a foreign snapshot {s}" for s in body if s["id"] == res.snapshot_id or s["owner"] != caller.username]
    if method == "GET" and template in ("/services", "/services/{name}", "/services/{name}/{version}"):
        entries = [e for e in body if e["name"] == res.name and e["version"] == res.version]
        if len(entries) != 1:
            return [f"{len(entries)} entries for {res.name}/{res.version}"]
        return check_service_view(entries[0], caller, publisher)
    if (method, template) == ("GET", "/users/me"):
        if (body["username"], body["role"]) != (caller.username, caller.role):
            return [f"/users/me says {body['username']} {body['role']}, not {caller.username} {caller.role}"]
    if (method, template) == ("GET", "/users"):
        listed = {u["username"] for u in body}
        return [f"/users lacks {p.username}" for p in people.values() if p.username not in listed]
    if (method, template) == ("GET", "/api/{name}/{version}/swagger.json"):
        return ["the service swagger shows the code"] if "handle.write" in response.text or "import math" in response.text else []
    if (method, template) == ("POST", "/api/{name}/{version}"):
        return [] if body["success"] and body["outputParameters"] == {"y": 42} else [f"consume gave {body}"]
    if (method, template) == ("GET", "/api/{name}/{version}/batch"):
        sees = res.execution_id in body
        if sees != (caller.role == "Owner"):
            return [f"batch list {'shows' if sees else 'hides'} the foreign execution: {body}"]
    if template.endswith("/files") and template.startswith("/api/"):
        return [] if body == ["out.txt"] else [f"batch files {body}"]
    if template.endswith("/files/{file_name}") and template.startswith("/api/"):
        return [] if response.content == b"2" else [f"batch file content {response.content!r}"]
    if (method, template) == ("GET", "/api/{name}/{version}/batch/{execution_id}"):
        return [] if body["state"] == "Complete" and body["totalItemCount"] == 2 else [f"batch status {body}"]
    return []


def cleanup_created(method: str, template: str, response: httpx.Response, caller: Person) -> None:
    if response.status_code not in (201, 202):
        return
    if (method, template) == ("POST", "/sessions"):
        caller.ok("DELETE", f"/sessions/{response.json()['sessionId']}")
    elif template.startswith("/services/"):
        location = response.json()  # "/api/{name}/{version}"
        _, _, name, version = location.split("/")
        caller.ok("DELETE", f"/services/{name}/{version}")


@pytest.mark.parametrize("owner_key, caller_key", [
    ("contrib_a", "contrib_b"),  # another Contributor
    ("contrib_a", "reader_b"),  # a Reader
    ("contrib_a", "admin"),  # an Owner over a Contributor's things
    ("admin", "owner_b"),  # another Owner
    ("admin", "contrib_b"),  # a Contributor over an Owner's things
    ("admin", "reader_a"),  # a Reader over an Owner's things
    ("reader_a", "reader_b"),  # another Reader (the batch is reader_a's, the service contrib_a's)
    ("reader_a", "owner_b"),  # an Owner over a Reader's batch
])
def test_walk_over_someone_elses_resources(people, world, owner_key, caller_key):
    res, caller = world[owner_key], people[caller_key]
    failures: list[str] = []
    for method, template in ROUTES:
        if (method, template) in LOGIN_ROUTES:
            continue
        if res.session_id is None and template.startswith(("/sessions/{", "/snapshots/{")):
            continue  # a Reader owns no sessions or snapshots
        expected = FOREIGN[(method, template)][ROLE_COLUMN[caller.role]]
        if expected == SKIP:
            continue
        # Publishing to an existing name+version is refused for everyone (403): walk a new version.
        ids = res.ids(version=unique("walk")) if (method, template) == ("POST", "/services/{name}/{version}") else res.ids()
        path = fill(template, ids)
        response = caller.request(method, path, **request_kwargs(method, template))
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if response.status_code not in allowed:
            failures.append(f"{method} {path} -> {response.status_code} (expected {expected}): {response.text[:300]}")
        elif 200 <= response.status_code < 300:
            failures += [f"{method} {path}: {p}" for p in extra_checks(method, template, response, caller, res, people)]
        cleanup_created(method, template, response, caller)
    # Republishing the existing version is refused for every role.
    same = caller.request("POST", f"/services/{res.name}/{res.version}", json=publish_body(code="y = x * 3"))
    if same.status_code != 403:
        failures.append(f"POST /services/{res.name}/{res.version} (existing) -> {same.status_code}: {same.text[:300]}")
    assert not failures, f"as {caller_key} ({caller.role}) over {owner_key}'s resources:\n" + "\n".join(failures)
    assert_resources_intact(people[owner_key], res, people)


def assert_resources_intact(owner: Person, res: Resources, people: dict[str, Person]) -> None:
    publisher = people[res.service_publisher]
    entry = publisher.ok("GET", f"/services/{res.name}/{res.version}").json()[0]
    assert entry["code"] == SVC_CODE
    assert publisher.ok("POST", f"/api/{res.name}/{res.version}", json={"x": 4}).json()["outputParameters"] == {"y": 8}
    assert owner.ok("GET", f"/api/{res.name}/{res.version}/batch/{res.execution_id}").json()["state"] == "Complete"
    assert res.execution_id in owner.ok("GET", f"/api/{res.name}/{res.version}/batch").json()
    if res.session_id:
        assert owner.ok("GET", f"/sessions/{res.session_id}/files").json() == ["f.txt"]
        assert owner.ok("GET", f"/sessions/{res.session_id}/files/f.txt").content == b"file of " + owner.key.encode()
        assert owner.ok("GET", f"/sessions/{res.session_id}/workspace").json() == ["z"]
        assert owner.ok("GET", f"/sessions/{res.session_id}/history").json() == ["z = 5\nprint('hello')"]
        assert res.session_id in [s["id"] for s in owner.ok("GET", "/sessions").json()]
        assert res.snapshot_id in [s["id"] for s in owner.ok("GET", "/snapshots").json()]
        assert owner.ok("GET", f"/snapshots/{res.snapshot_id}").content[:2] == b"PK"


# ------------------------------------------------------------------------------ the owner's own use of every route
@pytest.mark.parametrize("key", ["contrib_a", "admin"])
def test_sessions_and_snapshots_work_for_their_creator(people, key):
    me = people[key]
    session_id = me.ok("POST", "/sessions", 201, json={"name": "mine"}).json()["sessionId"]
    s = f"/sessions/{session_id}"
    assert session_id in [x["id"] for x in me.ok("GET", "/sessions").json()]
    me.ok("POST", s + "/files", 201, files={"file": ("mine.txt", b"mine")})
    assert me.ok("GET", s + "/files").json() == ["mine.txt"]
    assert me.ok("GET", s + "/files/mine.txt").content == b"mine"
    me.ok("DELETE", s + "/files/mine.txt")
    assert me.ok("GET", s + "/files").json() == []
    result = me.ok("POST", s + "/execute", json={"code": "a = 41\nprint('out')", "outputParameters": ["a"]}).json()
    assert result["success"] and result["outputParameters"] == [{"name": "a", "value": 41}]
    assert "out" in me.ok("GET", s + "/console-output").json()["consoleOutput"]
    assert me.ok("GET", s + "/history").json() == ["a = 41\nprint('out')"]
    me.ok("POST", s + "/workspace/b", content=dill.dumps(2), headers={"content-type": "application/octet-stream"})
    assert sorted(me.ok("GET", s + "/workspace").json()) == ["a", "b"]
    assert dill.loads(me.ok("GET", s + "/workspace/b").content) == 2
    me.ok("DELETE", s + "/workspace/b")
    snapshot_id = me.ok("POST", s + "/snapshot", 201, json={"name": "mine"}).json()["snapshotId"]
    assert snapshot_id in [x["id"] for x in me.ok("GET", "/snapshots").json()]
    assert me.ok("GET", f"/snapshots/{snapshot_id}").content[:2] == b"PK"
    me.ok("POST", s + "/execute", json={"code": "del a"})
    me.ok("POST", f"{s}/loadsnapshot/{snapshot_id}")
    result = me.ok("POST", s + "/execute", json={"code": "c = a + 1", "outputParameters": ["c"]}).json()
    assert result["outputParameters"] == [{"name": "c", "value": 42}], result
    me.ok("POST", s + "/cancel")
    me.ok("DELETE", s)
    me.ok("DELETE", f"/snapshots/{snapshot_id}")
    assert me.request("GET", f"/snapshots/{snapshot_id}").status_code == 404
    assert me.request("GET", s + "/history").status_code == 404
    other = me.ok("POST", "/sessions", 201, json={}).json()["sessionId"]
    me.ok("DELETE", f"/sessions/{other}/force")
    assert me.request("GET", f"/sessions/{other}/history").status_code == 404


def test_others_cannot_use_a_snapshot_through_their_own_session(people, world):
    res = world["contrib_a"]
    for key in ("contrib_b", "owner_b", "admin"):
        other = people[key]
        session_id = other.ok("POST", "/sessions", 201, json={}).json()["sessionId"]
        try:
            response = other.request("POST", f"/sessions/{session_id}/loadsnapshot/{res.snapshot_id}")
            assert response.status_code == 404, (key, response.text)
        finally:
            other.ok("DELETE", f"/sessions/{session_id}")
        # Nor start a session from it, nor publish with it.
        assert other.request("POST", "/sessions", json={"snapshotId": res.snapshot_id}).status_code == 404, key
        body = {**publish_body(), "snapshotId": res.snapshot_id}
        response = other.request("POST", f"/services/{unique('snap-steal')}/v1", json=body)
        assert response.status_code == 400 and "snapshot" in response.json()["message"], (key, response.text)


# ------------------------------------------------------------------------------ services, role by role
def test_reader_lists_and_consumes_but_cannot_publish(people, world):
    reader = people["reader_a"]
    res = world["contrib_a"]
    name = unique("reader-pub")
    assert reader.request("POST", f"/services/{name}/v1", json=publish_body()).status_code == 403
    assert reader.request("POST", f"/services/{name}", json=publish_body()).status_code == 403
    assert reader.ok("GET", f"/services/{name}").json() == []
    assert reader.request("PATCH", f"/services/{res.name}/v1", json={"description": "r"}).status_code == 403
    assert reader.request("DELETE", f"/services/{res.name}/v1").status_code == 403
    assert reader.request("POST", "/sessions", json={}).status_code == 403
    assert reader.ok("GET", "/sessions").json() == []
    assert reader.ok("GET", "/snapshots").json() == []
    # Lists, reads, consumes, and runs its own batches.
    assert any(e["name"] == res.name for e in reader.ok("GET", "/services").json())
    assert reader.ok("GET", f"/services/{res.name}/v1").json()[0]["myPermissionOnService"] == "read only"
    assert reader.ok("GET", f"/api/{res.name}/v1/swagger.json").json()["info"]
    assert reader.ok("POST", f"/api/{res.name}/v1", json={"x": 5}).json()["outputParameters"] == {"y": 10}
    execution_id = start_batch(reader, res.name, "v1", [{"x": 3}])
    status = wait_for_batch(reader, res.name, "v1", execution_id)
    assert status["batchExecutionResults"][0]["outputParameters"] == {"y": 6}
    assert execution_id in reader.ok("GET", f"/api/{res.name}/v1/batch").json()
    assert reader.ok("GET", f"/api/{res.name}/v1/batch/{execution_id}/0/files").json() == ["out.txt"]
    assert reader.ok("GET", f"/api/{res.name}/v1/batch/{execution_id}/0/files/out.txt").content == b"6"
    reader.ok("DELETE", f"/api/{res.name}/v1/batch/{execution_id}")
    assert reader.request("GET", f"/api/{res.name}/v1/batch/{execution_id}").status_code == 404


def test_contributor_manages_only_its_own_services(people):
    mine, other = people["contrib_a"], people["contrib_b"]
    name = unique("contrib-own")
    assert mine.ok("POST", f"/services/{name}/v1", 201, json=publish_body()).json() == f"/api/{name}/v1"
    mine.ok("POST", f"/services/{name}/v2", 201, json=publish_body())
    guid = mine.ok("POST", f"/services/{name}", 201, json=publish_body()).json().split("/")[-1]
    assert {e["version"] for e in mine.ok("GET", f"/services/{name}").json()} == {"v1", "v2", guid}
    # Another Contributor may not touch it, nor publish under its name.
    for method, path, kwargs in [
        ("PATCH", f"/services/{name}/v1", {"json": {"code": "y = 0"}}),
        ("DELETE", f"/services/{name}/v1", {}),
        ("POST", f"/services/{name}/v3", {"json": publish_body()}),
        ("POST", f"/services/{name}", {"json": publish_body()}),
        ("POST", f"/services/{name}/v1/pool", {"json": {"InitialPoolSize": 0, "MaxPoolSize": 1}}),
        ("DELETE", f"/services/{name}/v1/pool", {}),
    ]:
        response = other.request(method, path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["message"]
    assert {e["version"] for e in mine.ok("GET", f"/services/{name}").json()} == {"v1", "v2", guid}
    assert other.ok("POST", f"/api/{name}/v1", json={"x": 2}).json()["outputParameters"] == {"y": 4}
    # The publisher patches and deletes its own.
    mine.ok("PATCH", f"/services/{name}/v1", json={"code": "y = x * 10", "description": "tenfold"})
    entry = mine.ok("GET", f"/services/{name}/v1").json()[0]
    assert entry["code"] == "y = x * 10" and entry["description"] == "tenfold"
    assert mine.ok("POST", f"/api/{name}/v1", json={"x": 2}).json()["outputParameters"] == {"y": 20}
    mine.ok("DELETE", f"/services/{name}/v2")
    mine.ok("DELETE", f"/services/{name}/{guid}")
    assert mine.request("GET", f"/services/{name}/v2").status_code == 404
    mine.ok("DELETE", f"/services/{name}/v1")
    assert mine.ok("GET", f"/services/{name}").json() == []


@pytest.mark.parametrize("owner_key", ["admin", "owner_b"])
def test_owner_manages_anybodys_services(people, owner_key):
    owner, publisher = people[owner_key], people["contrib_a"]
    name = unique("owner-manages")
    publisher.ok("POST", f"/services/{name}/v1", 201, json=publish_body())
    publisher.ok("POST", f"/services/{name}/v2", 201, json=publish_body())
    owner.ok("PATCH", f"/services/{name}/v1", json={"code": "y = x + 100"})
    assert publisher.ok("POST", f"/api/{name}/v1", json={"x": 1}).json()["outputParameters"] == {"y": 101}
    entry = publisher.ok("GET", f"/services/{name}/v1").json()[0]
    assert entry["versionPublishedBy"] == publisher.username  # patching keeps the publisher
    owner.ok("POST", f"/services/{name}/v1/pool", json={"InitialPoolSize": 0, "MaxPoolSize": 1})
    owner.ok("DELETE", f"/services/{name}/v1/pool")
    # The Owner may delete a version and cancel/delete the publisher's batch execution.
    execution_id = start_batch(publisher, name, "v2")
    wait_for_batch(publisher, name, "v2", execution_id)
    assert execution_id in owner.ok("GET", f"/api/{name}/v2/batch").json()
    owner.ok("DELETE", f"/api/{name}/v2/batch/{execution_id}")
    assert publisher.request("GET", f"/api/{name}/v2/batch/{execution_id}").status_code == 404
    owner.ok("DELETE", f"/services/{name}/v2")
    owner.ok("DELETE", f"/services/{name}/v1")
    assert publisher.ok("GET", f"/services/{name}").json() == []


def test_contributor_cannot_publish_under_an_owners_name(people):
    owner, contributor = people["admin"], people["contrib_b"]
    name = unique("owner-name")
    owner.ok("POST", f"/services/{name}/v1", 201, json=publish_body())
    try:
        assert contributor.request("POST", f"/services/{name}/v2", json=publish_body()).status_code == 403
        assert contributor.request("POST", f"/services/{name}", json=publish_body()).status_code == 403
        assert contributor.request("PATCH", f"/services/{name}/v1", json={"description": "x"}).status_code == 403
        assert contributor.request("DELETE", f"/services/{name}/v1").status_code == 403
    finally:
        owner.ok("DELETE", f"/services/{name}/v1")


@pytest.mark.parametrize("caller_key, permission, sees_code", [
    ("contrib_a", "read/write", True),  # the publisher
    ("admin", "read/write", True),
    ("owner_b", "read/write", True),
    ("contrib_b", "read only", False),
    ("reader_a", "read only", False),
    ("reader_b", "read only", False),
])
def test_permission_and_code_visibility(people, world, caller_key, permission, sees_code):
    caller, res = people[caller_key], world["contrib_a"]
    views = {
        "/services": [e for e in caller.ok("GET", "/services").json() if e["name"] == res.name],
        "/services/{name}": caller.ok("GET", f"/services/{res.name}").json(),
        "/services/{name}/{version}": caller.ok("GET", f"/services/{res.name}/{res.version}").json(),
    }
    for route, entries in views.items():
        assert len(entries) == 1, (route, entries)
        entry = entries[0]
        assert entry["myPermissionOnService"] == permission, (route, entry)
        if sees_code:
            assert entry["code"] == SVC_CODE and entry["initCode"] == SVC_INIT, (route, entry)
        else:
            assert entry["code"] == "" and entry["initCode"] == "", (route, entry)  # hidden; never null (9.1 strings)
        assert entry["inputParameterDefinitions"] == [{"name": "x", "type": "integer"}]
        assert entry["versionPublishedBy"] == people["contrib_a"].username


# ------------------------------------------------------------------------------ batches across users
def test_batch_executions_belong_to_their_starter(people, world):
    res = world["contrib_a"]
    base = f"/api/{res.name}/{res.version}/batch"
    starter = people["reader_a"]
    execution_id = start_batch(starter, res.name, res.version, [{"x": 7}])
    wait_for_batch(starter, res.name, res.version, execution_id)
    # Other non-Owners, the service's publisher included, do not see it.
    for key in ("reader_b", "contrib_b", "contrib_a"):
        other = people[key]
        assert execution_id not in other.ok("GET", base).json(), key
        for method, path in [("GET", f"{base}/{execution_id}"), ("GET", f"{base}/{execution_id}/0/files"),
                             ("GET", f"{base}/{execution_id}/0/files/out.txt"), ("DELETE", f"{base}/{execution_id}")]:
            response = other.request(method, path)
            assert response.status_code == 404, (key, method, path, response.text)
    # Its starter still has it; an Owner sees it and may delete it.
    assert starter.ok("GET", f"{base}/{execution_id}").json()["batchExecutionResults"][0]["outputParameters"] == {"y": 14}
    owner = people["owner_b"]
    assert execution_id in owner.ok("GET", base).json()
    assert owner.ok("GET", f"{base}/{execution_id}/0/files/out.txt").content == b"14"
    assert owner.ok("DELETE", f"{base}/{execution_id}").json() == [execution_id]
    assert starter.request("GET", f"{base}/{execution_id}").status_code == 404
    assert execution_id not in starter.ok("GET", base).json()


def test_batch_lists_only_the_callers_own(people, world):
    res = world["contrib_a"]
    base = f"/api/{res.name}/{res.version}/batch"
    all_ids = {world["contrib_a"].execution_id, world["reader_a"].execution_id}
    for key in ("contrib_a", "contrib_b", "reader_a", "reader_b"):
        listed = set(people[key].ok("GET", base).json())
        mine = {r.execution_id for k, r in world.items() if k == key and r.name == res.name}
        assert listed & all_ids == mine, (key, listed)
    for key in ("admin", "owner_b"):
        assert all_ids <= set(people[key].ok("GET", base).json()), key


# ------------------------------------------------------------------------------ role changes
def test_losing_the_contributor_role_loses_management(live_server, provider, people):
    if provider != "local":
        pytest.skip("local role changes (o16n users set-role); directory group changes: test_ldap.py")
    tag = uuid.uuid4().hex[:8]
    username, password = f"demoted-{tag}", f"pw-demoted-{tag}"
    live_server.add_user(username, password, "Contributor")
    name = unique("demoted")
    with live_server.client(username, password) as client:
        assert client.post(f"/services/{name}/v1", json=publish_body()).status_code == 201
    def set_role(role: str) -> None:
        subprocess.run([sys.executable, "-m", "o16n.cli", "users", "set-role", username, "--role", role,
                        "--data-dir", str(live_server.data_dir)], check=True, capture_output=True, env=dict(os.environ))

    try:
        set_role("Reader")
        with live_server.client(username, password) as client:
            entry = client.get(f"/services/{name}/v1").json()[0]
            assert entry["myPermissionOnService"] == "read only"
            assert entry["code"] == SVC_CODE  # still its publisher
            assert client.patch(f"/services/{name}/v1", json={"description": "x"}).status_code == 403
            assert client.delete(f"/services/{name}/v1").status_code == 403
            assert client.post(f"/services/{name}/v2", json=publish_body()).status_code == 403
        set_role("Contributor")
        with live_server.client(username, password) as client:
            assert client.get(f"/services/{name}/v1").json()[0]["myPermissionOnService"] == "read/write"
            assert client.patch(f"/services/{name}/v1", json={"description": "x"}).status_code == 200
            assert client.delete(f"/services/{name}/v1").status_code == 200
    finally:
        people["admin"].request("DELETE", f"/services/{name}/v1")
