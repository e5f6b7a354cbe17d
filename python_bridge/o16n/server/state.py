"""Everything a request handler needs, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .artifacts import ArtifactStore
from .auth import Caller, TokenService, ensure_admin
from .batch import BatchRunner
from .catalog import SpecCache, spec_of
from .config import Settings
from .domain.specs import ServiceSpec
from .errors import ApiError, not_found
from .runtime.node import Runtime
from .store import db
from .store.models import Service, SessionRecord
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from .routes.sessions import LiveSession

log = logging.getLogger("o16n")
T = TypeVar("T")


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        self.node = f"{socket.gethostname()}:{settings.port}:{settings.data_dir}"
        self.node_url = f"http://{settings.host}:{settings.port}/"
        self.engine = db.make_engine(settings.effective_database_url)
        db.check_integrity(self.engine)
        db.migrate(self.engine)
        self.sessions_db = db.session_factory(self.engine)
        self.admin_password_file = ensure_admin(settings, self.sessions_db)
        self.tokens = TokenService(settings, self.sessions_db)
        self.login_throttle = LoginThrottle(settings.login_attempts, settings.login_window)
        self.artifacts = ArtifactStore(settings.data_dir / "artifacts")
        self.runtime = Runtime(settings)
        for warning in self.runtime.sandbox_report()["warnings"]:
            log.warning("worker sandbox: %s", warning)
        self.session_workers = self.runtime.sessions
        self.live_sessions: dict[str, LiveSession] = {}
        self.pools = self.runtime.pools
        self.catalog = SpecCache(settings.auth_cache_seconds)
        self.batches = BatchRunner(self)
        # Sessions are processes: the ones this node held before a restart are gone.
        with self.sessions_db.begin() as session:
            session.execute(delete(SessionRecord).where(SessionRecord.node == self.node))

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction on a worker thread (the event loop never waits on SQL)."""

        def run() -> T:
            with self.sessions_db.begin() as session:
                return work(session)

        return await run_in_threadpool(run)

    async def caller(self, request: Request) -> Caller:
        """Who is calling; 401 unless a valid, unrevoked bearer token came with the request."""
        grant_id = self.tokens.verify(request.headers.get("authorization"))
        caller = self.tokens.cached_caller(grant_id)
        if caller is False:
            caller = await run_in_threadpool(self.tokens.lookup_caller, grant_id)
        if not caller:
            raise ApiError(401, "the access token was revoked: log in again")
        return caller

    async def service_spec(self, name: str, version: str) -> ServiceSpec:
        """The definition consume needs, from the short-lived cache or the database; 404 if none."""
        spec = self.catalog.get(name, version)
        if spec is False:

            def load(db: Session) -> ServiceSpec | None:
                service = db.scalar(select(Service).where(Service.name == name, Service.version == version))
                if service is None:
                    return None
                return spec_of(service, str(self.artifacts.path(service.blob)) if service.blob else None)

            spec = await self.db(load)
            self.catalog.put(name, version, spec)
        if spec is None:
            raise not_found(f"web service '{name}' version '{version}' was not found")
        return spec

    async def close(self) -> None:
        await self.batches.close()
        self.live_sessions.clear()
        await self.runtime.close()
        self.engine.dispose()


def state_of(request: Request) -> ServerState:
    return request.app.state.o16n
