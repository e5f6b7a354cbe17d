"""Snapshot blobs are shared: by snapshots and by the services published from them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Service, Snapshot


def blob_unused(db: Session, blob: str) -> bool:
    """True when no snapshot and no service refers to this blob any more."""
    in_snapshots = db.scalar(select(Snapshot.id).where(Snapshot.blob == blob).limit(1))
    in_services = db.scalar(select(Service.id).where(Service.blob == blob).limit(1))
    return in_snapshots is None and in_services is None
