"""Who is calling: the one place the middleware and the login routes ask.

`authenticate` turns an `Authorization` header into a `Caller` (or raises Unauthorized / Forbidden);
`login`, `refresh` and `revoke` serve the /login routes. The providers are in `setup.py`.

- A bearer token is o16n's own (TokenService) unless its `iss` is the configured OIDC issuer.
  Both kinds are checked once and then trusted from a cache until they expire, so the consume path
  does no signature check and no database read for a token it has seen.
- POST /login asks the password providers in the configured order; the first that knows the user
  name decides. A directory that is down is skipped (and reported as 503 when no later provider
  knows the name), so the local admin still signs in.
- A directory user's refresh asks the directory again: the account must still exist and be
  enabled; its groups are re-read when the last read is older than `cache_lifetime_minutes`.

Password checks (argon2: tens of ms of CPU and 19+ MiB each, on purpose) run at most
`login_concurrency` at once, directory binds at most `ldap_pool_size`; a flood beyond a short
queue is refused with 429 instead of starving everything else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import jwt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ..config import Settings
from ..domain.access import Caller
from ..errors import Forbidden, TooManyRequests, Unauthorized
from ..store.models import User, utcnow
from .accounts import record_sign_in, role_source
from .providers import DirectoryUnavailable, Identity
from .roles import RoleDecision
from .setup import build_providers
from .throttle import LoginThrottle
from .tokens import TokenResponse, TokenService

T = TypeVar("T")
_QUEUE_PER_SLOT = 8  # logins waiting for a password check, per check that may run
_CACHE_MAX = 10_000


class Authenticator:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.providers = build_providers(settings)  # ConfigError (naming the setting) stops the start
        self.tokens = TokenService(settings, sessions)
        self.throttle = LoginThrottle(settings.login_attempts, settings.login_attempts_per_address,
                                      settings.login_window)
        self._checks = asyncio.Semaphore(max(1, settings.login_concurrency))
        self._binds = asyncio.Semaphore(max(1, settings.ldap_pool_size))
        self._queue_limit = max(1, settings.login_concurrency) * _QUEUE_PER_SLOT
        self._waiting = 0
        # Authorization header of an external token -> (its exp, the Caller, or why it gets 403).
        self._external: dict[str, tuple[float, Caller | str]] = {}
        # (provider, external id) -> (monotonic time of the last write, user id, user name, role, source)
        self._recorded: dict[tuple[str, str], tuple[float, int, str, str, str]] = {}

    def close(self) -> None:
        self.providers.close()

    # --- every request -------------------------------------------------------------------
    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller of a valid, unrevoked bearer token; Unauthorized (or Forbidden) otherwise."""
        if not authorization:
            raise Unauthorized("this call needs a bearer token: log in with POST /login")
        grant_id = self.tokens.cached_grant(authorization)  # the hot path: an o16n token seen lately
        if grant_id is None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("the Authorization header must be 'Bearer <access_token>'")
            token = token.strip()
            if self.providers.oidc is not None:
                hit = self._external.get(authorization)
                if hit is not None and hit[0] > time.time():
                    if isinstance(hit[1], str):
                        raise Forbidden(hit[1])
                    return hit[1]
                if _issuer_of(token) == self.providers.oidc.issuer:
                    return await self._external_caller(token, authorization)
            grant_id = self.tokens.verify(token, authorization)
        cached = self.tokens.cached_caller(grant_id)
        caller = await run_in_threadpool(self.tokens.lookup_caller, grant_id) if cached is False else cached
        if not isinstance(caller, Caller):
            raise Unauthorized("the access token was revoked: log in again")
        return caller

    async def _external_caller(self, token: str, authorization: str) -> Caller:
        oidc = self.providers.oidc
        assert oidc is not None
        verified = await run_in_threadpool(oidc.verify, token)
        identity = verified.identity
        decision = self.providers.roles.decide(identity.groups)
        if len(self._external) > _CACHE_MAX:
            self._external.clear()
        if decision.role is None:
            shown = ", ".join(identity.groups[:10]) or "none"
            refusal = (f"'{identity.name}' is signed in through {oidc.issuer}, but none of the token's "
                       f"'{oidc.config.roles_claim}' ({shown}) is mapped to an o16n role: ask an "
                       "administrator to add it to O16N_AUTH_ROLES")
            self._external[authorization] = (verified.expires_at, refusal)
            raise Forbidden(refusal)
        source = role_source(identity, decision, claim=oidc.config.roles_claim)
        user_id, username = await self._record(identity, decision, source)
        caller = Caller(user_id, username, decision.role, f"oidc:{verified.token_id}")
        self._external[authorization] = (verified.expires_at, caller)
        return caller

    async def _record(self, identity: Identity, decision: RoleDecision, source: str) -> tuple[int, str]:
        """The user row of a token's identity; written at most once per cache lifetime unless it changed."""
        assert decision.role is not None
        key = (identity.provider, identity.external_id)
        seen = self._recorded.get(key)
        fresh = seen is not None and time.monotonic() - seen[0] < self.providers.cache_lifetime
        if seen is not None and fresh and (seen[3], seen[4]) == (decision.role, source):
            return seen[1], seen[2]
        user = await run_in_threadpool(self._write_user, identity, decision.role, source)
        if len(self._recorded) > _CACHE_MAX:
            self._recorded.clear()
        self._recorded[key] = (time.monotonic(), user.id, user.username, decision.role, source)
        return user.id, user.username

    def _write_user(self, identity: Identity, role: str, source: str) -> User:
        return self._retrying(lambda db: record_sign_in(db, identity, role, source))

    def _retrying(self, work: Callable[[Session], T]) -> T:
        """One transaction, tried again once if another node created the same user at the same moment."""
        for attempt in (1, 2):
            try:
                with self.sessions.begin() as db:
                    return work(db)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # --- /login --------------------------------------------------------------------------
    async def login(self, username: str, password: str, client: str) -> TokenResponse:
        self.throttle.check(username, client)
        if self._waiting >= self._queue_limit:
            raise TooManyRequests("too many logins at once: try again in a moment", limit="login_concurrency")
        self._waiting += 1
        try:
            tokens = await self._login(username, password)
        except Unauthorized:
            self.throttle.failed(username, client)
            raise
        finally:
            self._waiting -= 1
        self.throttle.succeeded(username, client)
        return tokens

    async def _login(self, username: str, password: str) -> TokenResponse:
        unavailable: DirectoryUnavailable | None = None
        for name in self.providers.order:
            if name == "local":
                async with self._checks:
                    tokens = await run_in_threadpool(self.tokens.login_local, username, password)
                if tokens is not None:
                    return tokens
            elif name == "ldap" and self.providers.ldap is not None:
                try:
                    async with self._binds:
                        identity = await run_in_threadpool(self.providers.ldap.check_password, username, password)
                except DirectoryUnavailable as exc:
                    unavailable = exc  # a later provider may still know the name (the local admin)
                    continue
                if identity is not None:
                    return await run_in_threadpool(self._sign_in, identity)
        if unavailable is not None:
            raise unavailable
        if "local" not in self.providers.order and "ldap" not in self.providers.order:
            raise Unauthorized("this server does not sign in with passwords: send a bearer token from "
                               "its identity provider (see GET /status)")
        raise Unauthorized("invalid credentials")

    def _sign_in(self, identity: Identity) -> TokenResponse:
        decision = self.providers.roles.decide(identity.groups)
        if decision.role is None:
            raise Forbidden(f"the directory knows '{identity.name}', but none of their groups is mapped to an "
                            "o16n role: ask an administrator to add one of them to O16N_AUTH_ROLES")
        role, source = decision.role, role_source(identity, decision)
        return self._retrying(lambda db: self.tokens.issue(db, record_sign_in(db, identity, role, source)))

    async def refresh(self, refresh_token: str) -> TokenResponse:
        user = await run_in_threadpool(self.tokens.user_of_refresh, refresh_token)
        if user is not None and user.provider == "ldap":
            await run_in_threadpool(self._recheck, user)
        return await run_in_threadpool(self.tokens.refresh, refresh_token)

    def _recheck(self, user: User) -> None:
        """Before a directory user's refresh: still there and enabled, and (when due) in which groups."""
        ldap = self.providers.ldap
        if ldap is None:
            self._end_grants(user)
            raise Unauthorized("this account signs in through LDAP, which this server no longer uses")
        due = user.role_checked_at is None or (
            utcnow() - user.role_checked_at >= timedelta(seconds=self.providers.cache_lifetime))
        identity = ldap.lookup(user.external_name or user.username, user.external_id or "", with_groups=due)
        if identity is None:
            self._end_grants(user)
            raise Unauthorized("the directory no longer has an enabled account for this user: sign in again")
        if not due:
            return
        decision = self.providers.roles.decide(identity.groups)
        if decision.role is None:
            self._end_grants(user)
            raise Forbidden(f"'{identity.name}' is no longer in any group mapped to an o16n role")
        self._write_user(identity, decision.role, role_source(identity, decision))

    def _end_grants(self, user: User) -> None:
        with self.sessions.begin() as db:
            self.tokens.revoke_user(db, user.id)

    async def revoke(self, refresh_token: str) -> None:
        await run_in_threadpool(self.tokens.revoke, refresh_token)

    # --- what /status and /users/me say ---------------------------------------------------
    def describe(self) -> dict[str, Any]:
        p = self.providers
        details: dict[str, Any] = {
            "type": ",".join(p.order),
            "providers": list(p.order),
            "accessTokenLifetime": self.settings.access_token_lifetime,
        }
        if p.ldap is not None or p.oidc is not None:
            details["cacheLifetimeMinutes"] = self.settings.cache_lifetime_minutes
        if p.ldap is not None:
            details["ldap"] = {"encrypted": p.ldap.config.encrypted,
                               "bind": "direct" if p.ldap.config.user_dn_template else "search"}
        if p.oidc is not None:
            details["oidc"] = {"issuer": p.oidc.issuer, "audience": list(p.oidc.config.audiences),
                               "rolesClaim": p.oidc.config.roles_claim, "idClaim": p.oidc.config.id_claim}
        return details


def _issuer_of(token: str) -> str | None:
    """The `iss` a JWT claims, unverified (only to pick who verifies it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None
