"""HTTP transport with bearer tokens that look after themselves.

`Transport` logs in (``POST /login``), renews the access token shortly before ``expires_on`` and
again after a 401 (the request is retried once), and revokes the refresh token on ``close()``.
With a ``token_source`` (a kernel's ``O16N_CREDENTIALS_FILE``, written by the Jupyter extension)
it has no refresh token of its own: renewing means reading the source again for a newer token.
With a ``token_provider`` (`tokens`: the caller's identity provider, e.g. MSAL) renewing means
asking the provider: before the token expires, and once after a 401.
Every non-2xx answer becomes a typed error carrying the server's message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from .errors import AuthenticationError, O16nError, ServerError, error_for_status
from .tokens import ask

# Renew when less than this share of the token's lifetime is left (bounded below and above).
_RENEW_FRACTION = 0.2
_RENEW_MIN_SECONDS = 0.5
_RENEW_MAX_SECONDS = 60.0
# After a 401, how long to wait for the token source (the Jupyter extension) to write a new token.
_SOURCE_WAIT_SECONDS = 3.0


def path(*parts: Any) -> str:
    """Build a URL path from segments, percent-encoding each one."""
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def _message_of(response: httpx.Response) -> tuple[str, str | None, Any]:
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:500] or response.reason_phrase or f"HTTP {response.status_code}"), None, text
    if isinstance(body, dict):
        lowered = {str(k).lower(): v for k, v in body.items()}
        message = lowered.get("message") or lowered.get("errormessage") or lowered.get("error") or json.dumps(body)
        field = lowered.get("fields") or lowered.get("field")
        return str(message), (str(field) if field else None), body
    return str(body), None, body


class Transport:
    """One authenticated HTTP connection to an o16n server."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 token: str | None = None, refresh_token: str | None = None,
                 refresh_source: Callable[[], str | None] | None = None,
                 token_source: Callable[[], dict[str, Any] | None] | None = None,
                 token_provider: Callable[[], object] | None = None,
                 revoke_on_close: bool | None = None, timeout: float = 300.0,
                 transport: httpx.BaseTransport | None = None, verify: bool = True) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._access_token = token
        self._refresh_token = refresh_token
        self._refresh_source = refresh_source
        self._token_source = token_source
        self._token_provider = token_provider
        self._source_checked = 0.0
        self._expires_at: float | None = None
        self._lifetime: float | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._owns_tokens = revoke_on_close if revoke_on_close is not None else (password is not None)
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport, verify=verify,
                                 headers={"Accept": "application/json", "User-Agent": "o16n-client"})

    # ---------------------------------------------------------------- tokens
    @property
    def access_token(self) -> str | None:
        return self._access_token

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    @property
    def expires_at(self) -> float | None:
        return self._expires_at

    def login(self) -> None:
        """``POST /login`` with the stored user name and password."""
        if self.username is None or self._password is None:
            raise AuthenticationError("no credentials: pass username and password (or token) to connect()")
        response = self._send("POST", "/login", json={"username": self.username, "password": self._password})
        self._take_tokens(self._check(response))

    def renew(self, rejected: bool = False) -> None:
        """``POST /login/refreshToken``; falls back to a fresh login when the refresh token is refused.

        With a token source (and no refresh token or password) the source is read again instead;
        ``rejected``: the server refused the current token, so wait a little for a newer one.
        With a token provider, the provider is asked (its errors are TokenProviderErrors).
        """
        with self._lock:
            if self._token_provider is not None:
                token, expires_on = ask(self._token_provider)
                self._take_tokens({"access_token": token, "expires_on": expires_on})
                return
            if self._token_source is not None and not self._refresh_token and self._password is None:
                self._take_from_source(rejected)
                return
            candidates = []
            if self._refresh_token:
                candidates.append(self._refresh_token)
            if self._refresh_source is not None:
                fresh = self._refresh_source()
                if fresh and fresh not in candidates:
                    candidates.append(fresh)
            last: O16nError | None = None
            for refresh in candidates:
                response = self._send("POST", "/login/refreshToken", json={"refreshToken": refresh})
                try:
                    self._take_tokens(self._check(response))
                    return
                except AuthenticationError as exc:
                    last = exc
            if self.username is not None and self._password is not None:
                self.login()
                return
            if last is not None:
                raise last
            raise AuthenticationError("the access token expired and there is no refresh token or password to renew it")

    def _take_tokens(self, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthenticationError("the server's token response has no access_token", body=body)
        now = time.time()
        self._access_token = body["access_token"]
        self._refresh_token = body.get("refresh_token") or self._refresh_token
        expires_at = None
        if body.get("expires_on") not in (None, ""):
            try:
                expires_at = float(body["expires_on"])
            except (TypeError, ValueError):
                expires_at = None
        if body.get("expires_in") not in (None, ""):
            try:
                by_lifetime = now + float(body["expires_in"])
                # trust the earlier of the two: guards against clock skew between client and server
                expires_at = by_lifetime if expires_at is None else min(expires_at, by_lifetime)
            except (TypeError, ValueError):
                pass
        self._expires_at = expires_at
        self._lifetime = (expires_at - now) if expires_at else None

    def _take_from_source(self, rejected: bool) -> None:
        assert self._token_source is not None
        deadline = time.time() + (_SOURCE_WAIT_SECONDS if rejected else 0.0)
        while True:
            data = self._token_source() or {}
            token = data.get("access_token")
            if token and token != self._access_token:
                self._take_tokens({"access_token": token, "expires_on": data.get("expires_on")})
                return
            if time.time() >= deadline:
                break
            time.sleep(0.1)
        self._source_checked = time.time()
        if rejected or not token:
            raise AuthenticationError("the access token from O16N_CREDENTIALS_FILE was refused and no newer one was "
                                      "written: is the Jupyter server still logged in to o16n? "
                                      "(or log in with %o16n login URL --user NAME)")
        # not refused yet and not renewed yet: the writer renews it before it expires; look again soon

    def _needs_renewal(self) -> bool:
        if self._token_source is not None and time.time() - self._source_checked < 1.0:
            return False  # read the source at most once a second
        if self._expires_at is None or not self._can_renew():
            return False
        margin = (self._lifetime or 0) * _RENEW_FRACTION
        margin = min(max(margin, _RENEW_MIN_SECONDS), _RENEW_MAX_SECONDS)
        return time.time() >= self._expires_at - margin

    def _can_renew(self) -> bool:
        return bool(self._refresh_token or self._refresh_source or self._token_source or self._token_provider or
                     (self.username is not None and self._password is not None))

    def revoke(self) -> None:
        """``DELETE /login/refreshToken?refreshToken=...`` (errors are ignored).

        Under the renewal lock: a renewal in flight on another thread finishes first, and the pair it
        brings is the one revoked (else that new pair would outlive the logout).
        """
        with self._lock:
            if not self._refresh_token:
                return
            try:
                self.http.request("DELETE", "/login/refreshToken", params={"refreshToken": self._refresh_token},
                                  headers=self._auth_headers())
            except httpx.HTTPError:
                pass
            self._refresh_token = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._owns_tokens:
                self.revoke()
        finally:
            self.http.close()

    # ---------------------------------------------------------------- requests
    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}"} if self._access_token else {}

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kw)
        except httpx.TimeoutException as exc:
            raise ServerError(f"{method} {url} timed out ({exc})", method=method, url=url) from None
        except httpx.TransportError as exc:
            raise ServerError(f"cannot reach the o16n server at {self.url}: {exc}", method=method, url=url) from None

    def _check(self, response: httpx.Response) -> Any:
        if response.is_success:
            if not response.content:
                return None
            ctype = response.headers.get("content-type", "")
            if "json" in ctype:
                return response.json()
            try:
                return response.json()
            except ValueError:
                return response.text
        message, field, body = _message_of(response)
        raise error_for_status(response.status_code, message, field=field, body=body,
                               method=response.request.method, url=str(response.request.url))

    def request(self, method: str, url: str, *, raw: bool = False, headers: dict[str, str] | None = None,
                **kw: Any) -> Any:
        """Send an authenticated request; returns decoded JSON (or the httpx response when raw)."""
        if self._closed:
            raise O16nError("this client is closed")
        if self._needs_renewal():
            self.renew()
        merged = {**(headers or {}), **self._auth_headers()}
        response = self._send(method, url, headers=merged, **kw)
        if response.status_code == 401 and self._can_renew():
            refused = self._access_token
            self.renew(rejected=True)
            if self._token_provider is not None and self._access_token == refused:
                return self._check(response)  # the provider had nothing newer: the server's own 401
            merged = {**(headers or {}), **self._auth_headers()}
            response = self._send(method, url, headers=merged, **kw)
        if raw:
            if not response.is_success:
                self._check(response)
            return response
        return self._check(response)
