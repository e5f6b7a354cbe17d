"""Fixtures for the enterprise sign-in tests: a real slapd, a real OpenID provider, and an o16n
server that uses both (plus its local admin). Loaded by conftest.py (pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ldap_server import Slapd
from oidc_server import OidcProvider
from server_process import LiveServer


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    provider = OidcProvider(tmp_path_factory.mktemp("oidc")).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def enterprise_server(tmp_path_factory: pytest.TempPathFactory, slapd: Slapd,
                      oidc_provider: OidcProvider) -> Iterator[LiveServer]:
    """local admin + LDAP (LDAPS, search-then-bind) + OIDC bearer tokens, for the role walk and the walkthrough."""
    settings = {**slapd.settings(), **oidc_provider.settings(), "auth_providers": "local,ldap,oidc"}
    server = LiveServer(tmp_path_factory.mktemp("o16n-enterprise") / "data", **settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oidc_o16n(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Iterator[LiveServer]:
    """local admin + OIDC bearer tokens from the test provider (for the clients' token providers)."""
    server = LiveServer(tmp_path_factory.mktemp("o16n-oidc-clients") / "data", **oidc_provider.settings()).start()
    yield server
    server.stop()


def bearer_client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
