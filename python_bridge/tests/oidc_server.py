"""A real OpenID provider for the tests: node-oidc-provider (oidc/provider.mjs) on a loopback port.

Tokens come from the client-credentials grant as JWT access tokens. Each resource indicator below
is one kind of token: signed RS256 or ES256, for o16n's audience or another one, long or short
lived. The signing keys are made here (so a test can also sign a token the provider never would);
`rotate()` replaces them while both servers keep running.

The device clients use the device authorization grant (RFC 8628); `DeviceUser` plays the person
who opens the verification page in a browser: it enters the code, signs in on the provider's
development login page as one of ACCOUNTS (any password) and consents, or aborts.
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from server_process import free_port

HERE = Path(__file__).resolve().parent / "oidc"
AUDIENCE = "api://o16n"
RESOURCES = {
    "urn:o16n:rs256": {"audience": AUDIENCE, "alg": "RS256", "ttl": 600},
    "urn:o16n:es256": {"audience": AUDIENCE, "alg": "ES256", "ttl": 600},
    "urn:o16n:short": {"audience": AUDIENCE, "alg": "RS256", "ttl": 2},
    "urn:o16n:brief": {"audience": AUDIENCE, "alg": "RS256", "ttl": 6},  # renewed within a test
    "urn:other": {"audience": "api://another-app", "alg": "RS256", "ttl": 600},
}
ROLES_OF = {"Owner": "o16n-owners", "Contributor": "o16n-contributors", "Reader": "o16n-readers"}


def client(client_id: str, roles: list[str], **claims: Any) -> dict[str, Any]:
    return {"client_id": client_id, "client_secret": f"secret-{client_id}", "claims": {"roles": roles, **claims}}


CLIENTS = [
    client("owner-app", ["o16n-owners"], preferred_username="owner-app@example.org", name="Owner App"),
    client("contrib-app", ["o16n-contributors"], preferred_username="contrib-app@example.org", name="Contributor App"),
    client("reader-app", ["o16n-readers"], preferred_username="reader-app@example.org"),
    client("both-app", ["o16n-readers", "o16n-owners"]),  # no name claims: known by its client_id
    client("nobody-app", ["sales"]),
    # the role walk (test_roles.py) as token users
    *(client(f"{key}-app", [ROLES_OF[role]], preferred_username=f"{key}@oidc.example.org")
      for key, role in [("contrib-a", "Contributor"), ("contrib-b", "Contributor"), ("reader-a", "Reader"),
                        ("reader-b", "Reader"), ("owner-b", "Owner")]),
]


# Public clients of the device flow: "codeTtl" the device code's lifetime (s), "slowDownFirst": the
# provider answers the first poll with slow_down.
DEVICE_CLIENTS = [
    {"client_id": "lab-device"},
    {"client_id": "lab-device-brief", "codeTtl": 4},
    {"client_id": "lab-device-slow", "slowDownFirst": True},
]
DEVICE_INTERVAL = 1  # seconds, in the device authorization answer
# The people who sign in on the provider's pages; their claims go into their access tokens.
ACCOUNTS = {
    "alice": {"roles": ["o16n-contributors"], "preferred_username": "alice@example.org", "name": "Alice Liddell"},
    "rita": {"roles": ["o16n-readers"], "preferred_username": "rita@example.org"},
}


def ensure_node_provider() -> None:
    if not shutil.which("node"):
        pytest.skip("Node.js is not installed: the OpenID provider of the tests cannot run")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        if not shutil.which("npm"):
            pytest.skip("npm is not installed: cannot install oidc-provider for the tests")
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"npm ci in {HERE} failed: {done.stderr[-500:]}")


def new_keys() -> dict[str, Any]:
    """A private JWKS: one RSA and one P-256 key with fresh kids."""
    tag = uuid.uuid4().hex[:8]
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    rsa_jwk.update(kid=f"rsa-{tag}", use="sig", alg="RS256")
    ec_jwk.update(kid=f"ec-{tag}", use="sig", alg="ES256")
    return {"keys": [rsa_jwk, ec_jwk]}


class OidcProvider:
    def __init__(self, root: Path, *, keys_file: Path | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys_file = keys_file or root / "keys.json"
        if keys_file is None:
            self.keys_file.write_text(json.dumps(new_keys()))
        self.log = root / "oidc-provider.log"
        self.process: subprocess.Popen | None = None

    @property
    def keys(self) -> list[dict[str, Any]]:
        """The private JWKs the provider signs with now."""
        return json.loads(self.keys_file.read_text())["keys"]

    def start(self) -> OidcProvider:
        ensure_node_provider()
        config = self.root / "config.json"
        config.write_text(json.dumps({"issuer": self.issuer, "port": self.port, "keysFile": str(self.keys_file),
                                      "clients": CLIENTS, "resources": RESOURCES,
                                      "defaultResource": "urn:o16n:rs256", "deviceClients": DEVICE_CLIENTS,
                                      "deviceInterval": DEVICE_INTERVAL, "accounts": ACCOUNTS}))
        self.process = subprocess.Popen(["node", str(HERE / "provider.mjs"), str(config)], cwd=HERE,
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                        env=dict(os.environ, NODE_ENV="test"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited early:\n{self.log.read_text()}")
            try:
                httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"the OpenID provider did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def token(self, client_id: str, resource: str = "urn:o16n:rs256") -> str:
        return self.token_response(client_id, resource)["access_token"]

    def token_response(self, client_id: str, resource: str = "urn:o16n:rs256") -> dict[str, Any]:
        """The provider's whole answer to a client-credentials request (access_token, expires_in, ...)."""
        response = httpx.post(self.issuer + "/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": f"secret-{client_id}",
            "resource": resource, "scope": "api"})
        assert response.status_code == 200, response.text
        return response.json()

    def polls(self, client_id: str) -> dict[str, Any]:
        """The latest device authorization of a device client: poll times (ms) and the interval now."""
        return httpx.get(f"{self.issuer}/test/polls/{client_id}", timeout=10).json()

    def published_kids(self) -> set[str]:
        jwks_uri = httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()["jwks_uri"]
        return {k["kid"] for k in httpx.get(jwks_uri, timeout=10).json()["keys"]}

    def rotate(self) -> set[str]:
        """Replace the signing keys (the old ones are no longer published); returns the new kids."""
        keys = new_keys()
        self.keys_file.write_text(json.dumps(keys))
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        kids = {k["kid"] for k in keys["keys"]}
        deadline = time.monotonic() + 10
        while self.published_kids() != kids:
            assert time.monotonic() < deadline, "the provider did not take the new keys"
            time.sleep(0.1)
        return kids

    def settings(self, **overrides: object) -> dict[str, object]:
        settings: dict[str, object] = {
            "auth_providers": "local,oidc",
            "auth_roles": json.dumps({role: [group] for role, group in ROLES_OF.items()}),
            "oidc_issuer": self.issuer,
            "oidc_audience": AUDIENCE,
            "oidc_leeway": 1,
            "oidc_jwks_min_refetch": 0,
        }
        settings.update(overrides)
        return settings


class _Forms(html.parser.HTMLParser):
    """The forms of a page: [(action, {name: value})] (hidden and pre-filled inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((named.get("action", ""), {}))
        elif tag == "input" and self.forms and named.get("name"):
            self.forms[-1][1][named["name"]] = named.get("value", "")


def forms_of(page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


class DeviceUser:
    """Somebody at a browser completing (or refusing) a device sign-in on the provider's pages."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30, follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def _submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        forms = forms_of(page.text)
        assert forms, f"no form on {page.url}: {page.text[:500]}"
        action, values = forms[0]
        return self.http.post(str(page.url.join(action)), data={**values, **fields})

    def open(self, verification_uri: str, user_code: str) -> httpx.Response:
        """The verification page, the code typed in: answers the confirmation page."""
        page = self.http.get(verification_uri)
        page.raise_for_status()
        confirm = self._submit(page, user_code=user_code)
        assert "Confirm Device" in confirm.text, confirm.text[:1000]
        return confirm

    def approve(self, verification_uri: str, user_code: str, login: str = "alice") -> None:
        login_page = self._submit(self.open(verification_uri, user_code))
        consent = self._submit(login_page, login=login, password="any")
        done = self._submit(consent)
        assert "Sign-in Success" in done.text, done.text[:1000]

    def deny(self, verification_uri: str, user_code: str) -> None:
        aborted = self._submit(self.open(verification_uri, user_code), abort="yes")
        assert "interrupted" in aborted.text, aborted.text[:1000]
