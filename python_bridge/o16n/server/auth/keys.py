"""The keys that sign o16n's access tokens, kept in the database so that every node shares them.

Each key has an id (`kid`, carried in the token's header). The newest key signs; older keys still
verify until every token they signed has expired, then they are dropped. A key is added by
`o16n keys rotate`, or by a node when the newest one is older than `signing_key_rotation_days`.
A node reloads the keys when it meets an unknown `kid` (another node rotated) and every minute.
On the first start after an upgrade, the key of the data dir (`signing-key`, from before keys moved
into the database) is imported, so tokens issued before stay valid.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..store.models import SigningKey, utcnow

LEGACY_KID = "data-dir"  # the key imported from DATA_DIR/signing-key; tokens without a kid used it
RELOAD_SECONDS = 60.0


@dataclass(frozen=True)
class Key:
    kid: str
    secret: bytes
    created_at: datetime


class KeyRing:
    def __init__(self, sessions: sessionmaker[Session], data_dir: Path, token_lifetime: int,
                 rotation_days: float) -> None:
        self.sessions = sessions
        self.token_lifetime = token_lifetime
        self.rotation = timedelta(days=rotation_days) if rotation_days > 0 else None
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._loaded_at = 0.0
        self._import_legacy(data_dir / "signing-key")
        self.reload()
        if not self._keys:
            self.rotate()

    def all(self) -> list[Key]:
        return sorted(self._keys.values(), key=lambda k: k.created_at)

    @property
    def signing(self) -> Key:
        """The newest key: the one that signs."""
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self.reload()
        return max(self._keys.values(), key=lambda k: k.created_at)

    def verifying(self, kid: str | None) -> Key | None:
        """The key with this id (reloaded once if unknown: another node may have rotated)."""
        kid = kid or LEGACY_KID
        key = self._keys.get(kid)
        if key is None:
            self.reload()
            key = self._keys.get(kid)
        return key

    def reload(self) -> None:
        with self._lock, self.sessions.begin() as db:
            if self.rotation and self._newest_age(db) > self.rotation:
                self._add(db)
            self._prune(db)
            rows = db.scalars(select(SigningKey)).all()
            self._keys = {r.kid: Key(r.kid, bytes.fromhex(r.secret), r.created_at) for r in rows}
            self._loaded_at = time.monotonic()

    def rotate(self) -> str:
        """Add a new signing key; returns its id. Tokens signed with older keys stay valid."""
        with self.sessions.begin() as db:
            kid = self._add(db)
        self.reload()
        return kid

    def _add(self, db: Session) -> str:
        kid = secrets.token_hex(8)
        db.add(SigningKey(kid=kid, secret=secrets.token_bytes(32).hex(), created_at=utcnow()))
        db.flush()
        return kid

    def _newest_age(self, db: Session) -> timedelta:
        newest = db.scalar(select(SigningKey.created_at).order_by(SigningKey.created_at.desc()).limit(1))
        return utcnow() - newest if newest else timedelta.max

    def _prune(self, db: Session) -> None:
        """Drop keys that stopped signing longer ago than a token lives (none of their tokens is valid)."""
        rows = db.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
        lifetime = timedelta(seconds=self.token_lifetime + 300)  # a margin for clock skew
        for older, newer in zip(rows, rows[1:]):
            if utcnow() - newer.created_at > lifetime:
                db.execute(delete(SigningKey).where(SigningKey.kid == older.kid))

    def _import_legacy(self, path: Path) -> None:
        if not path.is_file():
            return
        secret = path.read_text().strip()
        try:
            with self.sessions.begin() as db:
                if db.get(SigningKey, LEGACY_KID) is None:
                    db.add(SigningKey(kid=LEGACY_KID, secret=secret, created_at=utcnow()))
        except IntegrityError:
            pass  # another node imported it at the same moment
        path.unlink()  # the database has it now; no copy stays on disk
