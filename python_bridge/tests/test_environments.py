"""Service environments (docs/environments.md), with real uv builds from the package index and a real
server: pins of one package in two versions, an object whose class only the environment has, a
failing build, reuse, kill -9 mid-build, `o16n envs`, delete, LRU pruning.

`tabulate` is the package: small, pure Python, with `__version__`, and not in the server's own
environment. uv's cache lives in the temp dir and persists between tests (and runs).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from server_process import LiveServer

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
OLD, NEW = "tabulate==0.8.10", "tabulate==0.9.0"
UV_CACHE = Path(tempfile.gettempdir()) / "o16n-test-uv-cache"
CODE = "import tabulate\nversion = tabulate.__version__\n"
OUT = [{"name": "version", "type": "str"}]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tabulate") is not None,
                                reason="the server's environment must lack tabulate for these tests to mean anything")


def env(*packages: str) -> dict:
    return {"python": PY, "packages": list(packages)}


def publish(client: httpx.Client, name: str, environment: dict | None, code: str = CODE, **extra) -> httpx.Response:
    body = {"code": code, "outputParameterDefinitions": OUT, "environment": environment, **extra}
    return client.post(f"/services/{name}/v1", json=body, timeout=600)


def consume(client: httpx.Client, name: str) -> dict:
    response = client.post(f"/api/{name}/v1", json={}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def wait_ready(client: httpx.Client, key: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/environments/{key}").json()
        if view["state"] != "building":
            return view
        time.sleep(0.2)
    raise AssertionError(f"environment {key} still building")


def cli(server: LiveServer, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "o16n.cli", "envs", *args, "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("envs") / "data", environments_uv_cache=UV_CACHE,
                        environments_min_idle_seconds=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def two(client):
    """Two services pinned to two versions of tabulate (built once for the module)."""
    timings = {}
    for name, pin in (("tab_old", OLD), ("tab_new", NEW)):
        started = time.monotonic()
        response = publish(client, name, env(pin))
        assert response.status_code == 201, response.text
        timings[name] = time.monotonic() - started
    return timings


def test_two_versions_of_one_package_each_report_their_own(client, two):
    assert consume(client, "tab_old")["outputParameters"] == {"version": "0.8.10"}
    assert consume(client, "tab_new")["outputParameters"] == {"version": "0.9.0"}
    view = client.get("/services/tab_old/v1").json()[0]
    assert view["environment"]["python"] == PY and view["environment"]["packages"] == [OLD]
    key = view["environment"]["key"]
    assert len(key) == 64
    # The server's own environment lacks it: a service without an environment cannot import it.
    assert "tabulate" not in client.get("/environments/server").json()["packages"]
    assert publish(client, "tab_none", None).status_code == 201
    assert consume(client, "tab_none")["success"] is False
    assert client.get("/services/tab_none/v1").json()[0]["environment"] is None
    client.delete("/services/tab_none/v1")
    status = client.get("/status").json()
    listed = {e["key"]: e for e in status["environments"]}
    assert listed[key]["services"] == [{"name": "tab_old", "version": "v1"}]
    assert listed[key]["state"] == "ready" and listed[key]["packageCount"] == 1 and listed[key]["sizeBytes"] > 0


def test_the_first_consume_after_publish_is_warm(client, two):
    started = time.monotonic()
    assert publish(client, "tab_warm", env(NEW)).status_code == 201
    published = time.monotonic() - started
    time.sleep(3)  # the first worker starts right after the publish
    started = time.monotonic()
    assert consume(client, "tab_warm")["outputParameters"] == {"version": "0.9.0"}
    first = time.monotonic() - started
    print(f"\npublish with a built environment {published:.2f} s; first consume {first * 1000:.0f} ms")
    assert first < 2.0
    assert client.delete("/services/tab_warm/v1").status_code == 200


def test_a_second_publish_with_the_same_pins_reuses_the_environment(client, two):
    started = time.monotonic()
    assert publish(client, "tab_again", env(OLD)).status_code == 201
    again = time.monotonic() - started
    print(f"\nfirst build+publish {two['tab_old']:.2f} s, same pins again {again:.2f} s")
    assert again < two["tab_old"]
    key = client.get("/services/tab_again/v1").json()[0]["environment"]["key"]
    assert key == client.get("/services/tab_old/v1").json()[0]["environment"]["key"]
    view = client.get(f"/environments/{key}").json()
    assert {s["name"] for s in view["services"]} == {"tab_old", "tab_again"}
    assert client.post("/environments", json=env(OLD)).status_code == 200  # ready already
    assert consume(client, "tab_again")["outputParameters"] == {"version": "0.8.10"}
    assert client.delete("/services/tab_again/v1").status_code == 200


def test_an_object_whose_class_only_the_environment_has(client, two):
    created = client.post("/sessions", json={"environment": env(NEW)}, timeout=600)
    assert created.status_code == 201, created.text
    session = created.json()["sessionId"]
    try:
        ran = client.post(f"/sessions/{session}/execute", json={
            # A str subclass of tabulate's: dill keeps a reference to its class, not the class itself.
            "code": "import tabulate\ntable = tabulate.tabulate([[1, 2]], tablefmt='html')\ndel tabulate",
        }).json()
        assert ran["success"], ran
        snapshot = client.post(f"/sessions/{session}/snapshot", json={"name": "fmt"}).json()["snapshotId"]
    finally:
        client.delete(f"/sessions/{session}")
    code = "kind = type(table).__module__ + '.' + type(table).__name__ + ' ' + str(table.startswith('<table>'))"
    out = [{"name": "kind", "type": "str"}]
    response = publish(client, "tab_object", env(NEW), code=code, snapshotId=snapshot, outputParameterDefinitions=out)
    assert response.status_code == 201, response.text
    assert consume(client, "tab_object")["outputParameters"] == {"kind": "tabulate.JupyterHTMLStr True"}
    # The same snapshot in the server's own environment cannot load its object.
    publish(client, "tab_object_bare", None, code=code, snapshotId=snapshot, outputParameterDefinitions=out)
    bare = client.post("/api/tab_object_bare/v1", json={}, timeout=120)
    assert bare.status_code != 200 or bare.json()["success"] is False
    assert "tabulate" in bare.text
    for name in ("tab_object", "tab_object_bare"):
        client.delete(f"/services/{name}/v1")


def test_an_unknown_package_fails_the_publish_with_the_resolvers_message(client):
    response = publish(client, "tab_broken", env("o16n-no-such-package-zq==1.0"))
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "environment"
    assert "o16n-no-such-package-zq" in body["message"] and "not found" in body["message"]
    assert client.get("/services/tab_broken").json() == []  # nothing published
    key = next(e["key"] for e in client.get("/environments").json() if e["packages"] == ["o16n-no-such-package-zq==1.0"])
    assert client.get(f"/environments/{key}").json()["state"] == "failed"
    missing = publish(client, "tab_broken", {"python": "3.99", "packages": [OLD]})
    assert missing.status_code == 400 and "3.99" in missing.json()["message"] and "it has" in missing.json()["message"]
    refused = publish(client, "tab_broken", env("tabulate @ file:///etc/passwd"))
    assert refused.status_code == 400 and refused.json()["field"] == "environment"


def test_roles_and_delete_while_in_use(server, client, two):
    server.add_user("envreader", "Reader-Pass-123", "Reader")
    server.add_user("envcontrib", "Contrib-Pass-123", "Contributor")
    key = client.get("/services/tab_new/v1").json()[0]["environment"]["key"]
    with server.client("envreader", "Reader-Pass-123") as reader:
        assert reader.post("/environments", json=env(NEW)).status_code == 403
        assert reader.get(f"/environments/{key}").status_code == 200
    with server.client("envcontrib", "Contrib-Pass-123") as contributor:
        assert contributor.delete(f"/environments/{key}").status_code == 403
    in_use = client.delete(f"/environments/{key}")
    assert in_use.status_code == 409 and "tab_new" in in_use.json()["message"]
    assert client.get("/environments/" + "0" * 64).status_code == 404


def test_envs_cli_list_prune_and_delete_releases(server, client, two):
    old_key = client.get("/services/tab_old/v1").json()[0]["environment"]["key"]
    new_key = client.get("/services/tab_new/v1").json()[0]["environment"]["key"]
    listing = cli(server, "list")
    assert old_key[:16] in listing and "tab_old/v1" in listing and new_key[:16] in listing
    assert client.delete("/services/tab_old/v1").status_code == 200
    assert client.get(f"/environments/{old_key}").json()["services"] == []  # released
    assert (server.data_dir / "environments" / old_key).is_dir()  # kept until pruned
    pruned = cli(server, "prune")
    assert old_key[:16] in pruned and new_key[:16] not in pruned
    assert not (server.data_dir / "environments" / old_key).exists()
    assert client.get(f"/environments/{old_key}").status_code == 404
    assert consume(client, "tab_new")["outputParameters"] == {"version": "0.9.0"}
    # Asked for again, it is built again.
    assert publish(client, "tab_old", env(OLD)).status_code == 201
    assert consume(client, "tab_old")["outputParameters"] == {"version": "0.8.10"}


def test_least_recently_used_unused_environments_go_past_the_bound(server_factory):
    server = server_factory(environments_uv_cache=UV_CACHE, environments_max_bytes=1, environments_min_idle_seconds=0)
    with server.client() as c:
        first = c.post("/environments", json=env(OLD)).json()["key"]
        assert wait_ready(c, first)["state"] == "ready"
        assert publish(c, "tab_kept", env(NEW)).status_code == 201  # over the bound: the unused OLD goes
        keys = {e["key"] for e in c.get("/environments").json()}
        kept = c.get("/services/tab_kept/v1").json()[0]["environment"]["key"]
        assert first not in keys and kept in keys
        assert not (server.data_dir / "environments" / first).exists()
        third = c.post("/environments", json=env("tabulate==0.8.9")).json()["key"]
        assert wait_ready(c, third)["state"] == "ready"
        keys = {e["key"] for e in c.get("/environments").json()}
        assert kept in keys and third in keys  # in use, and just built: both stay
        assert consume(c, "tab_kept")["outputParameters"] == {"version": "0.9.0"}


def test_kill_9_in_the_middle_of_a_build_leaves_nothing_half_built(server_factory):
    server = server_factory(environments_uv_cache=UV_CACHE)
    root = server.data_dir / "environments"
    with server.client() as c:
        accepted = c.post("/environments", json=env("tabulate==0.8.9", "xmltodict==0.13.0"))
        assert accepted.status_code == 202
        key = accepted.json()["key"]
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".build-") and not p.name.startswith(".build-worker") for p in root.iterdir()):
            assert time.monotonic() < deadline, "no build started"
            time.sleep(0.01)
        assert c.get(f"/environments/{key}").json()["state"] == "building"
    server.stop(hard=True)
    assert not (root / key).exists()  # never renamed into place
    server.start()
    with server.client() as c:
        # The stale "building" row is built again by the restarted server; nothing half-built is used.
        view = wait_ready(c, key)
        assert view["state"] == "ready", view
        assert (root / key / "o16n-environment.json").is_file()
        assert not [p for p in root.iterdir() if p.name.startswith(".build-")]
        assert publish(c, "tab_after_kill", env("tabulate==0.8.9", "xmltodict==0.13.0"),
                       code="import tabulate\nversion = tabulate.__version__").status_code == 201
        assert consume(c, "tab_after_kill")["outputParameters"] == {"version": "0.8.9"}


def test_the_environment_is_read_only_for_its_workers(client, two):
    code = ("import tabulate, os\n"
            "try:\n    open(tabulate.__file__, 'a').close()\n    version = 'writable'\n"
            "except OSError as exc:\n    version = type(exc).__name__\n")
    assert publish(client, "tab_ro", env(NEW), code=code).status_code == 201
    assert consume(client, "tab_ro")["outputParameters"]["version"] in ("OSError", "PermissionError")
    client.delete("/services/tab_ro/v1")
