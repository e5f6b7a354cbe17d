"""The extension signing in with OpenID Connect, end to end: a real o16n server that takes OIDC
bearer tokens, the real OpenID provider of the tests (node-oidc-provider, oidc_server.py), a real
Jupyter server and real kernels.

- client credentials (c.O16n.oidc_flow = "client_credentials"): the relay signs in by itself,
  publishes from a kernel, consumes; kernels get the issuer's access token in their credentials
  file, renewed as it nears expiry; a bad secret or a missing setting is explained in the status.
- device code (RFC 8628): POST /o16n/login {"method": "device"} answers the prompt, the test plays
  the user on the provider's pages, the relay polls (interval, slow_down) and signs in; tokens are
  refreshed with the refresh token, which a logout revokes; a refused or expired code is explained.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from jupyter_helpers import SETOSA, TRAIN_IRIS, wait_job
from oidc_server import DEVICE_INTERVAL, DeviceUser, OidcProvider

pytestmark = pytest.mark.timeout(600)

WAITING = "waiting for device sign-in"


@pytest.fixture
def remote(server_factory, oidc_provider: OidcProvider):
    """An o16n server that takes the test provider's tokens (its roles claim mapped to o16n roles)."""
    return server_factory(**oidc_provider.settings())


def traits(oidc_provider: OidcProvider, tmp_path: Path, signin: tuple[str, str]) -> dict[str, Any]:
    flow, client_id = signin
    if flow == "client_credentials":
        secret = tmp_path / "client-secret"
        secret.write_text(("wrong" if client_id == "bad-secret" else f"secret-{client_id}") + "\n")
        return {"oidc_flow": flow, "oidc_issuer": oidc_provider.issuer,
                "oidc_client_id": "contrib-app" if client_id == "bad-secret" else client_id,
                "oidc_client_secret_file": str(secret), "oidc_resource": "urn:o16n:brief", "oidc_scope": "api"}
    if flow == "device_code":
        return {"oidc_flow": flow, "oidc_issuer": oidc_provider.issuer, "oidc_client_id": client_id,
                "oidc_scope": "openid offline_access api", "oidc_resource": "urn:o16n:brief"}
    return {"oidc_flow": "client_credentials", "oidc_issuer": oidc_provider.issuer}  # no client id


@pytest.fixture
def o16n_config(remote, oidc_provider, tmp_path, signin):
    return {"server_url": remote.url, **traits(oidc_provider, tmp_path, signin)}


def credentials() -> dict[str, Any]:
    return json.loads(Path(os.environ["O16N_CREDENTIALS_FILE"]).read_text())


async def wait_status(api, until, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await api("GET", "status")
        assert status == 200, body
        if until(body):
            return body
        assert time.monotonic() < deadline, f"status never got there: {body}"
        await asyncio.sleep(0.2)


def no_tokens_in(body: Any) -> None:
    assert "eyJ" not in json.dumps(body)  # a JWT starts with eyJ: none reaches the browser


# ====================================================================== client credentials
@pytest.mark.parametrize("signin", [("client_credentials", "contrib-app")])
async def test_client_credentials_publish_from_a_kernel_and_consume(api, remote, oidc_provider, start_kernel,
                                                                    run_cell, signin):
    body = await wait_status(api, lambda b: b["login"] == "logged in")
    assert body["connected"] is True and body["loginMethods"] == ["password", "client_credentials"]
    assert body["user"] == {"name": "contrib-app@example.org", "role": "Contributor"}
    assert body["account"] == {"provider": "oidc", "displayName": "Contributor App",
                               "roleSource": "oidc claim roles o16n-contributors"}
    no_tokens_in(body)

    # kernels hold the issuer's access token, never a refresh token or the client secret
    creds = credentials()
    assert set(creds) == {"url", "access_token", "expires_on"} and creds["url"] == remote.url
    claims = jwt.decode(creds["access_token"], options={"verify_signature": False})
    assert claims["iss"] == oidc_provider.issuer and claims["client_id"] == "contrib-app"

    kernel = await start_kernel()
    await run_cell(kernel, TRAIN_IRIS)
    name = f"OidcIris{int(time.time() * 1000) % 10**8}"
    status, started = await api("POST", "publish", body={
        "kernelId": kernel, "name": name, "version": "v1", "functionName": "predict_species",
        "objects": ["clf", "names"]})
    assert status == 202, started
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "done", job
    assert job["service"]["versionPublishedBy"] == "contrib-app@example.org"
    status, result = await api("POST", "services", name, "v1", "consume", body={"inputs": {"flower_data": SETOSA}})
    assert status == 200 and result["outputParameters"]["result"] == "setosa", result

    # urn:o16n:brief tokens live 6 s: the relay renews them at the issuer, the kernels' file follows
    first = creds["access_token"]
    await asyncio.sleep(7)
    status, services = await api("GET", "services", params={"name": name})
    assert status == 200 and [s["version"] for s in services] == ["v1"]
    assert credentials()["access_token"] != first
    out = await run_cell(kernel, "from o16n.client import connect\nc = connect()\n"
                                 f"print('KERNEL', c.me()['username'], c.consume('{name}', 'v1', "
                                 f"{{'flower_data': {SETOSA}}}).output())\n")
    assert "KERNEL contrib-app@example.org setosa" in out

    # logged out: no token for the kernels; signing in again takes the method's name
    status, body = await api("POST", "logout")
    assert body["login"] == "logged out" and not Path(os.environ["O16N_CREDENTIALS_FILE"]).exists()
    status, body = await api("POST", "login", body={"method": "client_credentials"})
    assert status == 200 and body["login"] == "logged in" and body["account"]["provider"] == "oidc"
    status, error = await api("POST", "login", body={"method": "device"})
    assert status == 400 and error["field"] == "method" and "oidc_flow" in error["message"]
    status, _ = await api("DELETE", "services", name, "v1")
    assert status == 200


@pytest.mark.parametrize("signin", [("client_credentials", "bad-secret")])
async def test_a_refused_client_secret_is_explained(api, signin):
    body = await wait_status(api, lambda b: b["login"] == "failed")
    assert "cannot sign in" in body["message"] and "invalid_client" in body["message"]
    assert "wrong" not in body["message"]  # the secret itself is never repeated
    status, error = await api("GET", "services")
    assert status == 401 and "invalid_client" in error["message"]


@pytest.mark.parametrize("signin", [("misconfigured", "")])
async def test_a_missing_setting_is_named(api, signin):
    body = await wait_status(api, lambda b: b["login"] == "failed")
    assert "c.O16n.oidc_client_id is required" in body["message"]


# ====================================================================== device code
async def start_device(api) -> dict[str, Any]:
    status, body = await api("POST", "login", body={"method": "device"})
    assert status == 200, body
    assert body["login"] == WAITING and body["connected"] is False and body["user"] is None
    assert body["account"] is None
    no_tokens_in(body)
    prompt = body["device"]
    assert set(prompt) == {"userCode", "verificationUri", "verificationUriComplete", "expiresAt", "interval"}
    return prompt


@pytest.mark.parametrize("signin", [("device_code", "lab-device")])
async def test_device_sign_in_refresh_and_logout(api, oidc_provider, o16n_app, start_kernel, run_cell, signin):
    status, body = await api("GET", "status")
    assert body["login"] == "logged out" and body["loginMethods"] == ["password", "device"]
    prompt = await start_device(api)
    assert prompt["verificationUri"] == oidc_provider.issuer + "/device"
    assert prompt["interval"] == DEVICE_INTERVAL and prompt["expiresAt"].endswith("Z")
    status, body = await api("GET", "status")
    assert body["device"] == prompt and prompt["userCode"] in body["message"]

    user = DeviceUser()
    try:
        await asyncio.to_thread(user.approve, prompt["verificationUri"], prompt["userCode"], "alice")
    finally:
        user.close()
    body = await wait_status(api, lambda b: b["login"] == "logged in")
    assert body["device"] is None and body["connected"] is True
    assert body["user"] == {"name": "alice@example.org", "role": "Contributor"}
    assert body["account"]["provider"] == "oidc" and body["account"]["displayName"] == "Alice Liddell"
    no_tokens_in(body)
    polls = oidc_provider.polls("lab-device")
    gaps = [b - a for a, b in zip(polls["times"], polls["times"][1:])]
    assert polls["slowedDown"] is False and all(gap >= DEVICE_INTERVAL * 1000 - 100 for gap in gaps), polls

    kernel = await start_kernel()
    out = await run_cell(kernel, "from o16n.client import connect\nc = connect()\nprint('ME', c.me()['username'])\n")
    assert "ME alice@example.org" in out

    # 6-second tokens: renewed with the refresh token (no new device sign-in), for the kernels too
    first = credentials()["access_token"]
    refresh_token = o16n_app.connection._keeper._tokens.refresh_token
    assert refresh_token
    await asyncio.sleep(8)
    status, services = await api("GET", "services")
    assert status == 200
    renewed = credentials()["access_token"]
    assert renewed != first and jwt.decode(renewed, options={"verify_signature": False})["sub"] == "alice"
    out = await run_cell(kernel, "print('AGAIN', c.me()['username'])\n")
    assert "AGAIN alice@example.org" in out

    # logout revokes the refresh token at the provider
    current = o16n_app.connection._keeper._tokens.refresh_token
    status, body = await api("POST", "logout")
    assert body["login"] == "logged out"
    async with httpx.AsyncClient() as http:
        refused = await http.post(oidc_provider.issuer + "/token", data={
            "grant_type": "refresh_token", "refresh_token": current, "client_id": "lab-device"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("signin", [("device_code", "lab-device")])
async def test_a_refused_device_sign_in(api, signin):
    prompt = await start_device(api)
    user = DeviceUser()
    try:
        await asyncio.to_thread(user.deny, prompt["verificationUri"], prompt["userCode"])
    finally:
        user.close()
    body = await wait_status(api, lambda b: b["login"] == "failed")
    assert "the sign-in was refused at the OpenID provider (access_denied" in body["message"]
    assert body["device"] is None and body["user"] is None
    status, error = await api("GET", "services")
    assert status == 401


@pytest.mark.parametrize("signin", [("device_code", "lab-device-brief")])
async def test_a_device_code_nobody_uses_expires(api, signin):
    prompt = await start_device(api)
    body = await wait_status(api, lambda b: b["login"] != WAITING, timeout=20)
    assert body["login"] == "failed" and "expired before the sign-in was completed" in body["message"], body
    # starting again gives a new code; a logout while waiting cancels it
    again = await start_device(api)
    assert again["userCode"] != prompt["userCode"]
    status, body = await api("POST", "logout")
    assert body["login"] == "logged out" and body["device"] is None


@pytest.mark.parametrize("signin", [("device_code", "lab-device-slow")])
async def test_slow_down_makes_the_relay_wait_five_seconds_more(api, oidc_provider, signin):
    prompt = await start_device(api)
    deadline = time.monotonic() + 10
    while not oidc_provider.polls("lab-device-slow")["times"]:  # the first poll is answered slow_down
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    user = DeviceUser()
    try:
        await asyncio.to_thread(user.approve, prompt["verificationUri"], prompt["userCode"], "rita")
    finally:
        user.close()
    body = await wait_status(api, lambda b: b["login"] == "logged in", timeout=30)
    assert body["user"]["name"] == "rita@example.org" and body["user"]["role"] == "Reader"
    times = oidc_provider.polls("lab-device-slow")["times"]
    assert len(times) == 2 and times[1] - times[0] >= (DEVICE_INTERVAL + 5) * 1000 - 100, times
