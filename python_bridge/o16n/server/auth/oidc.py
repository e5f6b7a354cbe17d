"""Bearer tokens issued by an OpenID Connect provider (Azure AD, Keycloak, Okta, ...), checked with PyJWT.

At start the issuer's discovery document gives the JWKS URL, and the JWKS is fetched; a provider
that cannot be reached then stops the start (ConfigError naming O16N_OIDC_ISSUER). Afterwards the
JWKS is fetched again when it is older than `oidc_jwks_lifetime`, or when a token names a `kid` it
does not hold (the provider rotated its keys) but at most every `oidc_jwks_min_refetch` seconds,
so that tokens with made-up kids cannot make us hammer the provider.

A token is accepted only if: its `alg` is one of the configured asymmetric algorithms and fits the
key's type (so `none` and HS256-signed-with-the-public-key are refused), the signature verifies,
`iss` is the configured issuer, `aud` holds a configured audience, and `exp` / `nbf` / `iat` hold
within `oidc_leeway` seconds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from ..config import ConfigError, Settings
from ..errors import Unauthorized, Unavailable
from .providers import Identity, VerifiedToken

log = logging.getLogger("o16n.auth.oidc")

# alg -> the JWK key type (and curve) it needs. Nothing symmetric, nothing unsigned.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    **{f"{family}{bits}": ("RSA", None) for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}
_MAX_DOCUMENT = 1024 * 1024


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(key: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(url)):
        raise ConfigError(key, f"{url!r} must be an https URL (plain http only on loopback, for tests)")
    return url


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...]
    roles_claim: str
    id_claim: str
    name_claims: tuple[str, ...]
    leeway: float
    ca_file: Path | None
    timeout: float
    jwks_lifetime: float
    jwks_min_refetch: float

    @classmethod
    def from_settings(cls, s: Settings) -> OidcConfig:
        if not s.oidc_issuer:
            raise ConfigError("O16N_OIDC_ISSUER", "the oidc provider needs the issuer URL, e.g. "
                              "https://login.microsoftonline.com/TENANT/v2.0")
        _checked_url("O16N_OIDC_ISSUER", s.oidc_issuer)
        audiences = tuple(a.strip() for a in s.oidc_audience.split(",") if a.strip())
        if not audiences:
            raise ConfigError("O16N_OIDC_AUDIENCE", "name the audience tokens must be meant for (this API's "
                              "resource or client id)")
        algorithms = tuple(a.strip() for a in s.oidc_algorithms.split(",") if a.strip())
        for alg in algorithms:
            if alg not in _KEY_TYPES:
                raise ConfigError("O16N_OIDC_ALGORITHMS", f"{alg!r} is not allowed: use asymmetric algorithms "
                                  f"({', '.join(_KEY_TYPES)})")
        if not algorithms:
            raise ConfigError("O16N_OIDC_ALGORITHMS", "name at least one algorithm")
        if s.oidc_ca_file is not None and not s.oidc_ca_file.is_file():
            raise ConfigError("O16N_OIDC_CA_FILE", f"no such file: {s.oidc_ca_file}")
        if not s.oidc_id_claim.strip():
            raise ConfigError("O16N_OIDC_ID_CLAIM", "name the claim that identifies a user (sub, or oid on Azure AD)")
        return cls(
            issuer=s.oidc_issuer, audiences=audiences, algorithms=algorithms, roles_claim=s.oidc_roles_claim.strip(),
            id_claim=s.oidc_id_claim.strip(),
            name_claims=tuple(c.strip() for c in s.oidc_name_claims.split(",") if c.strip()),
            leeway=s.oidc_leeway, ca_file=s.oidc_ca_file, timeout=s.oidc_timeout,
            jwks_lifetime=s.oidc_jwks_lifetime, jwks_min_refetch=s.oidc_jwks_min_refetch,
        )


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (Keycloak's realm_access.roles)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcVerifier:
    name = "oidc"

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.issuer = config.issuer
        self._http = httpx.Client(verify=str(config.ca_file) if config.ca_file else True,
                                  timeout=config.timeout, follow_redirects=False)
        self.jwks_uri = ""
        self._keys: dict[str | None, tuple[jwt.PyJWK, dict[str, Any]]] = {}  # kid -> (key, its JWK)
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    # --- start-up ------------------------------------------------------------------------
    def start(self) -> None:
        """Discovery and the first JWKS: ConfigError naming the issuer setting if either fails."""
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = self._get_json(url)
        except (httpx.HTTPError, ValueError) as exc:
            raise ConfigError("O16N_OIDC_ISSUER", f"cannot read the discovery document {url}: {exc}") from None
        if document.get("issuer") != self.issuer:
            raise ConfigError("O16N_OIDC_ISSUER", f"the discovery document at {url} names the issuer "
                              f"{document.get('issuer')!r}, not {self.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ConfigError("O16N_OIDC_ISSUER", f"the discovery document at {url} has no jwks_uri")
        self.jwks_uri = _checked_url("O16N_OIDC_ISSUER", jwks_uri)
        try:
            self._fetch_keys()
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise ConfigError("O16N_OIDC_ISSUER", f"cannot read the provider's keys at {jwks_uri}: {exc}") from None

    def close(self) -> None:
        self._http.close()

    # --- checking a token ----------------------------------------------------------------
    def verify(self, token: str) -> VerifiedToken:
        c = self.config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid") from None
        alg = header.get("alg")
        if alg not in c.algorithms:
            raise Unauthorized(f"tokens signed with {alg!r} are not accepted (allowed: {', '.join(c.algorithms)})")
        key = self._key_for(header.get("kid"), alg)
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=list(c.audiences), issuer=c.issuer,
                                leeway=c.leeway, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired: get a new one from the identity provider") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("the access token is meant for another audience (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("the access token comes from another issuer (iss)") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("the access token is not valid yet (nbf / iat)") from None
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid") from None
        return VerifiedToken(self._identity(claims), float(claims["exp"]),
                             str(claims.get("jti") or hashlib.sha256(token.encode()).hexdigest()[:32]))

    def _identity(self, claims: dict[str, Any]) -> Identity:
        c = self.config
        external_id = claim(claims, c.id_claim)
        if not isinstance(external_id, str | int) or external_id == "":
            raise Unauthorized(f"the access token has no {c.id_claim!r} claim (O16N_OIDC_ID_CLAIM)")
        name = next((str(v) for v in (claim(claims, n) for n in c.name_claims) if isinstance(v, str) and v), "")
        roles = claim(claims, c.roles_claim) if c.roles_claim else None
        if isinstance(roles, str):
            roles = [roles]
        groups = tuple(str(r) for r in roles) if isinstance(roles, list) else ()
        display = claims.get("name") if isinstance(claims.get("name"), str) else ""
        return Identity("oidc", str(external_id), name or str(external_id), display or name or str(external_id), groups)

    # --- keys ----------------------------------------------------------------------------
    def _key_for(self, kid: Any, alg: str) -> jwt.PyJWK:
        kid = kid if isinstance(kid, str) else None
        key = self._pick(kid, alg)
        now = time.monotonic()
        stale = now - self._fetched_at > self.config.jwks_lifetime
        if key is None or stale:
            with self._lock:  # one fetch at a time; the others then find the new keys
                key = self._pick(kid, alg)
                since = time.monotonic() - self._fetched_at
                if (key is None and since >= self.config.jwks_min_refetch) or since > self.config.jwks_lifetime:
                    try:
                        self._fetch_keys()
                    except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                        log.warning("cannot fetch the identity provider's keys from %s: %s", self.jwks_uri, exc)
                        if key is None:
                            raise Unavailable("the identity provider's keys cannot be fetched: try again later") from None
                    key = self._pick(kid, alg)
        if key is None:
            raise Unauthorized("the access token was signed with a key the identity provider does not publish (kid)")
        return key

    def _pick(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key for this kid (or the only one of the right type when the token names none)."""
        kty, curve = _KEY_TYPES[alg]
        if kid is not None:
            candidates = [self._keys[kid]] if kid in self._keys else []
        else:
            candidates = list(self._keys.values())
        fits = [key for key, jwk in candidates if jwk["kty"] == kty and (curve is None or jwk.get("crv") == curve)
                and jwk.get("alg", alg) == alg]
        return fits[0] if len(fits) == 1 else None

    def _fetch_keys(self) -> None:
        data = self._get_json(self.jwks_uri)
        keys: dict[str | None, tuple[jwt.PyJWK, dict[str, Any]]] = {}
        for item in data.get("keys", []) if isinstance(data.get("keys"), list) else []:
            if not isinstance(item, dict) or item.get("use", "sig") != "sig" or item.get("kty") not in ("RSA", "EC", "OKP"):
                continue
            try:
                key = jwt.PyJWK(item)
            except jwt.PyJWTError:
                continue  # a key type or curve we do not use
            keys[item.get("kid")] = (key, item)
        if not keys:
            raise ValueError("the JWKS holds no usable signing key")
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _get_json(self, url: str) -> dict[str, Any]:
        response = self._http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > _MAX_DOCUMENT:
            raise ValueError(f"{url} answered more than {_MAX_DOCUMENT} bytes")
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return data
