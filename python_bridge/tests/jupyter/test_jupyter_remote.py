"""The extension against a remote o16n server: login from the lab, token renewal, logout, outages."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from server_process import ADMIN_PASSWORD

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def remote(server_factory):
    """A second o16n server with 2-second access tokens."""
    return server_factory(access_token_lifetime=2)


def read_credentials() -> dict:
    return json.loads(Path(os.environ["O16N_CREDENTIALS_FILE"]).read_text())


async def test_login_refresh_logout(api, remote, o16n_app, start_kernel, run_cell):
    status, body = await api("GET", "status")
    assert status == 200 and body["mode"] == "remote" and body["url"] == remote.url
    assert body["connected"] is False and body["user"] is None and body["message"] == "not logged in"
    assert os.environ["O16N_URL"] == remote.url
    status, error = await api("GET", "services")
    assert status == 401 and "log in" in error["message"]

    status, error = await api("POST", "login", body={"username": "admin", "password": "wrong"})
    assert status == 401 and "invalid credentials" in error["message"]
    status, error = await api("POST", "login", body={"username": "admin"})
    assert status == 400 and error["field"] == "password"

    status, body = await api("POST", "login", body={"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body
    assert body["connected"] is True and body["user"]["name"] == "admin"
    assert body["server"]["statusCode"] == "pass"
    # the password is not kept: the relay holds refresh tokens only
    assert o16n_app.connection.client._transport._password is None

    # kernels get a short-lived access token in a 0600 file, never the refresh token
    creds = read_credentials()
    assert set(creds) == {"url", "access_token", "expires_on"} and creds["url"] == remote.url
    assert stat.S_IMODE(os.stat(os.environ["O16N_CREDENTIALS_FILE"]).st_mode) == 0o600

    kernel = await start_kernel()
    await run_cell(kernel, "from o16n.client import connect\nclient = connect()\n"
                           "print('BEFORE', client.list_services())\n")

    # tokens live 2 s: after 5 s the relay has renewed its own and the kernels' file was rewritten
    first = creds["access_token"]
    await asyncio.sleep(5)
    status, services = await api("GET", "services")
    assert status == 200 and services == []
    creds = read_credentials()
    assert creds["access_token"] != first
    async with httpx.AsyncClient(base_url=remote.url) as http:
        ok = await http.get("/services", headers={"Authorization": f"Bearer {creds['access_token']}"})
        assert ok.status_code == 200
        old = await http.get("/services", headers={"Authorization": f"Bearer {first}"})
        assert old.status_code == 401

    # the kernel's client (connected 5 s ago) re-reads the file and carries on, no login
    out = await run_cell(kernel, "print('AFTER', client.list_services())\n"
                                 "%load_ext o16n\n%o16n status\n")
    assert "AFTER []" in out and f"connected to {remote.url}" in out

    status, body = await api("POST", "logout")
    assert status == 200 and body["connected"] is False and body["user"] is None
    assert not Path(os.environ["O16N_CREDENTIALS_FILE"]).exists()
    status, error = await api("GET", "services")
    assert status == 401
    async with httpx.AsyncClient(base_url=remote.url) as http:  # the kernels' token was revoked
        gone = await http.get("/services", headers={"Authorization": f"Bearer {creds['access_token']}"})
        assert gone.status_code == 401


async def test_server_away_gives_502_then_works_again(api, remote):
    steady = remote
    status, body = await api("POST", "login", body={"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body
    status, _ = await api("GET", "services")
    assert status == 200

    steady.stop()
    status, error = await api("GET", "services")
    assert status == 502 and f"cannot reach the o16n server at {steady.url}" in error["message"]
    status, body = await api("GET", "status")
    assert status == 200 and body["connected"] is False and "cannot reach" in body["message"]

    steady.start()  # same port, same data
    status, services = await api("GET", "services")
    assert status == 200 and services == []
    status, body = await api("GET", "status")
    assert body["connected"] is True


async def test_error_status_and_message_pass_through(api, remote):
    status, _ = await api("POST", "login", body={"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200
    status, error = await api("GET", "services", "nope", "1")
    assert status == 404 and "was not found" in error["message"]
    status, error = await api("POST", "services", "nope", "1", "consume", body={"inputs": {}})
    assert status == 404 and error["message"]
    status, error = await api("POST", "services", "nope", "1", "consume", body={"inputs": []})
    assert status == 400 and error["field"] == "inputs"


@pytest.fixture
def configured_by_env(monkeypatch, server_factory):
    server = server_factory()
    monkeypatch.setenv("O16N_URL", server.url)
    monkeypatch.setenv("O16N_USER", "admin")
    monkeypatch.setenv("O16N_PASSWORD", ADMIN_PASSWORD)
    return server


@pytest.fixture
def o16n_config(request):
    if "configured_by_env" in request.fixturenames:
        return {}
    return {"server_url": request.getfixturevalue("remote").url}


async def test_remote_login_from_the_environment(configured_by_env, api):
    status, services = await api("GET", "services")  # logs in by itself with O16N_USER/O16N_PASSWORD
    assert status == 200 and services == []
    status, body = await api("GET", "status")
    assert body["mode"] == "remote" and body["url"] == configured_by_env.url and body["user"]["name"] == "admin"
