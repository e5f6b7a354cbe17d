"""Authentication happens here, once, before any route runs: default deny is structural.

Every request needs a valid bearer token except the few routes in `PUBLIC` (logging in and handling
refresh tokens). A request without one is answered 401 before its body is read. Bodies of public
routes are read here, capped (`max_login_body_bytes`) and only so many at once
(`max_unauthenticated_bodies`), so that nobody can make the server hold big bodies for free.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Authenticator
from .config import Settings
from .domain.access import Caller
from .errors import ApiError, PayloadTooLarge, TooManyRequests, error_response

CALLER = "o16n.caller"
# (method, path) of the routes anybody may call (logging in, and health for balancers); a path
# ending in "/" covers everything below it.
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/login"),
    ("POST", "/login/refreshToken"),
    ("DELETE", "/login/refreshToken"),
    ("DELETE", "/login/refreshToken/"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
})


def is_public(method: str, path: str) -> bool:
    if (method, path) in PUBLIC:
        return True
    parent = path.rsplit("/", 1)[0] + "/"
    return (method, parent) in PUBLIC


def caller_of(request: Request) -> Caller:
    """The authenticated caller (every non-public route has one)."""
    caller: Caller = request.scope[CALLER]
    return caller


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, authenticator: Authenticator, settings: Settings) -> None:
        self.app = app
        self.authenticator = authenticator
        self.body_limit = settings.max_login_body_bytes
        self.public_bodies = asyncio.Semaphore(max(1, settings.max_unauthenticated_bodies))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_public(scope["method"], scope["path"]):
            await self._public(scope, receive, send)
            return
        try:
            scope[CALLER] = await self.authenticator.authenticate(_header(scope, b"authorization"))
        except ApiError as exc:  # 401; 403 for a token whose groups map to no role; 503 provider down
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _public(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.public_bodies.locked():
                raise TooManyRequests("too many unauthenticated requests at once: try again in a moment",
                                      limit="max_unauthenticated_bodies")
            async with self.public_bodies:
                body = await self._read_capped(scope, receive)
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_capped(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.body_limit:
            raise _too_large(self.body_limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                raise _too_large(self.body_limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body is larger than {limit} bytes (max_login_body_bytes)", field="body")


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers") or ()
    for key, value in headers:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
