"""The relay's own OpenID Connect sign-in: the client-credentials grant, or the device authorization
grant (RFC 8628), against the one configured issuer.

    OidcSettings   the c.O16n.oidc_* traits, checked (a bad one names its trait)
    Issuer         the issuer's endpoints (from its discovery document) and the token requests
    DeviceCode     a device authorization: what the lab shows (`prompt()`) and the secret device code
    wait_for_device  the polling loop of RFC 8628 section 3.5 (interval, slow_down, expired_token, ...)
    TokenKeeper    the token provider of the relay's and the kernels' transports: hands out the
                   access token and renews it (refresh token, else client credentials again)

Tokens stay in the Jupyter server: nothing here is sent to the browser but `DeviceCode.prompt()`,
and no token or secret is ever part of a message. The relay talks to no host but the issuer's:
every endpoint the discovery document names must have the issuer's scheme, host and port.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from o16n.client.errors import TokenProviderError

T = TypeVar("T")

FLOWS = ("client_credentials", "device_code")
AUTH_METHODS = ("client_secret_post", "client_secret_basic")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8628: 5 s when the provider names no interval; slow_down adds 5 s for good.
DEFAULT_INTERVAL = 5.0
SLOW_DOWN_STEP = 5.0
MAX_INTERVAL = 60.0
# The keeper renews a token once half its lifetime is gone (the transports ask at 20-25 % left, so
# the relay's and the kernels' askings share one renewal); a token of unknown lifetime after 60 s.
RENEW_SHARE = 0.5
UNKNOWN_LIFETIME = 60.0


class OidcConfigError(ValueError):
    """A c.O16n.oidc_* setting that cannot work; the message names the trait."""


class SignInError(Exception):
    """The issuer refused (``status`` 401, ``code`` the OAuth error) or could not be reached (502)."""

    def __init__(self, message: str, *, code: str | None = None, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or bool(host and host.startswith("127."))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or ""), parts.port


@dataclass(frozen=True)
class OidcSettings:
    flow: str
    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    auth_method: str = "client_secret_post"
    scope: str | None = None
    resource: str | None = None
    audience: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_traits(cls, *, flow: str, issuer: str, client_id: str, client_secret: str = "",
                    client_secret_file: str = "", auth_method: str = "client_secret_post", scope: str = "",
                    resource: str = "", audience: str = "", ca_file: str = "", timeout: float = 30.0) -> OidcSettings:
        if flow not in FLOWS:
            raise OidcConfigError(f"c.O16n.oidc_flow: {flow!r} is not a flow: use {' or '.join(FLOWS)}")
        issuer = issuer.strip().rstrip("/")
        if not issuer:
            raise OidcConfigError("c.O16n.oidc_issuer is required with c.O16n.oidc_flow (the provider's issuer URL)")
        scheme, host, _ = _origin(issuer)
        if scheme != "https" and not (scheme == "http" and _is_loopback(host)):
            raise OidcConfigError(f"c.O16n.oidc_issuer: {issuer!r} must be an https URL (plain http only on loopback)")
        if not client_id.strip():
            raise OidcConfigError("c.O16n.oidc_client_id is required with c.O16n.oidc_flow")
        if auth_method not in AUTH_METHODS:
            raise OidcConfigError(f"c.O16n.oidc_client_auth_method: use {' or '.join(AUTH_METHODS)}")
        if client_secret and client_secret_file:
            raise OidcConfigError("give c.O16n.oidc_client_secret or c.O16n.oidc_client_secret_file, not both")
        secret = client_secret or None
        if client_secret_file:
            try:
                secret = Path(client_secret_file).expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise OidcConfigError(f"c.O16n.oidc_client_secret_file: cannot read {client_secret_file}: "
                                      f"{exc.strerror}") from None
            if not secret:
                raise OidcConfigError(f"c.O16n.oidc_client_secret_file: {client_secret_file} is empty")
        if flow == "client_credentials" and not secret:
            raise OidcConfigError("the client_credentials flow needs c.O16n.oidc_client_secret_file "
                                  "(or c.O16n.oidc_client_secret)")
        if ca_file and not Path(ca_file).expanduser().is_file():
            raise OidcConfigError(f"c.O16n.oidc_ca_file: {ca_file} is not a file")
        return cls(flow=flow, issuer=issuer, client_id=client_id.strip(), client_secret=secret, auth_method=auth_method,
                   scope=scope.strip() or None, resource=resource.strip() or None, audience=audience.strip() or None,
                   ca_file=ca_file or None, timeout=timeout)


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    expires_at: float | None
    refresh_token: str | None = field(default=None, repr=False)
    obtained_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)  # a secret: whoever holds it gets the tokens
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float

    def prompt(self) -> dict[str, Any]:
        """What the lab shows (never the device code itself)."""
        return {"userCode": self.user_code, "verificationUri": self.verification_uri,
                "verificationUriComplete": self.verification_uri_complete,
                "expiresAt": datetime.fromtimestamp(self.expires_at, UTC).isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
                "interval": self.interval}


def next_interval(interval: float, error: str | None) -> float:
    """RFC 8628 section 3.5: the wait before the next poll, after a poll answered ``error``."""
    if error == "slow_down":
        return min(interval + SLOW_DOWN_STEP, MAX_INTERVAL)
    if error == "unreachable":  # no answer at all: back off (the code may still be completed)
        return min(interval * 2, MAX_INTERVAL)
    return interval


def _web_link(value: Any, name: str) -> str | None:
    """A URL the lab may show as a link: http(s) only (never javascript: or data:)."""
    if value is None:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http") or not urlsplit(value).hostname:
        raise SignInError(f"the OpenID provider's {name} is not a web address")
    return value


class Issuer:
    """The configured issuer: discovery, then token requests (blocking; run them in a thread)."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file else True
        # never follow redirects: the relay talks to the issuer's endpoints and nothing else
        self.http = httpx.Client(timeout=settings.timeout, verify=verify, follow_redirects=False,
                                 headers={"Accept": "application/json", "User-Agent": "o16n-jupyter"})
        self._endpoints: dict[str, str | None] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ discovery
    def endpoint(self, name: str) -> str | None:
        with self._lock:
            if self._endpoints is None:
                self._endpoints = self._discover()
        return self._endpoints.get(name)

    def _discover(self) -> dict[str, str | None]:
        issuer = self.settings.issuer
        document = self._json("GET", issuer + "/.well-known/openid-configuration", what="discovery document")
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise SignInError(f"the discovery document of {issuer} names another issuer ({document.get('issuer')!r}): "
                              "check c.O16n.oidc_issuer", status=502)
        found: dict[str, str | None] = {}
        for name in ("token_endpoint", "device_authorization_endpoint", "revocation_endpoint"):
            url = document.get(name)
            if url is not None and (not isinstance(url, str) or _origin(url) != _origin(issuer)):
                # the relay only talks to the configured issuer's host
                raise SignInError(f"the OpenID provider's {name} {url!r} is not on the issuer's host {issuer}",
                                  status=502)
            found[name] = url
        if not found["token_endpoint"]:
            raise SignInError(f"the OpenID provider at {issuer} names no token_endpoint", status=502)
        return found

    # ------------------------------------------------------------ requests
    def _json(self, method: str, url: str, *, what: str, data: dict[str, str] | None = None) -> dict[str, Any]:
        """One request; OAuth error answers become SignInError(code), anything else unexpected a 502."""
        auth = None
        if data is not None and self.settings.client_secret and self.settings.auth_method == "client_secret_basic":
            auth = httpx.BasicAuth(self.settings.client_id, self.settings.client_secret)
        try:
            response = self.http.request(method, url, data=data, auth=auth)
        except httpx.HTTPError as exc:
            raise SignInError(f"cannot reach the OpenID provider at {self.settings.issuer} ({what}): "
                              f"{type(exc).__name__}", code="unreachable", status=502) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            description = body.get("error_description")
            text = body["error"] + (f": {description}" if isinstance(description, str) and description else "")
            raise SignInError(text, code=body["error"], status=502 if response.status_code >= 500 else 401)
        raise SignInError(f"the OpenID provider answered {response.status_code} to the {what} request", status=502)

    def _client_fields(self) -> dict[str, str]:
        fields = {"client_id": self.settings.client_id}
        if self.settings.client_secret and self.settings.auth_method == "client_secret_post":
            fields["client_secret"] = self.settings.client_secret
        return fields

    def _audience_fields(self, with_scope: bool = True) -> dict[str, str]:
        s = self.settings
        fields = {"resource": s.resource, "audience": s.audience, "scope": s.scope if with_scope else None}
        return {k: v for k, v in fields.items() if v}

    def _token_request(self, grant: dict[str, str], with_scope: bool = True) -> Tokens:
        url = self.endpoint("token_endpoint")
        assert url is not None
        body = self._json("POST", url, what="token",
                          data={**grant, **self._client_fields(), **self._audience_fields(with_scope)})
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise SignInError("the OpenID provider's token answer has no access_token", status=502)
        kind = body.get("token_type")
        if isinstance(kind, str) and kind.lower() != "bearer":
            raise SignInError(f"the OpenID provider issued a {kind!r} token; o16n takes bearer tokens")
        lifetime = body.get("expires_in")
        now = time.time()
        expires_at = now + float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else None
        refresh = body.get("refresh_token")
        return Tokens(token, expires_at, refresh if isinstance(refresh, str) and refresh else None, now)

    def client_credentials(self) -> Tokens:
        return self._token_request({"grant_type": "client_credentials"})

    def refresh(self, refresh_token: str) -> Tokens:
        tokens = self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}, with_scope=False)
        if tokens.refresh_token is None:  # not rotated: the old one carries on
            tokens = Tokens(tokens.access_token, tokens.expires_at, refresh_token, tokens.obtained_at)
        return tokens

    def start_device(self) -> DeviceCode:
        url = self.endpoint("device_authorization_endpoint")
        if not url:
            raise SignInError(f"the OpenID provider at {self.settings.issuer} offers no device sign-in "
                              "(no device_authorization_endpoint)", status=502)
        body = self._json("POST", url, what="device authorization",
                          data={**self._client_fields(), **self._audience_fields()})
        device_code, user_code = body.get("device_code"), body.get("user_code")
        if not isinstance(device_code, str) or not isinstance(user_code, str) or not device_code or not user_code:
            raise SignInError("the OpenID provider's device authorization has no device_code or user_code", status=502)
        # Azure AD's v1 endpoint says verification_url
        uri = _web_link(body.get("verification_uri") or body.get("verification_url"), "verification_uri")
        if uri is None:
            raise SignInError("the OpenID provider's device authorization has no verification_uri", status=502)
        lifetime = body.get("expires_in")
        interval = body.get("interval")
        return DeviceCode(
            device_code=device_code, user_code=user_code, verification_uri=uri,
            verification_uri_complete=_web_link(body.get("verification_uri_complete"), "verification_uri_complete"),
            expires_at=time.time() + (float(lifetime) if isinstance(lifetime, int | float) else 900.0),
            interval=float(interval) if isinstance(interval, int | float) and interval > 0 else DEFAULT_INTERVAL)

    def poll(self, device: DeviceCode) -> Tokens | str:
        """One poll of the token endpoint: the tokens, or "authorization_pending" / "slow_down" /
        "unreachable"; SignInError for an answer that ends the sign-in."""
        try:
            return self._token_request({"grant_type": DEVICE_GRANT, "device_code": device.device_code},
                                       with_scope=False)
        except SignInError as exc:
            if exc.code in ("authorization_pending", "slow_down", "unreachable"):
                return exc.code
            raise

    def revoke(self, refresh_token: str) -> None:
        """RFC 7009, where the issuer offers it; a failure is no reason to keep anybody signed in."""
        url = self.endpoint("revocation_endpoint")
        if not url:
            return
        try:
            self._json("POST", url, what="revocation",
                       data={"token": refresh_token, "token_type_hint": "refresh_token", **self._client_fields()})
        except SignInError:
            pass


async def wait_for_device(issuer: Issuer, device: DeviceCode, run: Callable[..., Awaitable[Any]],
                          sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> Tokens:
    """Poll until the user completes the sign-in (the tokens) or it ends (SignInError)."""
    interval = device.interval
    while True:
        await sleep(interval)
        if time.time() >= device.expires_at:
            raise SignInError("the sign-in code expired before the sign-in was completed: start again",
                              code="expired_token")
        try:
            answer = await run(issuer.poll, device)
        except SignInError as exc:
            if exc.code == "expired_token":
                raise SignInError("the sign-in code expired before the sign-in was completed: start again",
                                  code="expired_token") from None
            if exc.code == "access_denied":
                raise SignInError(f"the sign-in was refused at the OpenID provider ({exc.message})",
                                  code="access_denied") from None
            raise
        if isinstance(answer, Tokens):
            return answer
        interval = next_interval(interval, answer)


class TokenKeeper:
    """The token provider of the relay's and the kernels' transports (`o16n.client` calls it in a
    worker thread): the current access token, renewed once half its life is gone."""

    def __init__(self, issuer: Issuer, tokens: Tokens) -> None:
        self.issuer = issuer
        self._tokens = tokens
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, float | None]:
        with self._lock:
            if not self._fresh(self._tokens):
                self._tokens = self._renew(self._tokens)
            return self._tokens.access_token, self._tokens.expires_at

    @staticmethod
    def _fresh(tokens: Tokens) -> bool:
        now = time.time()
        if tokens.expires_at is None:
            return now - tokens.obtained_at < UNKNOWN_LIFETIME
        return tokens.expires_at - now > (tokens.expires_at - tokens.obtained_at) * RENEW_SHARE

    def _renew(self, tokens: Tokens) -> Tokens:
        try:
            if tokens.refresh_token:
                try:
                    return self.issuer.refresh(tokens.refresh_token)
                except SignInError as exc:
                    if exc.status != 401 or self.issuer.settings.flow != "client_credentials":
                        raise
            if self.issuer.settings.flow == "client_credentials":
                return self.issuer.client_credentials()
        except SignInError as exc:
            raise TokenProviderError(f"the OpenID provider did not renew the sign-in ({exc.message})",
                                     status=exc.status) from None
        raise TokenProviderError("the sign-in at the OpenID provider ended and gave no refresh token: sign in again",
                                 status=401)

    def close(self) -> None:
        """Signing out: revoke the refresh token at the issuer, where it can."""
        with self._lock:
            refresh, self._tokens = self._tokens.refresh_token, Tokens("", 0.0)
        if refresh:
            self.issuer.revoke(refresh)
