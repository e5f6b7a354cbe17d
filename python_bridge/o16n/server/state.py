"""The composition root: every part of the server, built once at start-up and closed at shutdown.

Routes reach the domain through it (`state_of(request).catalog`, `.sessions`, ...); nothing else
holds global state.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .artifacts import open_store
from .auth import Authenticator
from .auth.users import ensure_admin
from .cluster.bus import EventBus
from .cluster.nodes import NodeRegistry
from .config import Settings
from .domain.batch import BatchService
from .domain.catalog import ServiceCatalog
from .domain.realtime import RealtimeModels
from .domain.sessions import SessionService
from .domain.snapshots import SnapshotService
from .environments.service import EnvironmentService
from .runtime.node import Runtime
from .store.db import Database, is_current

log = logging.getLogger("o16n")


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        self.db = Database(settings.effective_database_url)
        self.db.prepare(auto_migrate=settings.auto_migrate)
        self.cluster = NodeRegistry(settings, self.db, internal_url(settings))
        self.node = self.cluster.id
        self.node_url = self.cluster.url + "/"
        self.bus = EventBus(self.db, self.node)
        self.admin_password_file = ensure_admin(settings, self.db.sessions)
        self.auth = Authenticator(settings, self.db.sessions)
        self.artifacts = open_store(settings)
        self.runtime = Runtime(settings)  # SandboxUnavailable here if worker_sandbox=required cannot be met
        for warning in self.runtime.sandbox_report()["warnings"]:
            log.warning("worker sandbox: %s", warning)
        self.pools = self.runtime.pools
        self.snapshots = SnapshotService(self.db, self.artifacts)
        self.environments = EnvironmentService(settings, self.db, self.bus, self.node)
        self.catalog = ServiceCatalog(self.db, self.artifacts, self.pools, settings.auth_cache_seconds,
                                      stop_batches=lambda ids: self.batches.forget(ids), bus=self.bus,
                                      environments=self.environments)
        self.catalog.models = RealtimeModels(settings, self.artifacts)  # realtime services (docs/realtime.md)
        self.batches = BatchService(settings, self.db, self.catalog, self.pools, self.artifacts, self.bus, self.node)
        self.sessions = SessionService(settings, self.db, self.runtime.sessions, self.artifacts, self.snapshots,
                                       self.cluster, self.environments)

    async def start(self) -> None:
        await self.cluster.register()
        self.cluster.start()
        self.bus.start()
        await self.environments.start()
        self.runtime.start()
        self.batches.start_sweeping()

    async def ready(self) -> bool:
        """Can this node serve requests? (database reachable, schema current, artifact store reachable)"""

        def check(db: Session) -> bool:
            return db.execute(text("SELECT 1")).scalar() == 1 and is_current(db.connection())

        if self.cluster.draining:  # removed from the cluster by an Owner
            return False
        try:
            return await self.db.run(check) and await run_in_threadpool(self.artifacts.reachable)
        except Exception:
            return False

    async def close(self) -> None:
        await self.cluster.leave()  # before the batches stop: their leases end with the node
        self.bus.close()
        await self.batches.close()
        await self.sessions.close_all()
        await self.environments.close()
        await self.runtime.close()
        self.auth.close()
        self.db.close()


def internal_url(settings: Settings) -> str:
    """How the other nodes reach this one."""
    if settings.node_url:
        return settings.node_url
    host = socket.gethostname() if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.o16n
    return state
