"""Shared fixtures: real o16n servers on loopback."""

from __future__ import annotations

import pytest
from server_process import LiveServer

# slapd, oidc_provider, enterprise_server (the LDAP / OIDC sign-in tests)
pytest_plugins = ["auth_fixtures"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One server for the whole run (admin / LiveServer.admin_password)."""
    server = LiveServer(tmp_path_factory.mktemp("o16n") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Start extra servers with their own settings, e.g. server_factory(access_token_lifetime=2)."""
    started: list[LiveServer] = []

    def start(**settings: object) -> LiveServer:
        server = LiveServer(tmp_path / f"data{len(started)}", **settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def admin(live_server):
    with live_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-speaking server (moto's standalone server) for the whole run."""
    from s3_server import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log").start()
    yield server
    server.stop()
