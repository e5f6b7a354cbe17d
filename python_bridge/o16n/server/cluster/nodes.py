"""The node registry: every node's row (id, internal URL, started, last heartbeat, capacity).

A node writes its heartbeat every `node_heartbeat_seconds`; any live node declares a node whose
heartbeat is older than `node_dead_after` dead: its sessions become Gone (the next call to one
answers 410) and its batch executions' leases are freed, so that the sweeper of a live node takes
them over at once. An Owner may remove a node (`DELETE /computenodes`): it then drains (its
readiness fails, so balancers stop sending it work) and counts as dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..config import Settings
from ..store.db import Database
from ..store.models import BatchExecution, Node, SessionRecord, utcnow

log = logging.getLogger("o16n.cluster")


@dataclass(frozen=True)
class NodeView:
    id: str
    url: str
    state: str  # live | draining | dead | expected
    started_at: datetime | None
    heartbeat_at: datetime | None
    capacity: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str:
            return moment.isoformat(timespec="seconds") if moment else ""

        return {"id": self.id, "url": self.url, "state": self.state, "startedAt": iso(self.started_at),
                "heartbeatAt": iso(self.heartbeat_at), "capacity": self.capacity}


class NodeRegistry:
    def __init__(self, settings: Settings, db: Database, url: str) -> None:
        self.settings = settings
        self.db = db
        self.id = uuid.uuid4().hex  # a restarted node is a new node: its old processes are gone
        self.url = url.rstrip("/")
        self.draining = False
        self._task: asyncio.Task[None] | None = None
        self.dead_after = timedelta(seconds=settings.node_dead_after)

    def capacity(self) -> dict[str, Any]:
        s = self.settings
        return {"maxWorkers": s.max_workers, "maxSessions": s.max_sessions, "poolMaxSize": s.pool_max_size}

    async def register(self) -> None:
        """Write this node's row; earlier incarnations at the same URL are dead (a restart)."""

        def write(db: Session) -> None:
            now = utcnow()
            previous = db.scalars(select(Node.id).where(Node.url == self.url, Node.state.in_(("live", "draining")))).all()
            _declare_dead(db, list(previous), "restarted")
            expected = db.scalar(select(Node).where(Node.url == self.url, Node.state == "expected"))
            if expected is not None:
                db.delete(expected)  # an Owner listed this URL before the node came up
            db.add(Node(id=self.id, url=self.url, state="live", started_at=now, heartbeat_at=now,
                        capacity=self.capacity()))

        await self.db.run(write)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.node_heartbeat_seconds)
            with contextlib.suppress(Exception):  # the database may be away for a moment
                await self.db.run(self._heartbeat)
                await self.db.run(self._sweep_dead)

    def _heartbeat(self, db: Session) -> None:
        row = db.get(Node, self.id)
        if row is None or row.state == "dead":  # removed by an Owner (or declared dead while we stalled)
            if not self.draining:
                log.warning("this node was removed from the cluster: draining")
            self.draining = True
            return
        row.heartbeat_at = utcnow()

    def _sweep_dead(self, db: Session) -> None:
        horizon = utcnow() - self.dead_after
        silent = db.scalars(select(Node.id).where(Node.state.in_(("live", "draining")), Node.heartbeat_at < horizon,
                                                  Node.id != self.id).with_for_update(skip_locked=True)).all()
        if silent:
            log.warning("nodes %s stopped heart-beating: their sessions are gone, their batches move", silent)
            _declare_dead(db, list(silent), "stopped")
        # A day later nobody asks for those sessions any more: forget them with their node.
        forgotten = db.scalars(select(Node.id).where(Node.state == "dead",
                                                     Node.heartbeat_at < utcnow() - timedelta(days=1))).all()
        if forgotten:
            db.execute(delete(SessionRecord).where(SessionRecord.node.in_(forgotten)))
            db.execute(delete(Node).where(Node.id.in_(forgotten)))

    async def nodes(self) -> list[NodeView]:
        def read(db: Session) -> list[NodeView]:
            rows = db.scalars(select(Node).where(Node.state != "dead").order_by(Node.started_at)).all()
            return [NodeView(r.id, r.url, r.state, r.started_at, r.heartbeat_at, r.capacity or {}) for r in rows]

        return await self.db.run(read)

    async def url_of(self, node_id: str) -> str | None:
        """The internal URL of a live node, None if it is not alive."""
        def read(db: Session) -> str | None:
            row = db.get(Node, node_id)
            return row.url if row is not None and row.state in ("live", "draining") else None

        return await self.db.run(read)

    async def set_expected(self, urls: list[str], *, replace: bool) -> None:
        """9.3's POST (replace) / PUT (add) /computenodes: URLs that should be nodes of the cluster."""
        wanted = {u.rstrip("/") for u in urls}

        def write(db: Session) -> None:
            known = {r.url: r for r in db.scalars(select(Node).where(Node.state != "dead")).all()}
            if replace:
                gone = [r.id for url, r in known.items() if url not in wanted]
                _declare_dead(db, gone, "removed by an Owner")
                db.query(Node).filter(Node.id.in_(gone), Node.state == "expected").delete()
            for url in wanted - set(known):
                db.add(Node(id=uuid.uuid4().hex, url=url, state="expected", capacity={}))

        await self.db.run(write)

    async def remove(self, urls: list[str]) -> None:
        """9.3's DELETE /computenodes: those nodes leave (they drain; their sessions are gone)."""
        unwanted = {u.rstrip("/") for u in urls}

        def write(db: Session) -> None:
            rows = db.scalars(select(Node).where(Node.url.in_(unwanted), Node.state != "dead")).all()
            _declare_dead(db, [r.id for r in rows if r.state != "expected"], "removed by an Owner")
            for row in rows:
                if row.state == "expected":
                    db.delete(row)

        await self.db.run(write)

    async def leave(self) -> None:
        """A clean stop: this node's sessions end with it and its batches move on now, not after a timeout."""
        if self._task is not None:
            self._task.cancel()
        with contextlib.suppress(Exception):
            await self.db.run(lambda db: _declare_dead(db, [self.id], "stopped"))


def _declare_dead(db: Session, node_ids: list[str], reason: str) -> None:
    if not node_ids:
        return
    db.execute(update(Node).where(Node.id.in_(node_ids)).values(state="dead"))
    db.execute(update(SessionRecord).where(SessionRecord.node.in_(node_ids), SessionRecord.gone_reason.is_(None))
               .values(gone_reason=f"the node that ran this session {reason}"))
    # Leases of a dead node end now: any live node's sweeper takes the executions over.
    db.execute(update(BatchExecution).where(BatchExecution.lease_node.in_(node_ids))
               .values(lease_until=None, lease_node=None))
