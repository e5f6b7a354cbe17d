"""Who is calling: the one place the middleware and the login routes ask.

`authenticate` turns an `Authorization` header into a `Caller` (or raises Unauthorized); `login`,
`refresh` and `revoke` serve the /login routes. Password checks (argon2: tens of ms of CPU and
19+ MiB each, on purpose) run at most `login_concurrency` at once; a flood beyond a short queue is
refused with 429 instead of starving everything else.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ..config import Settings
from ..domain.access import Caller
from ..errors import TooManyRequests, Unauthorized
from .throttle import LoginThrottle
from .tokens import TokenResponse, TokenService

_QUEUE_PER_SLOT = 8  # logins waiting for a password check, per check that may run


class Authenticator:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.tokens = TokenService(settings, sessions)
        self.throttle = LoginThrottle(settings.login_attempts, settings.login_attempts_per_address,
                                      settings.login_window)
        self._checks = asyncio.Semaphore(max(1, settings.login_concurrency))
        self._queue_limit = max(1, settings.login_concurrency) * _QUEUE_PER_SLOT
        self._waiting = 0

    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller of a valid, unrevoked bearer token; Unauthorized otherwise."""
        if not authorization:
            raise Unauthorized("this call needs a bearer token: log in with POST /login")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <access_token>'")
        grant_id = self.tokens.verify(token.strip(), authorization)
        cached = self.tokens.cached_caller(grant_id)
        caller = await run_in_threadpool(self.tokens.lookup_caller, grant_id) if cached is False else cached
        if not isinstance(caller, Caller):
            raise Unauthorized("the access token was revoked: log in again")
        return caller

    async def login(self, username: str, password: str, client: str) -> TokenResponse:
        self.throttle.check(username, client)
        if self._waiting >= self._queue_limit:
            raise TooManyRequests("too many logins at once: try again in a moment", limit="login_concurrency")
        self._waiting += 1
        try:
            async with self._checks:
                tokens = await run_in_threadpool(self.tokens.login, username, password)
        except Unauthorized:
            self.throttle.failed(username, client)
            raise
        finally:
            self._waiting -= 1
        self.throttle.succeeded(username, client)
        return tokens

    async def refresh(self, refresh_token: str) -> TokenResponse:
        return await run_in_threadpool(self.tokens.refresh, refresh_token)

    async def revoke(self, refresh_token: str) -> None:
        await run_in_threadpool(self.tokens.revoke, refresh_token)
