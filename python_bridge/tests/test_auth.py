"""Authentication: POST /login, refresh-token rotation and revocation, token checking, password
storage, the signing key, the generated admin password and the `o16n users` CLI.

Runs against real servers on loopback (``live_server`` / ``server_factory`` from conftest.py).
Revocation tests use servers with ``auth_cache_seconds=0`` so a revoked grant is refused at once
(the default server trusts a grant it checked for up to 2 s, which one test checks on its own).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from server_process import LiveServer, free_port

PUBLISH = {
    "code": "y = x * 2",
    "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
    "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
    "runtimeType": "Python",
}


# ------------------------------------------------------------------------------ helpers
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def status_with(server: LiveServer, token: str) -> httpx.Response:
    """An authenticated call that touches nothing: GET /status."""
    return httpx.get(server.url + "/status", headers=bearer(token), timeout=30)


def login(server: LiveServer, username: str, password: str) -> httpx.Response:
    return httpx.post(server.url + "/login", json={"username": username, "password": password}, timeout=30)


def refresh(server: LiveServer, refresh_token: str) -> httpx.Response:
    return httpx.post(server.url + "/login/refreshToken", json={"refreshToken": refresh_token}, timeout=30)


def assert_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str) and body["message"]
    return body


def assert_401(response: httpx.Response) -> dict:
    body = assert_error(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    return body


def signing_key(server: LiveServer) -> tuple[str, bytes]:
    """The server's newest token signing key (kid, secret), read from its database."""
    with contextlib.closing(sqlite3.connect(server.data_dir / "o16n.db")) as db:
        kid, secret = db.execute("SELECT kid, secret FROM signing_keys ORDER BY created_at DESC LIMIT 1").fetchone()
    return kid, bytes.fromhex(secret)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cli(data_dir: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("O16N_NEW_PASSWORD", None)
    if password is not None:
        env["O16N_NEW_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "o16n.cli", "users", *args, "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def server_without_admin_password(data_dir: Path) -> Iterator[str]:
    """`o16n serve` started with no O16N_ADMIN_PASSWORD in its environment; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "O16N_ADMIN_PASSWORD"}
    env["O16N_SPARE_WORKERS"] = "1"
    log = data_dir.parent / f"{data_dir.name}-server.log"
    command = [sys.executable, "-m", "o16n.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"o16n server exited early:\n{log.read_text()}")
            try:
                httpx.get(url + "/status", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"o16n server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def fresh(server_factory) -> LiveServer:
    """A server that checks every grant against the database on every request."""
    return server_factory(auth_cache_seconds=0)


# ------------------------------------------------------------------------------ POST /login
class TestLogin:
    def test_token_response(self, live_server):
        before = int(time.time())
        response = login(live_server, live_server.admin_user, live_server.admin_password)
        after = int(time.time())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) >= {"token_type", "access_token", "expires_in", "expires_on", "refresh_token"}
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert isinstance(body["expires_on"], int) and not isinstance(body["expires_on"], bool)
        assert before + 3600 <= body["expires_on"] <= after + 3600
        assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 20
        assert body["refresh_token"] != body["access_token"]
        # The access token is a JWT signed with HS256 whose expiry matches expires_on.
        token = body["access_token"]
        assert token.count(".") == 2
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] == body["expires_on"]
        assert claims["sub"] == "admin"
        # ... and it works.
        assert status_with(live_server, token).status_code == 200

    def test_every_login_gives_a_new_pair(self, live_server):
        first = live_server.login()
        second = live_server.login()
        assert first["refresh_token"] != second["refresh_token"]
        assert first["access_token"] != second["access_token"]
        assert status_with(live_server, first["access_token"]).status_code == 200
        assert status_with(live_server, second["access_token"]).status_code == 200

    def test_wrong_password(self, live_server):
        body = assert_401(login(live_server, live_server.admin_user, "not-the-password"))
        assert "invalid credentials" in body["message"]
        assert body.get("code") == 401

    def test_unknown_user(self, live_server):
        body = assert_401(login(live_server, "no-such-user-xyz", "whatever"))
        # The same answer as a wrong password: no hint whether the user exists.
        assert body == assert_401(login(live_server, live_server.admin_user, "wrong"))

    def test_password_is_case_sensitive(self, live_server):
        assert_401(login(live_server, live_server.admin_user, live_server.admin_password.upper()))

    @pytest.mark.parametrize("body, field", [
        ({}, "username"),
        ({"password": "x"}, "username"),
        ({"username": "admin"}, "password"),
        ({"username": None, "password": "x"}, "username"),
        ({"username": "admin", "password": 12}, "password"),
    ])
    def test_missing_or_bad_fields(self, live_server, body, field):
        response = httpx.post(live_server.url + "/login", json=body)
        error = assert_error(response, 400)
        assert field in error["message"]
        assert error.get("fields") == field

    def test_not_json(self, live_server):
        assert_error(httpx.post(live_server.url + "/login", content=b"{nope", headers={"content-type": "application/json"}), 400)
        assert_error(httpx.post(live_server.url + "/login"), 400)
        assert_error(httpx.post(live_server.url + "/login", json=["admin", "pw"]), 400)

    def test_field_names_ignore_case(self, live_server):
        # Old clients send PascalCase members.
        response = httpx.post(live_server.url + "/login",
                              json={"UserName": live_server.admin_user, "Password": live_server.admin_password})
        assert response.status_code == 200, response.text


# ------------------------------------------------------------------------------ refresh / revoke
class TestRefresh:
    def test_refresh_rotates_the_pair(self, fresh):
        old = fresh.login()
        response = refresh(fresh, old["refresh_token"])
        assert response.status_code == 200, response.text
        new = response.json()
        assert new["token_type"] == "Bearer"
        assert new["expires_in"] == 3600 and isinstance(new["expires_on"], int)
        assert new["refresh_token"] != old["refresh_token"]
        assert new["access_token"] != old["access_token"]
        # The new pair works, the old access token does not.
        assert status_with(fresh, new["access_token"]).status_code == 200
        assert_401(status_with(fresh, old["access_token"]))
        # The chain goes on with the new refresh token.
        newer = refresh(fresh, new["refresh_token"])
        assert newer.status_code == 200, newer.text
        assert status_with(fresh, newer.json()["access_token"]).status_code == 200
        assert_401(status_with(fresh, new["access_token"]))
        # A used refresh token is refused, and presenting it again ends the chain (reuse detection,
        # test_identity_edges.py): so this comes last.
        body = assert_401(refresh(fresh, old["refresh_token"]))
        assert "refresh token" in body["message"]
        assert_401(refresh(fresh, new["refresh_token"]))

    def test_refresh_keeps_the_user(self, fresh):
        old = fresh.login()
        new = refresh(fresh, old["refresh_token"]).json()
        assert jwt.decode(new["access_token"], options={"verify_signature": False})["sub"] == "admin"

    def test_refresh_leaves_other_logins_alone(self, fresh):
        one, two = fresh.login(), fresh.login()
        assert refresh(fresh, one["refresh_token"]).status_code == 200
        assert status_with(fresh, two["access_token"]).status_code == 200
        assert refresh(fresh, two["refresh_token"]).status_code == 200

    @pytest.mark.parametrize("body", [{"refreshToken": "not-a-token"}, {"refreshToken": ""}])
    def test_bad_refresh_token(self, live_server, body):
        assert_401(httpx.post(live_server.url + "/login/refreshToken", json=body))

    def test_access_token_is_not_a_refresh_token(self, live_server):
        tokens = live_server.login()
        assert_401(refresh(live_server, tokens["access_token"]))

    def test_missing_refresh_token(self, live_server):
        error = assert_error(httpx.post(live_server.url + "/login/refreshToken", json={}), 400)
        assert "refreshToken" in error["message"]
        assert error.get("fields") == "refreshToken"

    def test_revoke_with_query(self, fresh):
        tokens = fresh.login()
        other = fresh.login()
        assert status_with(fresh, tokens["access_token"]).status_code == 200
        response = httpx.delete(fresh.url + "/login/refreshToken", params={"refreshToken": tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        assert_401(refresh(fresh, tokens["refresh_token"]))
        body = assert_401(status_with(fresh, tokens["access_token"]))
        assert "revoked" in body["message"]
        # Revoking again is refused: the token is no longer valid.
        assert_401(httpx.delete(fresh.url + "/login/refreshToken", params={"refreshToken": tokens["refresh_token"]}))
        # Another login of the same user is not affected.
        assert status_with(fresh, other["access_token"]).status_code == 200

    def test_revoke_with_path(self, fresh):
        tokens = fresh.login()
        assert status_with(fresh, tokens["access_token"]).status_code == 200
        response = httpx.delete(fresh.url + "/login/refreshToken/" + tokens["refresh_token"])
        assert response.status_code == 200, response.text
        assert_401(refresh(fresh, tokens["refresh_token"]))
        assert_401(status_with(fresh, tokens["access_token"]))
        assert_401(httpx.delete(fresh.url + "/login/refreshToken/" + tokens["refresh_token"]))

    def test_revoke_needs_a_valid_refresh_token(self, live_server):
        assert_401(httpx.delete(live_server.url + "/login/refreshToken"))
        assert_401(httpx.delete(live_server.url + "/login/refreshToken", params={"refreshToken": "garbage"}))
        assert_401(httpx.delete(live_server.url + "/login/refreshToken/garbage"))
        tokens = live_server.login()
        assert_401(httpx.delete(live_server.url + "/login/refreshToken", params={"refreshToken": tokens["access_token"]}))

    def test_revocation_reaches_a_caching_server_within_the_cache_time(self, live_server):
        # The shared server uses the default auth_cache_seconds (2 s).
        tokens = live_server.login()
        assert status_with(live_server, tokens["access_token"]).status_code == 200  # now cached
        response = httpx.delete(live_server.url + "/login/refreshToken", params={"refreshToken": tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        time.sleep(2.5)
        assert_401(status_with(live_server, tokens["access_token"]))

    def test_revoked_before_first_use(self, live_server):
        # A grant never looked up is not cached: revocation applies at once even with caching on.
        tokens = live_server.login()
        assert httpx.delete(live_server.url + "/login/refreshToken/" + tokens["refresh_token"]).status_code == 200
        assert_401(status_with(live_server, tokens["access_token"]))


# ------------------------------------------------------------------------------ expiry and forged tokens
class TestTokens:
    def test_expired_access_token(self, server_factory):
        # Whole-second exp claims: a 2 s lifetime leaves a fresh token usable for at least 1 s.
        server = server_factory(access_token_lifetime=2)
        tokens = server.login()
        assert tokens["expires_in"] == 2
        assert status_with(server, tokens["access_token"]).status_code == 200
        time.sleep(3.1)
        body = assert_401(status_with(server, tokens["access_token"]))
        assert "expired" in body["message"]
        # The refresh token still works and gives a working access token.
        response = refresh(server, tokens["refresh_token"])
        assert response.status_code == 200, response.text
        assert status_with(server, response.json()["access_token"]).status_code == 200

    def test_signed_with_another_key(self, live_server):
        real = live_server.login()["access_token"]
        claims = jwt.decode(real, options={"verify_signature": False})
        kid = jwt.get_unverified_header(real)["kid"]
        forged = jwt.encode(claims, b"\x01" * 32, algorithm="HS256", headers={"kid": kid})
        body = assert_401(status_with(live_server, forged))
        assert "not valid" in body["message"]
        # Control: the same claims signed with the server's own key are accepted, so it is the key
        # that makes the difference.
        kid, key = signing_key(live_server)
        assert status_with(live_server, jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})).status_code == 200

    def test_tampered_payload(self, live_server):
        real = live_server.login()["access_token"]
        header, payload, signature = real.split(".")
        claims = json.loads(b64url_decode(payload))
        claims["sub"] = "someone-else"
        claims["exp"] = claims["exp"] + 100_000
        tampered = ".".join([header, b64url(json.dumps(claims).encode()), signature])
        assert_401(status_with(live_server, tampered))

    def test_tampered_signature(self, live_server):
        real = live_server.login()["access_token"]
        header, payload, signature = real.split(".")
        middle = len(signature) // 2
        flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
        assert_401(status_with(live_server, ".".join([header, payload, flipped])))
        assert_401(status_with(live_server, ".".join([header, payload, ""])))
        assert_401(status_with(live_server, real[:-5]))

    def test_alg_none_is_refused(self, live_server):
        real = live_server.login()["access_token"]
        claims = jwt.decode(real, options={"verify_signature": False})
        unsigned = ".".join([b64url(b'{"alg":"none","typ":"JWT"}'), b64url(json.dumps(claims).encode()), ""])
        assert_401(status_with(live_server, unsigned))

    def test_token_without_grant_is_refused(self, live_server):
        kid, key = signing_key(live_server)
        now = int(time.time())
        base = {"iss": "o16n", "sub": "admin", "uid": 1, "iat": now, "exp": now + 600}
        assert_401(status_with(live_server, jwt.encode(base, key, algorithm="HS256", headers={"kid": kid})))  # no gid
        unknown_grant = {**base, "gid": "0" * 32}
        assert_401(status_with(live_server, jwt.encode(unknown_grant, key, algorithm="HS256", headers={"kid": kid})))
        no_exp = {k: v for k, v in base.items() if k != "exp"} | {"gid": "0" * 32}
        assert_401(status_with(live_server, jwt.encode(no_exp, key, algorithm="HS256", headers={"kid": kid})))
        wrong_issuer = {**base, "iss": "someone", "gid": "0" * 32}
        assert_401(status_with(live_server, jwt.encode(wrong_issuer, key, algorithm="HS256", headers={"kid": kid})))

    @pytest.mark.parametrize("header", [
        "Basic " + base64.b64encode(b"admin:admin-Secret-123").decode(),
        "Bearer",
        "Bearer not.a.jwt",
        "Token abc",
        "garbage",
    ])
    def test_bad_authorization_headers(self, live_server, header):
        response = httpx.get(live_server.url + "/status", headers={"Authorization": header})
        assert_401(response)

    def test_basic_with_real_credentials_is_refused(self, live_server):
        response = httpx.get(live_server.url + "/services", auth=(live_server.admin_user, live_server.admin_password))
        assert_401(response)

    def test_no_token(self, live_server):
        body = assert_401(httpx.get(live_server.url + "/status"))
        assert "token" in body["message"].lower()

    def test_scheme_is_case_insensitive(self, live_server):
        token = live_server.login()["access_token"]
        response = httpx.get(live_server.url + "/status", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


# ------------------------------------------------------------------------------ storage
class TestStorage:
    def test_passwords_are_argon2_hashes(self, live_server):
        live_server.add_user("hash-check-user", "Hash-Check-pw-1", "Reader")
        database = live_server.data_dir / "o16n.db"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT username, password_hash FROM users").fetchall()
        hashes = dict(rows)
        assert {"admin", "hash-check-user"} <= set(hashes)
        for username, password_hash in rows:
            assert password_hash.startswith("$argon2"), (username, password_hash)
        assert live_server.admin_password not in hashes["admin"]
        assert PasswordHasher().verify(hashes["admin"], live_server.admin_password)
        assert PasswordHasher().verify(hashes["hash-check-user"], "Hash-Check-pw-1")
        # No plaintext password anywhere in the database files (WAL included).
        for path in live_server.data_dir.glob("o16n.db*"):
            raw = path.read_bytes()
            assert live_server.admin_password.encode() not in raw, path
            assert b"Hash-Check-pw-1" not in raw, path

    def test_refresh_tokens_are_not_stored_in_clear(self, live_server):
        tokens = live_server.login()
        for path in live_server.data_dir.glob("o16n.db*"):
            assert tokens["refresh_token"].encode() not in path.read_bytes(), path

    def test_signing_key_is_private(self, live_server):
        # The keys live in the database (shared by every node), none in a file of the data dir.
        assert not (live_server.data_dir / "signing-key").exists()
        assert len(signing_key(live_server)[1]) >= 32
        assert stat.S_IMODE(live_server.data_dir.stat().st_mode) == 0o700

    def test_tokens_survive_a_restart(self, server_factory):
        server = server_factory()
        tokens = server.login()
        key = signing_key(server)
        server.restart()
        assert signing_key(server) == key
        assert status_with(server, tokens["access_token"]).status_code == 200
        assert refresh(server, tokens["refresh_token"]).status_code == 200

    def test_generated_admin_password(self, tmp_path):
        data_dir = tmp_path / "no-admin-password"
        with server_without_admin_password(data_dir) as url:
            path = data_dir / "admin-password"
            assert path.is_file()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            password = path.read_text().strip()
            assert len(password) >= 16
            response = httpx.post(url + "/login", json={"username": "admin", "password": password})
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            assert httpx.get(url + "/status", headers=bearer(token)).status_code == 200
            assert httpx.post(url + "/login", json={"username": "admin", "password": "admin"}).status_code == 401
        # A second start keeps the admin and its password (the file is not rewritten).
        with server_without_admin_password(data_dir) as url:
            assert (data_dir / "admin-password").read_text().strip() == password
            response = httpx.post(url + "/login", json={"username": "admin", "password": password})
            assert response.status_code == 200, response.text

    def test_no_password_file_when_the_password_is_given(self, live_server):
        assert not (live_server.data_dir / "admin-password").exists()


# ------------------------------------------------------------------------------ o16n users ...
class TestUsersCli:
    def test_add_list_set_role_remove(self, fresh):
        data_dir = fresh.data_dir
        added = cli(data_dir, "add", "carol", "--role", "Contributor", password="Carol-pw-123")
        assert added.returncode == 0, added.stderr
        listed = cli(data_dir, "list")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert "admin\tOwner" in lines
        assert "carol\tContributor" in lines

        # carol logs in and has the Contributor role (may create sessions).
        tokens = fresh.login("carol", "Carol-pw-123")
        with httpx.Client(base_url=fresh.url, headers=bearer(tokens["access_token"]), timeout=60) as carol:
            created = carol.post("/sessions", json={})
            assert created.status_code == 201, created.text
            assert carol.delete(f"/sessions/{created.json()['sessionId']}").status_code == 200
        assert fresh.login("carol", "Carol-pw-123")  # a second grant, also revoked below
        assert_401(login(fresh, "carol", "wrong"))

        # set-role revokes the user's existing tokens: access and refresh.
        changed = cli(data_dir, "set-role", "carol", "--role", "Reader")
        assert changed.returncode == 0, changed.stderr
        assert "carol\tReader" in cli(data_dir, "list").stdout.splitlines()
        body = assert_401(status_with(fresh, tokens["access_token"]))
        assert "revoked" in body["message"]
        assert_401(refresh(fresh, tokens["refresh_token"]))
        # A new login carries the new role: Readers may not create sessions or publish.
        tokens = fresh.login("carol", "Carol-pw-123")
        with httpx.Client(base_url=fresh.url, headers=bearer(tokens["access_token"]), timeout=60) as carol:
            assert carol.get("/status").status_code == 200
            assert carol.post("/sessions", json={}).status_code == 403
            assert carol.post("/services/carol-svc/v1", json=PUBLISH).status_code == 403
        # Other users' tokens are untouched by carol's role change.
        admin_tokens = fresh.login()
        cli(data_dir, "set-role", "carol", "--role", "Contributor")
        assert status_with(fresh, admin_tokens["access_token"]).status_code == 200

        # remove: the user can no longer log in and its tokens stop working.
        tokens = fresh.login("carol", "Carol-pw-123")
        assert status_with(fresh, tokens["access_token"]).status_code == 200
        removed = cli(data_dir, "remove", "carol")
        assert removed.returncode == 0, removed.stderr
        assert "carol" not in [line.split("\t")[0] for line in cli(data_dir, "list").stdout.splitlines()]
        assert_401(login(fresh, "carol", "Carol-pw-123"))
        assert_401(status_with(fresh, tokens["access_token"]))
        assert_401(refresh(fresh, tokens["refresh_token"]))

    def test_add_defaults_to_contributor(self, live_server):
        result = cli(live_server.data_dir, "add", "cli-default-role", password="Default-pw-1")
        assert result.returncode == 0, result.stderr
        assert "cli-default-role\tContributor" in cli(live_server.data_dir, "list").stdout.splitlines()

    def test_add_errors(self, live_server):
        data_dir = live_server.data_dir
        assert cli(data_dir, "add", "cli-dup", "--role", "Reader", password="Dup-pw-123").returncode == 0
        again = cli(data_dir, "add", "cli-dup", "--role", "Owner", password="Other-pw-123")
        assert again.returncode != 0
        assert "already exists" in again.stderr
        # The first definition stands.
        assert "cli-dup\tReader" in cli(data_dir, "list").stdout.splitlines()
        assert login(live_server, "cli-dup", "Dup-pw-123").status_code == 200
        assert login(live_server, "cli-dup", "Other-pw-123").status_code == 401
        bad_role = cli(data_dir, "add", "cli-badrole", "--role", "Admin", password="x-pw-123456")
        assert bad_role.returncode != 0
        assert "cli-badrole" not in cli(data_dir, "list").stdout
        assert cli(data_dir, "set-role", "nobody-here", "--role", "Reader").returncode != 0
        assert cli(data_dir, "remove", "nobody-here").returncode != 0
        assert cli(data_dir, "add", password="x-pw-123456").returncode != 0

    def test_set_password(self, fresh):
        assert cli(fresh.data_dir, "add", "dave", "--role", "Reader", password="Dave-old-pw1").returncode == 0
        assert login(fresh, "dave", "Dave-old-pw1").status_code == 200
        assert cli(fresh.data_dir, "set-password", "dave", password="Dave-new-pw2").returncode == 0
        assert login(fresh, "dave", "Dave-new-pw2").status_code == 200
        assert_401(login(fresh, "dave", "Dave-old-pw1"))

    def test_remove_a_user_who_published_a_service(self, fresh):
        """Either the user goes (and can no longer log in) or the CLI refuses with a clear message;
        never a traceback, and never 'removed' printed for a user that is still there."""
        assert cli(fresh.data_dir, "add", "erin", "--role", "Contributor", password="Erin-pw-123").returncode == 0
        tokens = fresh.login("erin", "Erin-pw-123")
        published = httpx.post(fresh.url + "/services/erin-svc/v1", json=PUBLISH, headers=bearer(tokens["access_token"]))
        assert published.status_code == 201, published.text
        removed = cli(fresh.data_dir, "remove", "erin")
        assert "Traceback" not in removed.stderr, removed.stderr[-400:]
        still_there = "erin" in [line.split("\t")[0] for line in cli(fresh.data_dir, "list").stdout.splitlines()]
        if removed.returncode == 0:
            assert not still_there
            assert_401(login(fresh, "erin", "Erin-pw-123"))
        else:
            assert still_there
            assert "removed" not in removed.stdout
            assert removed.stderr.strip()


def test_racing_refreshes_with_one_token_get_one_new_pair(live_server):
    import concurrent.futures

    import httpx

    refresh_token = live_server.login()["refresh_token"]

    def renew(_):
        return httpx.post(live_server.url + "/login/refreshToken", json={"refreshToken": refresh_token}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(renew, range(8)))
    assert statuses.count(200) == 1 and statuses.count(401) == 7


def test_password_guessing_is_slowed_down(server_factory):
    import time

    import httpx

    server = server_factory(login_attempts=3, login_window=6)  # wide enough for a loaded machine
    wrong = {"username": "admin", "password": "guess"}
    assert [httpx.post(server.url + "/login", json=wrong).status_code for _ in range(3)] == [401] * 3
    refused = httpx.post(server.url + "/login", json=wrong)
    assert refused.status_code == 429 and "try again" in refused.json()["message"]
    # Even the right password waits for the window: the guesser must not learn it is right.
    right = {"username": "admin", "password": server.admin_password}
    assert httpx.post(server.url + "/login", json=right).status_code == 429
    # Other user names are not held up.
    assert httpx.post(server.url + "/login", json={"username": "someone", "password": "x"}).status_code == 401
    time.sleep(6.2)
    assert httpx.post(server.url + "/login", json=right).status_code == 200


def test_key_rotation_keeps_old_tokens_until_they_expire(server_factory):
    """A new key signs at once; tokens of the old one verify until they expire; a data dir's key
    from before keys moved into the database is imported (its tokens stay valid) and removed."""
    import subprocess

    server = server_factory()
    before = server.login()
    old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
    rotated = subprocess.run([sys.executable, "-m", "o16n.cli", "keys", "rotate", "--data-dir", str(server.data_dir)],
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.split()[3].rstrip(";")
    server.restart()  # a running node picks the new key up within a minute; a restart at once
    after = server.login()
    assert jwt.get_unverified_header(after["access_token"])["kid"] == new_kid != old_kid
    assert status_with(server, before["access_token"]).status_code == 200
    assert status_with(server, after["access_token"]).status_code == 200


def test_a_data_dir_key_is_imported(server_factory, tmp_path):
    server = server_factory()
    server.stop()
    # As an o16n from before kept it: a hex key in DATA_DIR/signing-key, tokens without a kid.
    secret = bytes(range(32))
    (server.data_dir / "signing-key").write_text(secret.hex())
    server.start()
    assert not (server.data_dir / "signing-key").exists()
    ours = jwt.decode(server.login()["access_token"], options={"verify_signature": False})
    legacy = jwt.encode(ours, secret, algorithm="HS256")  # no kid: signed by the data dir's key
    assert status_with(server, legacy).status_code == 200
