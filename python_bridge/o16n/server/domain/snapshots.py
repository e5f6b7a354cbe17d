"""Snapshots: a session's objects and files frozen into one blob, owned by their creator alone."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..artifacts import ArtifactStore
from ..errors import NotFound
from ..store.db import Database
from ..store.models import Snapshot
from .access import Caller
from .blobs import blob_unused
from .views import SnapshotView


class SnapshotService:
    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self.db = db
        self.artifacts = artifacts

    async def list_snapshots(self, caller: Caller) -> list[SnapshotView]:
        rows = await self.db.run(lambda db: db.scalars(select(Snapshot).where(Snapshot.owner_id == caller.user_id)).all())
        return [SnapshotView(s, caller.username) for s in rows]

    async def own(self, caller: Caller, snapshot_id: str) -> Snapshot:
        """The caller's snapshot; 404 for anyone else's (no existence leak)."""
        snapshot = await self.db.run(lambda db: db.get(Snapshot, snapshot_id))
        if snapshot is None or snapshot.owner_id != caller.user_id:
            raise NotFound(f"snapshot '{snapshot_id}' was not found")
        return snapshot

    async def content(self, caller: Caller, snapshot_id: str) -> tuple[Snapshot, Path]:
        snapshot = await self.own(caller, snapshot_id)
        return snapshot, await run_in_threadpool(self.artifacts.blob_path, snapshot.blob)

    async def create(self, caller: Caller, name: str | None, digest: str, size: int) -> SnapshotView:
        """Record a blob already in the artifact store as a new snapshot of the caller."""
        snapshot = Snapshot(id=str(uuid.uuid4()), name=name, owner_id=caller.user_id, blob=digest, content_size=size)
        await self.db.run(lambda db: db.add(snapshot))
        return SnapshotView(snapshot, caller.username)

    async def delete(self, caller: Caller, snapshot_id: str) -> None:
        snapshot = await self.own(caller, snapshot_id)

        def remove(db: Session) -> bool:
            db.query(Snapshot).filter_by(id=snapshot.id).delete()
            return blob_unused(db, snapshot.blob)

        if await self.db.run(remove):
            await run_in_threadpool(self.artifacts.delete_blob, snapshot.blob)
