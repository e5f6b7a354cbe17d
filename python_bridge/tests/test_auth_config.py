"""Sign-in configuration: bad settings stop the start and name the setting; the group -> role lists;
the JWKS cache does not let made-up key ids hammer the identity provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from oidc_server import AUDIENCE
from server_process import free_port

from o16n.server.auth.oidc import OidcConfig, OidcVerifier
from o16n.server.auth.roles import RoleMap
from o16n.server.auth.setup import build_providers
from o16n.server.config import ConfigError, Settings
from o16n.server.errors import Unauthorized

ROLES = json.dumps({"Owner": ["o16n-owners"], "Reader": ["o16n-readers"]})
LDAP = {"auth_providers": "local,ldap", "auth_roles": ROLES, "ldap_url": "ldaps://dc.example.com",
        "ldap_search_base": "ou=people,dc=example,dc=com"}
OIDC = {"auth_providers": "oidc", "auth_roles": ROLES, "oidc_issuer": "https://login.example.com/tenant/v2.0",
        "oidc_audience": "api://o16n"}


def serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{f"O16N_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "o16n.cli", "serve", "--data-dir", str(tmp_path), "--port",
                           str(free_port())], env=env, capture_output=True, text=True, timeout=60)


def test_an_unknown_provider_stops_the_start(tmp_path):
    started = serve(tmp_path, auth_providers="local,kerberos")
    assert started.returncode == 2
    assert "O16N_AUTH_PROVIDERS: unknown provider 'kerberos': use local, ldap, oidc" in started.stderr
    assert "Traceback" not in started.stderr


def test_an_unreachable_issuer_stops_the_start(tmp_path):
    issuer = f"http://127.0.0.1:{free_port()}"
    started = serve(tmp_path, auth_providers="local,oidc", auth_roles=ROLES, oidc_issuer=issuer, oidc_audience=AUDIENCE)
    assert started.returncode == 2
    assert f"O16N_OIDC_ISSUER: cannot read the discovery document {issuer}/.well-known/openid-configuration" in started.stderr
    assert "Traceback" not in started.stderr


@pytest.mark.parametrize("settings, key, words", [
    ({"auth_providers": ""}, "O16N_AUTH_PROVIDERS", "name at least one provider"),
    ({"auth_providers": "local,local"}, "O16N_AUTH_PROVIDERS", "named twice"),
    ({**LDAP, "auth_roles": '{"Admin": ["x"]}'}, "O16N_AUTH_ROLES", "'Admin' is not a role"),
    ({**LDAP, "auth_roles": '{"Owner": "x", "Reader": [""]}'}, "O16N_AUTH_ROLES", "groups of Reader"),
    ({**LDAP, "auth_roles": "[1]"}, "O16N_AUTH_ROLES", "expected an object"),
    ({**LDAP, "auth_roles": "{"}, "O16N_AUTH_ROLES", "not valid JSON"),
    ({**LDAP, "auth_roles": ""}, "O16N_AUTH_ROLES", "without it nobody could sign in"),
    ({**LDAP, "auth_roles_file": "/no/such/roles.json", "auth_roles": ""}, "O16N_AUTH_ROLES_FILE", "cannot read"),
    ({**LDAP, "ldap_url": ""}, "O16N_LDAP_URL", "needs the directory's URL"),
    ({**LDAP, "ldap_url": "http://dc"}, "O16N_LDAP_URL", "not an ldap:// or ldaps:// URL"),
    ({**LDAP, "ldap_search_base": ""}, "O16N_LDAP_SEARCH_BASE", "O16N_LDAP_USER_DN_TEMPLATE"),
    ({**LDAP, "ldap_search_filter": "(uid=bob)"}, "O16N_LDAP_SEARCH_FILTER", "must contain {username}"),
    ({**LDAP, "ldap_bind_dn": "cn=svc"}, "O16N_LDAP_BIND_PASSWORD", "needs a password"),
    ({**LDAP, "ldap_ca_file": "/no/such/ca.pem"}, "O16N_LDAP_CA_FILE", "no such file"),
    ({**OIDC, "oidc_issuer": "http://login.example.com"}, "O16N_OIDC_ISSUER", "must be an https URL"),
    ({**OIDC, "oidc_audience": ""}, "O16N_OIDC_AUDIENCE", "name the audience"),
    ({**OIDC, "oidc_algorithms": "RS256,HS256"}, "O16N_OIDC_ALGORITHMS", "'HS256' is not allowed"),
    ({**OIDC, "oidc_algorithms": "none"}, "O16N_OIDC_ALGORITHMS", "'none' is not allowed"),
])
def test_bad_settings_are_named(tmp_path, settings, key, words):
    values = {k: (Path(v) if k.endswith("_file") else v) for k, v in settings.items()}
    with pytest.raises(ConfigError) as error:
        build_providers(Settings(data_dir=tmp_path, **values))
    assert error.value.key == key and words in str(error.value), str(error.value)


def test_an_issuer_whose_discovery_names_another_issuer_stops_the_start(tmp_path, oidc_provider):
    settings = Settings(data_dir=tmp_path, **oidc_provider.settings(oidc_issuer=oidc_provider.issuer + "/"))
    with pytest.raises(ConfigError, match="O16N_OIDC_ISSUER: the discovery document .* names the issuer"):
        build_providers(settings)


def test_roles_from_a_file(tmp_path):
    path = tmp_path / "roles.json"
    path.write_text(ROLES)
    assert RoleMap.load("", path).as_dict() == {"Owner": ["o16n-owners"], "Contributor": [], "Reader": ["o16n-readers"]}
    with pytest.raises(ConfigError, match="not both"):
        RoleMap.load(ROLES, path)


def test_groups_to_roles():
    roles = RoleMap({"Owner": ["O16N-Admins"], "Contributor": ["cn=Data Scientists,ou=groups,dc=example,dc=org"],
                     "Reader": ["apps", "6f1b0c6e-0000-4000-8000-000000000001"]})
    assert roles.decide(["cn=o16n-admins,ou=groups,dc=example,dc=org"]).role == "Owner"  # the CN, any case
    assert roles.decide(["CN=Data Scientists,OU=Groups,DC=example,DC=org"]).role == "Contributor"  # the full DN
    assert roles.decide(["6F1B0C6E-0000-4000-8000-000000000001"]).role == "Reader"  # an Azure AD group id
    both = roles.decide(["apps", "cn=Data Scientists,ou=groups,dc=example,dc=org"])
    assert (both.role, both.group) == ("Contributor", "cn=Data Scientists,ou=groups,dc=example,dc=org")
    assert roles.decide(["cn=apps-old,ou=groups"]).role is None
    assert roles.decide([]).role is None
    assert roles.decide(["ou=apps,dc=example"]).role == "Reader"  # the first part's value, whatever its attribute


def test_unknown_kids_fetch_the_jwks_at_most_every_min_refetch_seconds(tmp_path, oidc_provider):
    verifier = OidcVerifier(OidcConfig.from_settings(Settings(
        data_dir=tmp_path, **oidc_provider.settings(oidc_jwks_min_refetch=30))))
    verifier.start()
    fetches = []
    real = verifier._fetch_keys
    verifier._fetch_keys = lambda: (fetches.append(time.monotonic()), real())[1]  # type: ignore[method-assign]
    try:
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = int(time.time())
        claims = {"iss": oidc_provider.issuer, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "iat": now}
        verifier._fetched_at -= 31  # the start-up fetch was long enough ago
        for n in range(20):
            token = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": f"made-up-{n}"})
            with pytest.raises(Unauthorized, match="does not publish"):
                verifier.verify(token)
        assert len(fetches) == 1  # the first unknown kid fetched again; the other 19 did not
        assert verifier.verify(oidc_provider.token("owner-app")).identity.external_id == "owner-app"
    finally:
        verifier.close()
