"""Rows for directory and identity-provider users: made at first sign-in, kept up to date after.

A directory user is found again by (provider, external id), never by name: a renamed account keeps
its services, and a new account that takes an old name does not get them. Ids come from the same
never-reused counter as local users. The user name shown in listings (`versionPublishedBy`, the
owner of a snapshot) is the provider's name for the user, qualified when a local user has it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import User, utcnow
from .providers import Identity
from .roles import RoleDecision
from .users import _next_user_id


def role_source(identity: Identity, decision: RoleDecision, claim: str | None = None) -> str:
    """Where a directory user's role came from, for `/users/me` and `o16n users list`."""
    where = f"claim {claim}" if claim else "group"
    return f"{identity.provider} {where} {decision.group}"


def find_external(db: Session, provider: str, external_id: str) -> User | None:
    return db.scalar(select(User).where(User.provider == provider, User.external_id == external_id))


def _free_username(db: Session, identity: Identity) -> str:
    base = (identity.name or identity.external_id)[:180]
    for candidate in (base, f"{base}@{identity.provider}", *(f"{base}@{identity.provider}.{n}" for n in range(2, 100))):
        if db.scalar(select(User.id).where(User.username == candidate)) is None:
            return candidate
    return f"{identity.provider}:{identity.external_id}"[:200]


def record_sign_in(db: Session, identity: Identity, role: str, source: str, checked_at: datetime | None = None) -> User:
    """Create or update the user row of someone the provider just vouched for (role already decided).

    Raises IntegrityError when another node created the same user at the same moment: retry.
    """
    user = find_external(db, identity.provider, identity.external_id)
    if user is None:
        user = User(id=_next_user_id(db), username=_free_username(db, identity), password_hash="",
                    provider=identity.provider, external_id=identity.external_id)
        db.add(user)
    user.role = role
    user.role_source = source
    user.external_name = identity.name
    user.display_name = identity.display_name or identity.name
    user.role_checked_at = checked_at or utcnow()
    db.flush()
    return user


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else None


def describe(user: User) -> dict[str, object]:
    """One user as GET /users/me and GET /users show them."""
    local = user.provider == "local"
    return {
        "id": user.id,
        "username": user.username,
        "displayName": user.display_name or user.username,
        "role": user.role,
        "provider": user.provider,
        "roleSource": "assigned locally (o16n users set-role)" if local else user.role_source,
        "externalId": user.external_id,
        "lastRoleCheck": _iso(user.role_checked_at),
        "createdAt": _iso(user.created_at),
    }


def all_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.provider != "local", User.username)))
