"""Identity edges, probed as a hostile user would (issue: user code behind a real wall, item 5).

Real servers on loopback; users are managed with the real `o16n users` CLI.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from server_process import LiveServer

PASSWORD = "Pw-123456"


def cli(data_dir: Path, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, O16N_NEW_PASSWORD=password)
    return subprocess.run([sys.executable, "-m", "o16n.cli", "users", *args, "--data-dir", str(data_dir)],
                          env=env, capture_output=True, text=True, timeout=60)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def server(server_factory) -> LiveServer:
    return server_factory(auth_cache_seconds=0.2)


def test_a_removed_and_re_added_user_reaches_nothing_of_the_old_one(server):
    assert cli(server.data_dir, "add", "mallory", "--role", "Contributor").returncode == 0
    old = server.login("mallory", PASSWORD)
    session = httpx.post(server.url + "/sessions", json={}, headers=bearer(old["access_token"]), timeout=60)
    assert session.status_code == 201
    session_id = session.json()["sessionId"]
    assert cli(server.data_dir, "remove", "mallory").returncode == 0
    assert cli(server.data_dir, "add", "mallory", "--role", "Contributor").returncode == 0
    new = server.login("mallory", PASSWORD)
    with httpx.Client(base_url=server.url, headers=bearer(new["access_token"]), timeout=60) as again:
        assert again.post(f"/sessions/{session_id}/execute", json={"code": "1"}).status_code == 404
        assert session_id not in [s["id"] for s in again.get("/sessions").json()]


def test_a_password_change_ends_the_users_tokens(server):
    assert cli(server.data_dir, "add", "pat", "--role", "Reader").returncode == 0
    tokens = server.login("pat", PASSWORD)
    assert httpx.get(server.url + "/status", headers=bearer(tokens["access_token"])).status_code == 200
    assert cli(server.data_dir, "set-password", "pat", password="Pw-new-7890").returncode == 0
    time.sleep(0.5)  # past the auth cache
    assert httpx.get(server.url + "/status", headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = httpx.post(server.url + "/login/refreshToken", json={"refreshToken": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def test_replaying_a_rotated_refresh_token_revokes_the_whole_chain(server):
    first = server.login()
    second = httpx.post(server.url + "/login/refreshToken", json={"refreshToken": first["refresh_token"]}).json()
    third = httpx.post(server.url + "/login/refreshToken", json={"refreshToken": second["refresh_token"]}).json()
    assert httpx.get(server.url + "/status", headers=bearer(third["access_token"])).status_code == 200
    # Somebody replays the first (stolen) refresh token: the chain ends for everybody.
    replay = httpx.post(server.url + "/login/refreshToken", json={"refreshToken": first["refresh_token"]})
    assert replay.status_code == 401
    time.sleep(0.5)
    assert httpx.get(server.url + "/status", headers=bearer(third["access_token"])).status_code == 401
    assert httpx.post(server.url + "/login/refreshToken", json={"refreshToken": third["refresh_token"]}).status_code == 401
    # Other logins of the same user are not in that chain.
    assert httpx.get(server.url + "/status", headers=bearer(server.login()["access_token"])).status_code == 200


def test_password_spraying_from_one_address_is_throttled(server_factory):
    server = server_factory(login_attempts_per_address=10)
    statuses = [httpx.post(server.url + "/login", json={"username": f"user{i}", "password": "Winter2026!"}).status_code
                for i in range(15)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    refused = httpx.post(server.url + "/login", json={"username": "admin", "password": server.admin_password})
    assert refused.status_code == 429 and refused.json()["fields"] == "username"


def test_huge_user_names_cost_the_server_nothing(server):
    pid = server.process.pid  # type: ignore[union-attr]
    before = rss_kib(pid)
    name = "x" * (8 * 1024 * 1024)
    for _ in range(25):
        answer = httpx.post(server.url + "/login", json={"username": name, "password": "x"}, timeout=60)
        assert answer.status_code == 413 and answer.json()["fields"] == "body"
    assert rss_kib(pid) - before < 64 * 1024, "the server grew by more than 64 MB"


@pytest.mark.parametrize("path, status", [("/login", b"413"), ("/services/x/v1", b"401")])
def test_unauthenticated_bodies_are_not_read(server, path, status):
    """Five concurrent 100 MB bodies without a token: refused at once, the server does not hold them."""
    pid = server.process.pid  # type: ignore[union-attr]
    before = rss_kib(pid)
    host, port = "127.0.0.1", server.port
    # No Content-Length to judge by: chunked, so the server has to count.
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()

    def send() -> bytes:
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(head)
            chunk = b"100000\r\n" + b"0" * (1 << 20) + b"\r\n"
            try:
                for _ in range(100):
                    sock.sendall(chunk)
            except OSError:
                pass  # the server answered and closed: what we want
            sock.settimeout(10)
            try:
                return sock.recv(200)
            except OSError:
                return b""

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: send(), range(5)))
    assert all(a.startswith(b"HTTP/1.1 " + status) for a in answers if a), answers
    assert rss_kib(pid) - before < 100 * 1024, "the server held the bodies"


def test_login_bodies_are_capped(server):
    response = httpx.post(server.url + "/login", content=b"{" + b" " * (200 * 1024) + b"}",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_login_flood_is_bounded_and_consume_goes_on(server_factory):
    server = server_factory(login_concurrency=1)
    with server.client() as admin:
        body = {"code": "y = x", "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
                "outputParameterDefinitions": [{"name": "y", "type": "integer"}]}
        assert admin.post("/services/Echo/v1", json=body).status_code == 201
        assert admin.post("/api/Echo/v1", json={"x": 1}).status_code == 200

        def guess(i: int) -> int:
            return httpx.post(server.url + "/login", json={"username": f"n{i}", "password": "p"}, timeout=60).status_code

        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            flood = pool.map(guess, range(40))
            consumed = admin.post("/api/Echo/v1", json={"x": 2})
            statuses = list(flood)
        assert consumed.status_code == 200
        assert 429 in statuses, "logins beyond the queue must be refused, not all hashed"


def test_status_shows_paths_to_owners_only(live_server):
    with live_server.client() as admin:
        assert "dataDir" in admin.get("/status").json()["details"]
    subprocess.run([sys.executable, "-m", "o16n.cli", "users", "add", "status-reader", "--role", "Reader",
                    "--data-dir", str(live_server.data_dir)], env=dict(os.environ, O16N_NEW_PASSWORD=PASSWORD),
                   check=True, capture_output=True)
    with live_server.client("status-reader", PASSWORD) as reader:
        status = reader.get("/status").json()
        assert "dataDir" not in status["details"]
        assert str(live_server.data_dir) not in str(status)


@pytest.mark.parametrize("name, version", [("Nl%0A", "v1"), ("Nl", "v1%0A"), ("Tab%09", "v1"), ("ok", "v%00")])
def test_names_and_versions_follow_one_rule(live_server, name, version):
    with live_server.client() as admin:
        answer = admin.post(f"/services/{name}/{version}", json={"code": "y = 1"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["fields"] in ("name", "version")
