"""Bearer tokens from a real OpenID provider (node-oidc-provider, see oidc_server.py).

Accepted: RS256 and ES256 access tokens for o16n's audience from the configured issuer, on every
route, roles from the `roles` claim. Refused (401): another audience, another issuer, expired, not
yet valid, `alg: none`, HS256 signed with the provider's public key, a `kid` the provider does not
publish, a bad signature. A rotated JWKS is picked up without restarting o16n. A token whose roles
map to no o16n role gets 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from oidc_server import AUDIENCE, OidcProvider
from server_process import LiveServer

PUBLISH = {
    "code": "y = x * 2",
    "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
    "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
    "runtimeType": "Python",
}


def call(server: LiveServer, token: str, method: str = "GET", path: str = "/users/me", **kwargs: Any) -> httpx.Response:
    return httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kwargs)


def assert_refused(response: httpx.Response, words: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    if words:
        assert words in response.json()["message"], response.json()["message"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(provider: OidcProvider, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": AUDIENCE, "sub": "forged-app", "client_id": "forged-app",
              "roles": ["o16n-owners"], "iat": now, "exp": now + 300}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def private_key(provider: OidcProvider, kty: str) -> tuple[Any, str]:
    jwk = next(k for k in provider.keys if k["kty"] == kty)
    algorithm = RSAAlgorithm if kty == "RSA" else ECAlgorithm
    return algorithm.from_jwk(json.dumps(jwk)), jwk["kid"]


def signed_by_the_provider(provider: OidcProvider, **overrides: Any) -> str:
    """A token signed with the provider's real RSA key (as only the provider could), claims of our choosing."""
    key, kid = private_key(provider, "RSA")
    return jwt.encode(claims_for(provider, **overrides), key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def server(oidc_provider, tmp_path_factory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("o16n-oidc") / "data", **oidc_provider.settings()).start()
    yield live
    live.stop()


# ------------------------------------------------------------------------------ accepted
@pytest.mark.parametrize("resource, alg", [("urn:o16n:rs256", "RS256"), ("urn:o16n:es256", "ES256")])
def test_a_token_from_the_provider_is_accepted(server, oidc_provider, resource, alg):
    token = oidc_provider.token("owner-app", resource)
    assert jwt.get_unverified_header(token)["alg"] == alg
    response = call(server, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "oidc" and body["role"] == "Owner"
    assert body["externalId"] == "owner-app"  # the sub claim: stable
    assert body["username"] == "owner-app@example.org" and body["displayName"] == "Owner App"
    assert body["roleSource"] == "oidc claim roles o16n-owners"
    status = call(server, token, path="/status").json()["components"]["authentication"]["details"]
    assert status["providers"] == ["local", "oidc"]
    assert status["oidc"] == {"issuer": oidc_provider.issuer, "audience": [AUDIENCE], "rolesClaim": "roles",
                              "idClaim": "sub"}


def test_every_route_takes_it_and_ownership_follows_the_subject(server, oidc_provider):
    contributor = oidc_provider.token("contrib-app")
    name = f"oidc-owned-{int(time.time() * 1000)}"
    assert call(server, contributor, "POST", f"/services/{name}/v1", json=PUBLISH).status_code == 201
    assert call(server, contributor, "POST", f"/api/{name}/v1", json={"x": 4}).json()["outputParameters"] == {"y": 8}
    entry = call(server, contributor, path=f"/services/{name}/v1").json()[0]
    assert entry["versionPublishedBy"] == "contrib-app@example.org"
    assert entry["myPermissionOnService"] == "read/write"
    # A new token of the same subject is the same user; a Reader sees the service read only.
    again = oidc_provider.token("contrib-app", "urn:o16n:es256")
    assert call(server, again, "PATCH", f"/services/{name}/v1", json={"description": "mine"}).status_code == 200
    reader = oidc_provider.token("reader-app")
    assert call(server, reader, path=f"/services/{name}/v1").json()[0]["myPermissionOnService"] == "read only"
    assert call(server, reader, "DELETE", f"/services/{name}/v1").status_code == 403
    assert call(server, reader, "POST", "/sessions", json={}).status_code == 403
    session = call(server, contributor, "POST", "/sessions", json={})
    assert session.status_code == 201, session.text
    assert call(server, contributor, "DELETE", f"/sessions/{session.json()['sessionId']}").status_code == 200
    assert call(server, contributor, "DELETE", f"/services/{name}/v1").status_code == 200
    with server.client() as admin:
        seen = {u["username"]: u for u in admin.get("/users").json()}
    assert seen["contrib-app@example.org"]["provider"] == "oidc"
    assert seen["contrib-app@example.org"]["role"] == "Contributor"


def test_the_highest_role_wins_and_a_token_without_names_is_known_by_its_client(server, oidc_provider):
    body = call(server, oidc_provider.token("both-app")).json()
    assert (body["role"], body["username"], body["roleSource"]) == ("Owner", "both-app", "oidc claim roles o16n-owners")


def test_roles_that_map_to_no_o16n_role_get_403(server, oidc_provider):
    token = oidc_provider.token("nobody-app")
    for path in ("/users/me", "/status", "/services"):
        response = call(server, token, path=path)
        assert response.status_code == 403, response.text
        assert "is mapped to an o16n role" in response.json()["message"]


# ------------------------------------------------------------------------------ refused
def test_another_audience_is_refused(server, oidc_provider):
    assert_refused(call(server, oidc_provider.token("owner-app", "urn:other")), "another audience")


def test_another_issuer_is_refused(server, oidc_provider, tmp_path):
    # The same software with the same keys, at another issuer URL: signatures verify, iss does not.
    impostor = OidcProvider(tmp_path / "impostor", keys_file=oidc_provider.keys_file).start()
    try:
        token = impostor.token("owner-app")
        assert jwt.get_unverified_header(token)["kid"] in oidc_provider.published_kids()
        assert_refused(call(server, token))
    finally:
        impostor.stop()
    assert_refused(call(server, signed_by_the_provider(oidc_provider, iss=oidc_provider.issuer + "/other")))


def test_an_expired_token_is_refused_even_after_it_was_accepted(server, oidc_provider):
    token = oidc_provider.token("owner-app", "urn:o16n:short")  # lives 2 s; the server allows 1 s of skew
    assert call(server, token).status_code == 200
    time.sleep(4)
    assert_refused(call(server, token), "expired")


def test_a_token_not_valid_yet_is_refused(server, oidc_provider):
    now = int(time.time())
    assert_refused(call(server, signed_by_the_provider(oidc_provider, nbf=now + 120)), "not valid yet")


def test_missing_claims_are_refused(server, oidc_provider):
    assert_refused(call(server, signed_by_the_provider(oidc_provider, aud=None)))
    assert_refused(call(server, signed_by_the_provider(oidc_provider, exp=None)))
    assert_refused(call(server, signed_by_the_provider(oidc_provider, sub=None)), "'sub'")


def test_alg_none_is_refused(server, oidc_provider):
    _, kid = private_key(oidc_provider, "RSA")
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims_for(oidc_provider)).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert_refused(call(server, token))


def test_hs256_signed_with_the_providers_public_key_is_refused(server, oidc_provider):
    key, kid = private_key(oidc_provider, "RSA")
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + b64(
        json.dumps(claims_for(oidc_provider)).encode())
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_refused(call(server, f"{signing_input}.{b64(signature)}"), "'HS256' are not accepted")


def test_a_kid_the_provider_does_not_publish_is_refused(server, oidc_provider):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(oidc_provider), stranger, algorithm="RS256", headers={"kid": "not-published"})
    assert_refused(call(server, token), "does not publish")
    # Nor a real kid with another key behind it.
    _, kid = private_key(oidc_provider, "RSA")
    assert_refused(call(server, jwt.encode(claims_for(oidc_provider), stranger, algorithm="RS256", headers={"kid": kid})))


def test_a_tampered_token_is_refused(server, oidc_provider):
    header, payload, signature = oidc_provider.token("reader-app").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["o16n-owners"]
    assert_refused(call(server, f"{header}.{b64(json.dumps(claims).encode())}.{signature}"))


# ------------------------------------------------------------------------------ key rotation
def test_a_rotated_jwks_is_picked_up_without_a_restart(tmp_path, server_factory):
    provider = OidcProvider(tmp_path / "rotating").start()
    try:
        live = server_factory(**provider.settings())
        before = provider.token("owner-app", "urn:o16n:es256")
        assert call(live, before).status_code == 200
        new_kids = provider.rotate()
        after = provider.token("owner-app", "urn:o16n:es256")
        assert jwt.get_unverified_header(after)["kid"] in new_kids
        response = call(live, after)
        assert response.status_code == 200, response.text
        rs = provider.token("reader-app", "urn:o16n:rs256")
        assert call(live, rs).json()["role"] == "Reader"
    finally:
        provider.stop()
