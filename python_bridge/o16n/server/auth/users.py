"""Local users: created by the CLI and on first start; changes that matter end the user's tokens.

Directory users (auth/accounts.py) may be listed and removed here, not given a password or a role.
"""

from __future__ import annotations

import os
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..domain.access import ROLES
from ..store.models import Counter, Grant, Service, User
from .passwords import hash_password


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


def _revoke_grants(db: Session, user: User) -> None:
    # Other nodes refuse the access tokens of these grants within their auth cache time.
    db.execute(update(Grant).where(Grant.user_id == user.id).values(revoked=True))


def _next_user_id(db: Session) -> int:
    """A user id never handed out before (locked, so two nodes adding users at once get two ids)."""
    counter = db.get(Counter, "users", with_for_update=True)
    if counter is None:  # a database made by the first migration's tests, or emptied by hand
        counter = Counter(name="users", last=db.scalar(select(func.max(User.id))) or 0)
        db.add(counter)
    counter.last += 1
    db.flush()
    return counter.last


def find(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user '{username}'")
    return user


def add_user(db: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 200 or any(c.isspace() or ord(c) < 32 for c in username):
        raise UserError("user names must be 1-200 characters without spaces or control characters")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user '{username}' already exists")
    user = User(id=_next_user_id(db), username=username, password_hash=hash_password(password), role=role)
    db.add(user)
    db.flush()
    return user


def _local(user: User) -> User:
    if user.provider != "local":
        raise UserError(f"'{user.username}' signs in through {user.provider}: their password and role come from "
                        "there (the role from the groups in O16N_AUTH_ROLES)")
    return user


def set_role(db: Session, username: str, role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    user = _local(find(db, username))
    user.role = role
    _revoke_grants(db, user)  # the new role applies at once, not at the next login


def set_password(db: Session, username: str, password: str) -> None:
    user = _local(find(db, username))
    user.password_hash = hash_password(password)
    _revoke_grants(db, user)  # whoever held the old password holds no token either


def remove(db: Session, username: str) -> None:
    user = find(db, username)
    published = db.scalar(select(func.count()).select_from(Service).where(Service.publisher_id == user.id))
    if published:
        # Published services are never dropped as a side effect: their owner decides.
        raise UserError(f"'{username}' has published {published} service version(s): delete them first")
    _revoke_grants(db, user)
    db.delete(user)


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
