"""Fixtures for the Jupyter server extension: pytest-jupyter's, scoped to this directory.

The plugin's fixtures and hooks are imported here instead of ``pytest_plugins`` so that its autouse
fixtures (an event loop and a ServerApp cleanup per test) do not reach the other suites.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403 - fixtures and hooks, directory-scoped
from tornado.httpclient import HTTPClientError


@pytest.fixture
def o16n_config() -> dict[str, Any]:
    """Extra ``c.O16n`` settings for a test (override in a test module or with indirect use)."""
    return {}


@pytest.fixture
def jp_server_config(o16n_config, tmp_path):
    return {
        "ServerApp": {
            "jpserver_extensions": {"o16n.jupyter": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "O16n": {"capture_dir": str(tmp_path / "capture"), **o16n_config},
    }


@pytest.fixture
def o16n_app(jp_serverapp):
    """The extension app loaded in the test's Jupyter server."""
    return jp_serverapp.web_app.settings["o16n"]


@pytest.fixture
def api(jp_fetch):
    """Call /o16n/... and get (status, JSON body), errors included."""
    async def call(method: str, *parts: str, body: Any = None, params: dict | None = None,
                   timeout: float = 120) -> tuple[int, Any]:
        kw: dict[str, Any] = {"method": method, "request_timeout": timeout, "params": params}
        if body is not None or method in ("POST", "PATCH"):
            kw["body"] = json.dumps(body if body is not None else {})
        if method == "DELETE":
            kw["allow_nonstandard_methods"] = True
        try:
            response = await jp_fetch("o16n", *parts, **kw)
        except HTTPClientError as exc:
            raw = exc.response.body if exc.response is not None else b""
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")
        return response.code, json.loads(response.body) if response.body else None
    return call


@pytest.fixture
def start_kernel(jp_serverapp):
    """Start a real ipykernel through Jupyter's kernel manager; returns its id."""
    km = jp_serverapp.kernel_manager

    async def start() -> str:
        kernel_id = await km.start_kernel(kernel_name="python3")
        client = km.get_kernel(kernel_id).client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
        finally:
            client.stop_channels()
        return kernel_id
    return start


@pytest.fixture
def run_cell(jp_serverapp):
    """Execute a cell in a kernel; returns its stdout+stderr; fails the test on an exception."""
    km = jp_serverapp.kernel_manager

    async def run(kernel_id: str, code: str, timeout: float = 120, expect_error: bool = False) -> str:
        client = km.get_kernel(kernel_id).client()
        client.start_channels()
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))
        try:
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive(code, timeout=timeout, output_hook=hook)
        finally:
            client.stop_channels()
        text = "".join(out)
        if not expect_error:
            assert reply["content"]["status"] == "ok", text
        return text
    return run


@pytest.fixture
def logged_in_kernel(api, start_kernel, run_cell):
    """Log in to the o16n server as admin, start a kernel and run `setup` in it: `await logged_in_kernel(SETUP)`."""
    from server_process import ADMIN_PASSWORD

    async def start(setup: str) -> str:
        status, body = await api("POST", "login", body={"username": "admin", "password": ADMIN_PASSWORD})
        assert status == 200, body
        kernel_id = await start_kernel()
        await run_cell(kernel_id, setup)
        return kernel_id
    return start

