"""Sign-in against a real OpenLDAP server (slapd, see ldap_server.py): groups to roles, refusals,
the refresh re-check, group changes after the cache time, LDAPS / StartTLS with a test CA, and a
directory that is down (503 while the local admin still signs in).

The module's server uses LDAPS with search-then-bind, re-reads groups every 6 s
(cache_lifetime_minutes=0.1) and trusts a checked grant for no time at all (auth_cache_seconds=0).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from ldap_server import GROUPS, PEOPLE, TestCA, password_of
from server_process import LiveServer, free_port

CACHE_SECONDS = 6


def login(server: LiveServer, user: str, password: str | None = None) -> httpx.Response:
    return httpx.post(server.url + "/login", json={"username": user, "password": password_of(user) if password is None
                                                   else password}, timeout=30)


def refresh(server: LiveServer, refresh_token: str) -> httpx.Response:
    return httpx.post(server.url + "/login/refreshToken", json={"refreshToken": refresh_token}, timeout=30)


def me(server: LiveServer, access_token: str) -> httpx.Response:
    return httpx.get(server.url + "/users/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=30)


def tokens_of(server: LiveServer, user: str) -> dict:
    response = login(server, user)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def server(slapd, tmp_path_factory) -> Iterator[LiveServer]:
    settings = slapd.settings(cache_lifetime_minutes=CACHE_SECONDS / 60, auth_cache_seconds=0)
    live = LiveServer(tmp_path_factory.mktemp("o16n-ldap") / "data", **settings).start()
    yield live
    live.stop()


# ------------------------------------------------------------------------------ groups -> roles
@pytest.mark.parametrize("user, role, group", [
    ("alice", "Owner", "o16n-owners"),
    ("bob", "Contributor", "o16n-contributors"),
    ("carol", "Reader", "o16n-readers"),
    ("heidi", "Owner", "o16n-owners"),  # a Reader and an Owner: the highest role wins
])
def test_login_gives_the_role_of_the_group(server, user, role, group):
    tokens = tokens_of(server, user)
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and tokens["expires_in"] == 3600
    answer = me(server, tokens["access_token"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["username"], body["role"], body["provider"]) == (user, role, "ldap")
    assert body["displayName"] == f"{user.title()} Example"
    assert body["roleSource"] == f"ldap group cn={group},{GROUPS}"
    assert body["externalId"] and body["lastRoleCheck"]
    # The role is in force: only Contributors and Owners may open sessions.
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens['access_token']}"},
                      timeout=60) as client:
        created = client.post("/sessions", json={})
        assert created.status_code == (403 if role == "Reader" else 201), created.text
        if created.status_code == 201:
            client.delete(f"/sessions/{created.json()['sessionId']}")


def test_a_user_in_no_mapped_group_gets_403(server):
    response = login(server, "dave")
    assert response.status_code == 403, response.text
    assert "none of their groups is mapped to an o16n role" in response.json()["message"]


@pytest.mark.parametrize("user, password", [
    ("bob", "wrong"),
    ("bob", ""),  # an empty password would be an anonymous bind, which LDAP lets "succeed"
    ("no-such-user", "whatever"),
    ("*", "pw-bob"),  # filter characters are escaped, not a wildcard
    ("bob)(uid=*", "pw-bob"),
])
def test_wrong_credentials_get_401(server, user, password):
    response = login(server, user, password)
    assert response.status_code == 401, response.text
    assert response.json()["message"] == "invalid credentials"


def test_ownership_and_listing_follow_the_directory_id(server, slapd):
    tokens = tokens_of(server, "bob")
    first = me(server, tokens["access_token"]).json()
    again = me(server, tokens_of(server, "bob")["access_token"]).json()
    assert again["id"] == first["id"]  # one row per directory account, however often it signs in
    with server.client() as admin:  # the local admin, beside the directory
        users = admin.get("/users").json()
        assert {"admin", "bob"} <= {u["username"] for u in users}
        assert next(u for u in users if u["username"] == "admin")["provider"] == "local"
    bob_client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert bob_client.get("/users").status_code == 403
    listed = subprocess.run([sys.executable, "-m", "o16n.cli", "users", "list", "--data-dir", str(server.data_dir)],
                            capture_output=True, text=True, env=dict(os.environ), check=True).stdout.splitlines()
    assert "admin\tOwner" in listed
    assert f"bob\tContributor\tldap\tldap group cn=o16n-contributors,{GROUPS}" in listed


# ------------------------------------------------------------------------------ the refresh re-check
def test_a_disabled_account_is_refused_at_the_next_refresh(server, slapd):
    tokens = tokens_of(server, "erin")
    assert me(server, tokens["access_token"]).status_code == 200
    slapd.disable("erin")
    response = refresh(server, tokens["refresh_token"])
    assert response.status_code == 401, response.text
    assert "no longer has an enabled account" in response.json()["message"]
    assert me(server, tokens["access_token"]).status_code == 401  # its access token ended too
    assert login(server, "erin").status_code == 401


def test_a_removed_account_is_refused_at_the_next_refresh(server, slapd):
    tokens = tokens_of(server, "frank")
    slapd.remove("frank")
    assert refresh(server, tokens["refresh_token"]).status_code == 401
    assert me(server, tokens["access_token"]).status_code == 401
    assert login(server, "frank").status_code == 401


def test_group_changes_apply_after_the_cache_lifetime(server, slapd):
    tokens = tokens_of(server, "grace")
    assert me(server, tokens["access_token"]).json()["role"] == "Reader"
    slapd.set_groups("grace", add=["o16n-contributors"], remove=["o16n-readers"])
    started = time.monotonic()
    tokens = refresh(server, tokens["refresh_token"]).json()  # within the cache time: the old groups
    assert time.monotonic() - started < CACHE_SECONDS - 1, "too slow to see the cache at work"
    assert me(server, tokens["access_token"]).json()["role"] == "Reader"
    time.sleep(CACHE_SECONDS + 0.5)
    tokens = refresh(server, tokens["refresh_token"]).json()
    body = me(server, tokens["access_token"]).json()
    assert body["role"] == "Contributor" and "o16n-contributors" in body["roleSource"]
    # Out of every mapped group: refused at the refresh after the cache time, tokens ended.
    slapd.set_groups("grace", remove=["o16n-contributors"])
    time.sleep(CACHE_SECONDS + 0.5)
    response = refresh(server, tokens["refresh_token"])
    assert response.status_code == 403, response.text
    assert "no longer in any group" in response.json()["message"]
    assert me(server, tokens["access_token"]).status_code == 401


# ------------------------------------------------------------------------------ TLS and binding modes
def test_start_tls_with_the_test_ca(slapd, server_factory):
    live = server_factory(**slapd.settings(ldap_url=slapd.url.replace("127.0.0.1", "localhost"), ldap_start_tls=True))
    assert login(live, "bob").status_code == 200
    assert login(live, "bob", "wrong").status_code == 401


def test_a_certificate_from_another_ca_is_refused(slapd, server_factory, tmp_path):
    other = TestCA(tmp_path / "other-ca", name="somebody else's CA")
    live = server_factory(**slapd.settings(ldap_ca_file=other.ca_file))
    response = login(live, "bob")
    assert response.status_code == 503, response.text
    assert "directory" in response.json()["message"]
    assert httpx.post(live.url + "/login", json={"username": "admin", "password": live.admin_password}).status_code == 200


def test_direct_bind_with_a_group_search(slapd, server_factory):
    live = server_factory(**slapd.settings(
        ldap_search_base="", ldap_user_dn_template=f"uid={{username}},{PEOPLE}",
        ldap_group_search_base=GROUPS, ldap_group_search_filter="(&(objectClass=groupOfNames)(member={dn}))"))
    tokens = tokens_of(live, "ivan")
    assert me(live, tokens["access_token"]).json()["role"] == "Reader"
    assert login(live, "ivan", "wrong").status_code == 401
    assert login(live, "dave").status_code == 403
    assert refresh(live, tokens["refresh_token"]).status_code == 200  # the re-check finds the DN


# ------------------------------------------------------------------------------ the directory down
def test_a_directory_that_cannot_be_reached_is_503_and_the_local_admin_still_works(slapd, server_factory):
    live = server_factory(**slapd.settings(ldap_url=f"ldaps://127.0.0.1:{free_port()}"))
    response = login(live, "bob")
    assert response.status_code == 503, response.text
    assert response.json()["message"] == "the directory cannot be reached: try again later"
    assert httpx.post(live.url + "/login", json={"username": "admin", "password": live.admin_password}).status_code == 200


def test_a_directory_that_stops_makes_refresh_503_until_it_is_back(tmp_path, server_factory):
    from ldap_server import Slapd

    directory = Slapd(tmp_path / "slapd").start()
    try:
        live = server_factory(**directory.settings())
        tokens = tokens_of(live, "judy")
        directory.stop()
        response = refresh(live, tokens["refresh_token"])
        assert response.status_code == 503, response.text
        assert login(live, "judy").status_code == 503
        with live.client() as admin:
            assert admin.get("/status").json()["components"]["authentication"]["details"]["providers"] == ["local", "ldap"]
        directory.restart()
        response = refresh(live, tokens["refresh_token"])  # the 503 did not use the refresh token up
        assert response.status_code == 200, response.text
    finally:
        directory.stop()


# ------------------------------------------------------------------------------ two providers, one name
def test_the_first_provider_that_knows_a_name_decides(slapd, server_factory):
    live = server_factory(**slapd.settings(auth_providers="ldap,local"))
    live.add_user("bob", "local-Bob-pw-1", "Reader")  # a local user with a directory user's name
    # The directory comes first and knows bob: its password counts, the local one does not.
    assert login(live, "bob", "local-Bob-pw-1").status_code == 401
    body = me(live, tokens_of(live, "bob")["access_token"]).json()
    assert (body["username"], body["provider"], body["role"]) == ("bob@ldap", "ldap", "Contributor")
    # Names the directory does not know fall through to the local users.
    assert httpx.post(live.url + "/login", json={"username": "admin", "password": live.admin_password}).status_code == 200
    # A directory user's role and password are the directory's.
    refused = subprocess.run([sys.executable, "-m", "o16n.cli", "users", "set-role", "bob@ldap", "--role", "Owner",
                              "--data-dir", str(live.data_dir)], capture_output=True, text=True, env=dict(os.environ))
    assert refused.returncode == 1 and "signs in through ldap" in refused.stderr
