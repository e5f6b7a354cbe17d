"""The domain side of environments: their rows, one build per key, publishes that wait for it,
who uses what, deleting and pruning (docs/environments.md).

The row (`environments` table) is shared by every node; the directory is each node's own
(`Builder`). A node that needs an environment it lacks builds it from the row's spec. On this node
one build per key runs at a time (`_tasks`): concurrent publishes of one key await the same task.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..cluster.bus import Event, EventBus
from ..config import Settings
from ..domain.access import Caller
from ..domain.specs import EnvironmentRef
from ..domain.views import iso
from ..errors import Conflict, Forbidden, NotFound
from ..store.db import Database
from ..store.models import Environment, Node, Service, SessionRecord, utcnow
from .builder import Builder, BuildFailed
from .spec import EnvironmentRefused, EnvironmentSpec, normalize_name

log = logging.getLogger("o16n.environments")
TOUCH_EVERY = 600.0  # seconds between two last-used updates of one environment by this node


def _utc(moment: datetime | None) -> str | None:
    return iso(moment) + "Z" if moment is not None else None


@dataclass(frozen=True)
class EnvironmentView:
    row: Environment
    state: str  # as this node sees it: a ready row this node is still building is "building"
    progress: str | None
    services: list[dict[str, str]] = field(default_factory=list)
    sessions: int = 0

    def to_json(self) -> dict[str, Any]:
        r = self.row
        return {
            "key": r.key, "python": r.python, "packages": list(r.packages or []), "state": self.state,
            "progress": self.progress, "message": r.message if self.state == "failed" else None,
            "pythonVersion": r.python_version, "sizeBytes": r.size_bytes, "buildSeconds": r.build_seconds,
            "services": self.services, "createdAt": _utc(r.created_at), "lastUsedAt": _utc(r.last_used_at),
        }

    def summary(self) -> dict[str, Any]:
        """The `/status` line."""
        r = self.row
        return {"key": r.key, "python": r.python, "packageCount": len(r.packages or []), "sizeBytes": r.size_bytes,
                "state": self.state, "services": self.services}


def server_environment() -> dict[str, Any]:
    """What a service without an environment runs with: this server's Python and distributions."""
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata is not None else None
        if name:
            packages.setdefault(normalize_name(name), dist.version)
    return {"python": platform.python_version(), "packages": dict(sorted(packages.items()))}


class EnvironmentService:
    def __init__(self, settings: Settings, db: Database, bus: EventBus, node_id: str) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.node = node_id
        self.builder = Builder(settings)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._progress: dict[str, str] = {}
        self._pinned: Counter[str] = Counter()  # publishes and session starts using a key right now
        self._touched: dict[str, float] = {}
        self._refs: dict[str, EnvironmentRef] = {}
        self._closing = False
        self._discovery: asyncio.Task[list[tuple[str, str]]] | None = None
        bus.subscribe(self._on_event)

    # --- start-up ------------------------------------------------------------------------
    async def start(self) -> None:
        """Clean up after a server that died mid-build, and build again what it left "building"."""
        await asyncio.to_thread(self.builder.remove_stale)
        live_nodes_after = utcnow() - timedelta(seconds=self.settings.node_dead_after)

        def stale(db: Session) -> list[EnvironmentSpec]:
            live = set(db.scalars(select(Node.id).where(Node.state.in_(("live", "draining")),
                                                        Node.heartbeat_at >= live_nodes_after)).all())
            rows = db.scalars(select(Environment).where(Environment.state == "building")).all()
            found = []
            for row in rows:
                if row.builder == self.node or row.builder not in live:
                    row.builder = self.node
                    found.append(EnvironmentSpec(row.python, tuple(row.packages)))
            return found

        # Finding the interpreters takes uv a second or two: once now, not in the first publish.
        self._discovery = asyncio.get_running_loop().create_task(asyncio.to_thread(self.builder.pythons))
        for spec in await self.db.run(stale):
            log.warning("environment %s was left half-built by a stopped server: building it again", spec.key[:16])
            self._launch(spec)

    # --- asking for one ------------------------------------------------------------------------
    async def request(self, caller: Caller, spec: EnvironmentSpec) -> tuple[EnvironmentView, bool]:
        """POST /environments: start the build (if needed); (view, ready already)."""
        caller.require_publisher("building environments")
        ready = await self._begin(spec)
        return await self.get(spec.key), ready

    async def ensure(self, spec: EnvironmentSpec) -> EnvironmentRef:
        """For a publish or a session: wait for the environment on this node; a failed build is a
        400 with the resolver's message (field `environment`). Call inside `pinned(key)`."""
        if not await self._begin(spec):
            task = self._tasks.get(spec.key)
            if task is not None:
                await asyncio.shield(task)
        if not self.builder.complete(spec.key):
            message = await self.db.run(lambda db: (row.message if (row := db.get(Environment, spec.key)) else None))
            raise EnvironmentRefused(message or "the environment could not be built")
        await self._touch(spec.key, force=True)
        return self._ref(spec.key)

    @contextlib.asynccontextmanager
    async def pinned(self, key: str) -> Any:
        """Keeps `key` from being pruned while a publish or a session start is on its way."""
        self._pinned[key] += 1
        try:
            yield
        finally:
            self._pinned[key] -= 1
            if self._pinned[key] <= 0:
                del self._pinned[key]

    async def local(self, key: str) -> EnvironmentRef:
        """The environment of a published service on this node, built here first if this node lacks it."""
        if self.builder.complete(key):
            await self._touch(key)
            return self._ref(key)
        row = await self.db.run(lambda db: db.get(Environment, key))
        if row is None:
            raise EnvironmentRefused(f"the service's environment {key[:16]} no longer exists")
        return await self.ensure(EnvironmentSpec(row.python, tuple(row.packages)))

    def needs_build(self, key: str | None) -> bool:
        return key is not None and not self.builder.complete(key)

    async def _begin(self, spec: EnvironmentSpec) -> bool:
        """True if ready on this node; else a build of it runs on this node (started here if needed)."""
        try:
            await asyncio.to_thread(self.builder.check_python, spec.python)
        except BuildFailed as exc:
            raise EnvironmentRefused(exc.message) from None
        key = spec.key

        def upsert(db: Session) -> str:
            row = db.get(Environment, key)
            if row is None:
                db.add(Environment(key=key, python=spec.python, packages=list(spec.packages), state="building",
                                   builder=self.node))
                return "building"
            if row.state == "failed" or (row.state == "ready" and not self.builder.complete(key)):
                if row.state == "failed":  # asked again: maybe the index is back, or a wheel appeared
                    row.state, row.message, row.builder = "building", None, self.node
            return row.state

        if self.builder.complete(key) and key not in self._tasks:
            await self.db.run(upsert)  # a row for an environment built before (or by `o16n envs prune` removed)
            return True
        await self.db.run(upsert)
        self._launch(spec)
        return False

    def _launch(self, spec: EnvironmentSpec) -> None:
        if spec.key in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._build(spec))
        self._tasks[spec.key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(spec.key, None))

    async def _build(self, spec: EnvironmentSpec) -> None:
        key = spec.key
        self._progress[key] = f"building environment: {len(spec.packages)} packages"

        def progress(text: str) -> None:
            self._progress[key] = text

        try:
            built = await asyncio.to_thread(self.builder.build, spec, progress)
        except BuildFailed as exc:
            log.warning("environment %s failed to build: %s", key[:16], exc.message.splitlines()[-1] if exc.message else "")
            await self._finish(key, "failed", message=exc.message)
        except Exception as exc:  # never leave the row "building" behind a live node
            log.exception("environment %s failed to build", key[:16])
            await self._finish(key, "failed", message=f"the environment could not be built: {exc}")
        else:
            log.info("environment %s built in %.1f s (%d bytes)", key[:16], built.build_seconds, built.size_bytes)
            await self._finish(key, "ready", python_version=built.python_version, size=built.size_bytes,
                               seconds=built.build_seconds)
            with contextlib.suppress(Exception):
                await self.prune_to_bound(keep=key)
        finally:
            self._progress.pop(key, None)

    async def _finish(self, key: str, state: str, *, message: str | None = None, python_version: str | None = None,
                      size: int | None = None, seconds: float | None = None) -> None:
        def write(db: Session) -> None:
            row = db.get(Environment, key)
            if row is None:
                return
            if state == "failed" and row.state == "ready":
                return  # another node has it: this node's failure is its own (the caller gets the message)
            row.state, row.builder = state, None
            if state == "failed":
                row.message = message
            else:
                row.message = None
                row.python_version = python_version or row.python_version
                row.size_bytes, row.build_seconds = size, seconds if row.build_seconds is None else row.build_seconds
                row.last_used_at = utcnow()

        if self._closing:
            return  # stopped mid-build: the row stays "building", and the next start builds it again
        await self.db.run(write)

    def _ref(self, key: str) -> EnvironmentRef:
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = self.builder.ref(key)
        return ref

    async def _touch(self, key: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._touched.get(key, -TOUCH_EVERY) < TOUCH_EVERY:
            return
        self._touched[key] = now

        def write(db: Session) -> None:
            row = db.get(Environment, key)
            if row is not None:
                row.last_used_at = utcnow()

        with contextlib.suppress(Exception):
            await self.db.run(write)

    # --- reading -------------------------------------------------------------------------
    def _view(self, row: Environment, users: dict[str, list[dict[str, str]]], sessions: Counter[str]) -> EnvironmentView:
        state = row.state
        progress = self._progress.get(row.key)
        if row.key in self._tasks:
            state = "building"
            progress = progress or "building environment"
        elif state == "ready" and not self.builder.complete(row.key):
            progress = "not built on this node yet"
        return EnvironmentView(row, state, progress if state == "building" else None, users.get(row.key, []),
                               sessions.get(row.key, 0))

    def _users(self, db: Session) -> tuple[dict[str, list[dict[str, str]]], Counter[str]]:
        users: dict[str, list[dict[str, str]]] = {}
        for name, version, key in db.execute(select(Service.name, Service.version, Service.environment_key)
                                             .where(Service.environment_key.is_not(None))
                                             .order_by(Service.name, Service.created_at)).all():
            users.setdefault(str(key), []).append({"name": name, "version": version})
        sessions = Counter(str(k) for k in db.scalars(select(SessionRecord.environment_key).where(
            SessionRecord.environment_key.is_not(None), SessionRecord.gone_reason.is_(None))).all())
        return users, sessions

    async def list_all(self) -> list[EnvironmentView]:
        def read(db: Session) -> list[EnvironmentView]:
            users, sessions = self._users(db)
            rows = db.scalars(select(Environment).order_by(Environment.created_at)).all()
            return [self._view(r, users, sessions) for r in rows]

        return await self.db.run(read)

    async def get(self, key: str) -> EnvironmentView:
        def read(db: Session) -> EnvironmentView | None:
            row = db.get(Environment, key)
            if row is None:
                return None
            users, sessions = self._users(db)
            return self._view(row, users, sessions)

        view = await self.db.run(read)
        if view is None:
            raise NotFound(f"environment '{key}' was not found")
        return view

    async def describe(self, keys: set[str]) -> dict[str, dict[str, Any]]:
        """{key: {key, python, packages}} for the service views."""
        if not keys:
            return {}
        rows = await self.db.run(lambda db: db.scalars(select(Environment).where(Environment.key.in_(keys))).all())
        return {r.key: {"key": r.key, "python": r.python, "packages": list(r.packages or [])} for r in rows}

    # --- removing ------------------------------------------------------------------------
    async def delete(self, caller: Caller, key: str) -> None:
        if not caller.is_owner:
            raise Forbidden("deleting an environment needs the Owner role")
        view = await self.get(key)
        if view.services or view.sessions:
            users = [f"{s['name']}/{s['version']}" for s in view.services]
            what = f"services {', '.join(users)}" if users else f"{view.sessions} session(s)"
            raise Conflict(f"environment {key[:16]} is in use by {what}")
        if view.state == "building" or self._pinned.get(key):
            raise Conflict(f"environment {key[:16]} is being built or used by a publish right now")
        await self._remove([key])

    async def _remove(self, keys: list[str]) -> None:
        await self.db.run(lambda db: db.execute(delete(Environment).where(Environment.key.in_(keys))))
        for key in keys:
            await self.bus.publish({"kind": "environment", "key": key, "deleted": True})

    async def _on_event(self, event: Event) -> None:
        if event.get("kind") != "environment" or not event.get("deleted"):
            return
        key = str(event.get("key"))
        if key in self._tasks or self._pinned.get(key):
            return
        self._refs.pop(key, None)
        await asyncio.to_thread(self.builder.remove, key)

    async def prune(self, *, keep: str | None = None, max_bytes: int | None = None) -> list[str]:
        """Remove environments no service or session uses: all of them, or (with `max_bytes`) least
        recently used first until this node's environments fit. Returns the keys removed."""
        # Used this recently: never pruned by the bound (a publish on another node may be on its way).
        recent = utcnow() - timedelta(seconds=self.settings.environments_min_idle_seconds)

        def choose(db: Session) -> list[str]:
            users, sessions = self._users(db)
            rows = db.scalars(select(Environment).order_by(Environment.last_used_at)).all()
            unused = [r for r in rows if r.key not in users and not sessions.get(r.key) and r.key != keep
                      and r.key not in self._tasks and not self._pinned.get(r.key) and r.state != "building"]
            if max_bytes is None:
                return [r.key for r in unused]
            local = set(self.builder.local_keys())
            total = sum(r.size_bytes or 0 for r in rows if r.key in local)
            chosen = []
            for r in unused:
                if total <= max_bytes:
                    break
                if r.key in local and r.last_used_at < recent:
                    chosen.append(r.key)
                    total -= r.size_bytes or 0
            return chosen

        keys = await self.db.run(choose)
        if keys:
            log.info("pruning environments %s", ", ".join(k[:16] for k in keys))
            await self._remove(keys)
        return keys

    async def prune_to_bound(self, keep: str | None = None) -> list[str]:
        limit = self.settings.environments_max_bytes
        return await self.prune(keep=keep, max_bytes=limit) if limit > 0 else []

    async def close(self) -> None:
        """Stop builds in progress (their uv processes are killed; their rows stay "building")."""
        self._closing = True
        self.builder.abort()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
