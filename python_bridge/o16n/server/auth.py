"""Who is calling: password hashing, signed access tokens, rotating refresh tokens, roles.

Access tokens are HS256 JWTs signed with a key kept in the data dir (mode 0600), so several
nodes that share the data dir (or a copy of the key) accept each other's tokens. Each token
carries the id of its grant; a grant is one access/refresh pair. Refreshing revokes the old
grant and issues a new one, revoking a refresh token revokes its grant: either way the old
access token stops working too, because every request checks its grant (cached briefly).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .errors import ApiError
from .store.models import Grant, User, utcnow

ROLES = ("Owner", "Contributor", "Reader")
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user like that of a known one.
_DUMMY_HASH = _hasher.hash("o16n-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def load_signing_key(data_dir: Path) -> bytes:
    """Read the token signing key, creating it (0600) on first start."""
    path = data_dir / "signing-key"
    if not path.exists():
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.hex().encode())
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    role: str
    grant_id: str

    @property
    def is_owner(self) -> bool:
        return self.role == "Owner"

    @property
    def can_publish(self) -> bool:
        return self.role in ("Owner", "Contributor")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message)


def _hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.key = load_signing_key(settings.data_dir)
        # grant id -> (checked at, Caller or None). Keeps the DB off the hot path of consume.
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._verified: dict[str, tuple[str, float]] = {}  # Authorization header -> (grant id, exp)
        self._revoked_here: dict[str, float] = {}  # grant id -> when this node revoked it

    # --- issuing -------------------------------------------------------------------------
    def login(self, username: str, password: str) -> dict:
        with self.sessions.begin() as db:
            user = db.scalar(select(User).where(User.username == username))
            if user is None:
                verify_password(_DUMMY_HASH, password)
                raise unauthorized("invalid credentials")
            if not verify_password(user.password_hash, password):
                raise unauthorized("invalid credentials")
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return self._issue(db, user, chain_started_at=utcnow())

    def refresh(self, refresh_token: str) -> dict:
        with self.sessions.begin() as db:
            grant = self._live_grant(db, refresh_token)
            # Conditional, so two refreshes racing with one token cannot both get a new pair.
            taken = db.execute(
                update(Grant).where(Grant.id == grant.id, Grant.revoked.is_(False)).values(revoked=True)
            ).rowcount
            if taken != 1:
                raise unauthorized("invalid or expired refresh token")
            self._forget(grant.id)
            user = db.get(User, grant.user_id)
            if user is None:
                raise unauthorized("invalid or expired refresh token")
            return self._issue(db, user, chain_started_at=grant.chain_started_at)

    def revoke(self, refresh_token: str) -> None:
        with self.sessions.begin() as db:
            grant = self._live_grant(db, refresh_token)
            grant.revoked = True
            self._forget(grant.id)

    def _live_grant(self, db: Session, refresh_token: str) -> Grant:
        grant = db.scalar(select(Grant).where(Grant.refresh_hash == _hash_refresh(refresh_token or "")))
        now = utcnow()
        max_age = timedelta(seconds=self.settings.refresh_token_max_lifetime)
        if grant is None or grant.revoked or grant.expires_at <= now or grant.chain_started_at + max_age <= now:
            raise unauthorized("invalid or expired refresh token")
        return grant

    def _issue(self, db: Session, user: User, chain_started_at: datetime) -> dict:
        now = time.time()
        refresh_token = secrets.token_urlsafe(32)
        grant = Grant(
            id=secrets.token_hex(16),
            user_id=user.id,
            refresh_hash=_hash_refresh(refresh_token),
            chain_started_at=chain_started_at,
            expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_idle_lifetime),
            revoked=False,
        )
        db.add(grant)
        lifetime = self.settings.access_token_lifetime
        claims = {
            "iss": "o16n",
            "sub": user.username,
            "uid": user.id,
            "gid": grant.id,
            "iat": int(now),
            "exp": int(now) + lifetime,
        }
        access_token = jwt.encode(claims, self.key, algorithm="HS256")
        return {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
            "expires_on": int(now) + lifetime,
            "refresh_token": refresh_token,
        }

    # --- checking ------------------------------------------------------------------------
    def verify(self, authorization: str | None) -> str:
        """Check a bearer token's signature and expiry; return its grant id.

        A token seen recently is not checked again until it expires (its signature can't change).
        """
        hit = self._verified.get(authorization or "")
        if hit is not None and hit[1] > time.time():
            return hit[0]
        if not authorization:
            raise unauthorized("this call needs a bearer token: log in with POST /login")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("the Authorization header must be 'Bearer <access_token>'")
        try:
            claims = jwt.decode(
                token.strip(), self.key, algorithms=["HS256"], issuer="o16n", options={"require": ["exp", "gid"]}
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("the access token has expired: refresh it or log in again") from None
        except jwt.PyJWTError:
            raise unauthorized("the access token is not valid") from None
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


# --- users (used by the CLI and first start) ------------------------------------------------
def add_user(db: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or any(c.isspace() for c in username):
        raise ValueError("user names must be non-empty and without spaces")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"user '{username}' already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    db.add(user)
    db.flush()
    return user


def ensure_admin(settings: Settings, sessions: sessionmaker[Session]) -> str | None:
    """Create `admin` (Owner) on first start. Returns where a generated password was written."""
    try:
        return _create_admin(settings, sessions)
    except IntegrityError:
        return None  # another node sharing the database created it at the same moment


def _create_admin(settings: Settings, sessions: sessionmaker[Session]) -> str | None:
    with sessions.begin() as db:
        if db.scalar(select(User).where(User.username == "admin")) is not None:
            return None
        password = os.environ.get("O16N_ADMIN_PASSWORD")
        written = None
        if not password:
            password = secrets.token_urlsafe(18)
            path = settings.data_dir / "admin-password"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            written = str(path)
        add_user(db, "admin", password, "Owner")
        return written
