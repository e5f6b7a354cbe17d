"""o16n's own tokens: signed access tokens and rotating refresh tokens, one grant per pair.

Access tokens are HS256 JWTs signed with a key from the database (`keys.py`), so every node that
shares the database accepts every other node's tokens. Each token carries the id
of its grant; a grant is one access/refresh pair, and a refresh makes a new grant in the same chain.
Every request checks its grant (cached briefly), so revoking a grant ends its access token too.

- Refreshing revokes the old grant and issues a new one (single use, even when requests race).
- Presenting a refresh token that was already used revokes its whole chain: either the client or a
  thief holds a stolen copy, and neither may go on (OAuth 2.0 Security BCP, refresh token reuse).
- Changing a user's password or role revokes all of that user's grants.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..domain.access import Caller
from ..errors import Unauthorized
from ..store.models import Grant, User, utcnow
from .keys import KeyRing
from .passwords import hash_password, needs_rehash, verify_password

TokenResponse = dict[str, Any]


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (SQLAlchemy types `execute` loosely)."""
    return int(result.rowcount)


def _hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_REFUSED_REFRESH = "invalid or expired refresh token"


class TokenService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.keys = KeyRing(sessions, settings.data_dir, settings.access_token_lifetime,
                            settings.signing_key_rotation_days)
        # grant id -> (checked at, Caller or None). Keeps the DB off the hot path of consume.
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._verified: dict[str, tuple[str, float]] = {}  # Authorization header -> (grant id, exp)
        self._revoked_here: dict[str, float] = {}  # grant id -> when this node revoked it

    # --- issuing -------------------------------------------------------------------------
    def login(self, username: str, password: str) -> TokenResponse:
        tokens = self.login_local(username, password)
        if tokens is None:
            raise Unauthorized("invalid credentials")
        return tokens

    def login_local(self, username: str, password: str) -> TokenResponse | None:
        """Tokens for a local user's password; None if there is no local user of that name.

        An unknown name costs the same argon2 check as a known one, so timing tells nothing.
        """
        with self.sessions.begin() as db:
            user = db.scalar(select(User).where(User.username == username, User.provider == "local"))
            if not verify_password(user.password_hash if user else None, password):
                if user is None:
                    return None
                raise Unauthorized("invalid credentials")
            assert user is not None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return self.issue(db, user)

    def issue(self, db: Session, user: User) -> TokenResponse:
        """A new pair (a new refresh chain) for a user who just signed in."""
        return self._issue(db, user, chain_id=secrets.token_hex(16), chain_started_at=utcnow())

    def user_of_refresh(self, refresh_token: str) -> User | None:
        """The user a live refresh token belongs to (read only; `refresh` still decides)."""
        with self.sessions() as db:
            grant = db.scalar(select(Grant).where(Grant.refresh_hash == _hash_refresh(refresh_token or "")))
            if grant is None or grant.revoked:
                return None
            return db.get(User, grant.user_id)

    def refresh(self, refresh_token: str) -> TokenResponse:
        with self.sessions.begin() as db:
            grant = self._grant_of(db, refresh_token)
            self._check_alive(grant)
            # Conditional, so two refreshes racing with one token cannot both get a new pair.
            taken = _rowcount(db.execute(
                update(Grant).where(Grant.id == grant.id, Grant.revoked.is_(False)).values(revoked=True)
            ))
            self._forget(grant.id)
            user = db.get(User, grant.user_id) if taken == 1 else None
            if user is not None:
                return self._issue(db, user, chain_id=grant.chain_id, chain_started_at=grant.chain_started_at)
            # Used before: a copy of it is out there. The chain is revoked (committed), then refused.
            self._revoke_chain(db, grant.chain_id)
        raise Unauthorized(_REFUSED_REFRESH)

    def revoke(self, refresh_token: str) -> None:
        with self.sessions.begin() as db:
            grant = self._grant_of(db, refresh_token)
            if grant.revoked:
                raise Unauthorized(_REFUSED_REFRESH)
            self._check_alive(grant)
            grant.revoked = True
            self._forget(grant.id)

    def revoke_user(self, db: Session, user_id: int) -> None:
        """End every grant of a user (password or role changed, user removed)."""
        ids = db.scalars(select(Grant.id).where(Grant.user_id == user_id, Grant.revoked.is_(False))).all()
        db.execute(update(Grant).where(Grant.user_id == user_id).values(revoked=True))
        for grant_id in ids:
            self._forget(grant_id)

    def _grant_of(self, db: Session, refresh_token: str) -> Grant:
        grant = db.scalar(select(Grant).where(Grant.refresh_hash == _hash_refresh(refresh_token or "")))
        if grant is None:
            raise Unauthorized(_REFUSED_REFRESH)
        return grant

    def _check_alive(self, grant: Grant) -> None:
        now = utcnow()
        max_age = timedelta(seconds=self.settings.refresh_token_max_lifetime)
        if grant.expires_at <= now or grant.chain_started_at + max_age <= now:
            raise Unauthorized(_REFUSED_REFRESH)

    def _revoke_chain(self, db: Session, chain_id: str) -> None:
        ids = db.scalars(select(Grant.id).where(Grant.chain_id == chain_id, Grant.revoked.is_(False))).all()
        db.execute(update(Grant).where(Grant.chain_id == chain_id).values(revoked=True))
        for grant_id in ids:
            self._forget(grant_id)

    def _issue(self, db: Session, user: User, chain_id: str, chain_started_at: datetime) -> TokenResponse:
        now = time.time()
        refresh_token = secrets.token_urlsafe(32)
        grant = Grant(
            id=secrets.token_hex(16),
            user_id=user.id,
            chain_id=chain_id,
            refresh_hash=_hash_refresh(refresh_token),
            chain_started_at=chain_started_at,
            expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_idle_lifetime),
            revoked=False,
        )
        db.add(grant)
        lifetime = self.settings.access_token_lifetime
        claims = {"iss": "o16n", "sub": user.username, "uid": user.id, "gid": grant.id,
                  "iat": int(now), "exp": int(now) + lifetime}
        return {
            "token_type": "Bearer",
            "access_token": self._sign(claims),
            "expires_in": lifetime,
            "expires_on": int(now) + lifetime,
            "refresh_token": refresh_token,
        }

    def _sign(self, claims: dict[str, Any]) -> str:
        key = self.keys.signing
        return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})

    # --- checking ------------------------------------------------------------------------
    def cached_grant(self, authorization: str) -> str | None:
        """The grant of an o16n token checked recently (None: not one, or not seen lately)."""
        hit = self._verified.get(authorization)
        return hit[0] if hit is not None and hit[1] > time.time() else None

    def verify(self, token: str, authorization: str) -> str:
        """Check an access token's signature and expiry; return its grant id.

        A header seen recently is not checked again until its token expires (its signature can't change).
        """
        hit = self._verified.get(authorization)
        if hit is not None and hit[1] > time.time():
            return hit[0]
        try:
            key = self.keys.verifying(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                raise Unauthorized("the access token is not valid (signed with a key this server does not know)")
            claims = jwt.decode(token, key.secret, algorithms=["HS256"], issuer="o16n",
                                options={"require": ["exp", "gid"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired: refresh it or log in again") from None
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid") from None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[authorization] = (str(claims["gid"]), float(claims["exp"]))
        return str(claims["gid"])

    def cached_caller(self, grant_id: str) -> Caller | None | bool:
        """The caller of a recently checked grant; None if revoked; False if not cached."""
        if grant_id in self._revoked_here:
            return None
        hit = self._cache.get(grant_id)
        if hit is not None and time.monotonic() - hit[0] < self.settings.auth_cache_seconds:
            return hit[1]
        return False

    def lookup_caller(self, grant_id: str) -> Caller | None:
        """Read the grant and its user from the database (a revoked grant gives None)."""
        with self.sessions() as db:
            row = db.execute(
                select(Grant.revoked, User.id, User.username, User.role)
                .join(User, User.id == Grant.user_id)
                .where(Grant.id == grant_id)
            ).first()
        caller = None if row is None or row.revoked else Caller(row.id, row.username, row.role, grant_id)
        if grant_id in self._revoked_here:  # revoked while we read a row from before the revocation
            caller = None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[grant_id] = (time.monotonic(), caller)
        return caller

    def _forget(self, grant_id: str) -> None:
        """A grant revoked by this node: refused here from now on, whatever a racing lookup caches."""
        self._cache.pop(grant_id, None)
        now = time.monotonic()
        if len(self._revoked_here) > 10_000:  # past an access token's lifetime nothing uses the grant
            horizon = now - self.settings.access_token_lifetime
            self._revoked_here = {g: t for g, t in self._revoked_here.items() if t > horizon}
        self._revoked_here[grant_id] = now
