"""Python sessions: a worker process each, owned by the user who created it.

A live session and its database row change together: the row is written once the worker runs and
removed whenever the worker goes (closed, timed out, died). A session whose worker died is Gone
(410): it was that process. Sessions are processes of this node; the node forgets its rows on start.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from ..artifacts import ArtifactStore
from ..cluster.nodes import NodeRegistry
from ..config import Settings
from ..errors import (
    ApiError,
    BadRequest,
    Gone,
    NotFound,
    PayloadTooLarge,
    TimedOut,
    TooManyRequests,
    WorkerFailed,
)
from ..paths import confined_path, open_confined
from ..runtime.factory import WorkerFactory
from ..runtime.placement import Placement, assign
from ..runtime.pools import link_or_copy
from ..runtime.process import WorkerError, WorkerProcess, WorkerTimeout
from ..store.db import Database
from ..store.models import SessionRecord
from .access import Caller
from .requests import ExecuteRequest
from .snapshots import SnapshotService
from .views import ExecuteView, SessionView, SnapshotView

WORKER_CALL_TIMEOUT = 300.0  # object and file operations; execute has its own setting


@dataclass
class LiveSession:
    id: str
    name: str | None
    owner_id: int
    worker: WorkerProcess
    placement: Placement
    history: list[str] = field(default_factory=list)
    last_console: str = ""

    @property
    def workdir(self) -> Path:
        return self.placement.workdir

    @property
    def live_console(self) -> Path:
        """Where the worker writes the console of a running execution as it comes."""
        return self.placement.exchange / "console.txt"


@dataclass(frozen=True)
class Elsewhere:
    """A session that runs on another live node: forward the request to `url`."""

    url: str
    from_node: str


class SessionService:
    def __init__(self, settings: Settings, db: Database, factory: WorkerFactory, artifacts: ArtifactStore,
                 snapshots: SnapshotService, cluster: NodeRegistry) -> None:
        self.settings = settings
        self.db = db
        self.factory = factory
        self.artifacts = artifacts
        self.snapshots = snapshots
        self.cluster = cluster
        self.node = cluster.id
        self.live: dict[str, LiveSession] = {}
        self._starting: dict[int, int] = {}  # owner id -> sessions being started

    # --- lifecycle -------------------------------------------------------------------------
    async def create(self, caller: Caller, name: str | None, snapshot_id: str | None) -> str:
        caller.require_publisher("sessions")
        blob = (await self.snapshots.own(caller, snapshot_id)).blob if snapshot_id else None
        self._check_limits(caller.user_id)
        self._starting[caller.user_id] = self._starting.get(caller.user_id, 0) + 1
        try:
            session = await self._start(caller.user_id, name)
        finally:
            self._starting[caller.user_id] -= 1
        record = SessionRecord(id=session.id, name=name, owner_id=caller.user_id, runtime_type="Python", node=self.node)
        try:
            await self.db.run(lambda db: db.add(record))
        except BaseException:
            await self._end(session, force=True, keep_row=True)
            raise
        self.live[session.id] = session
        if blob:
            await self._load_blob(session, blob, refused=WorkerFailed)
        return session.id

    def _check_limits(self, owner_id: int) -> None:
        node_total = len(self.live) + sum(self._starting.values())
        if node_total >= self.settings.max_sessions:
            raise TooManyRequests(f"this server already runs {self.settings.max_sessions} sessions (max_sessions): "
                                  "close one first", limit="max_sessions")
        mine = sum(1 for s in self.live.values() if s.owner_id == owner_id) + self._starting.get(owner_id, 0)
        if mine >= self.settings.max_sessions_per_user:
            raise TooManyRequests(f"you already have {mine} sessions on this server (max_sessions_per_user is "
                                  f"{self.settings.max_sessions_per_user}): close one first",
                                  limit="max_sessions_per_user")

    async def _start(self, owner_id: int, name: str | None) -> LiveSession:
        try:
            worker = await self.factory.take()
        except WorkerError as exc:
            raise WorkerFailed(f"could not start a Python process: {exc}") from None
        session_id = uuid.uuid4().hex
        placement = Placement.new(self.settings, "sessions", session_id)
        try:
            await assign(worker, self.settings, placement)
        except BaseException:
            worker.kill()
            placement.remove()
            raise
        return LiveSession(session_id, name, owner_id, worker, placement)

    async def list_sessions(self, caller: Caller) -> list[SessionView]:
        for session in [s for s in self.live.values() if s.owner_id == caller.user_id and not s.worker.alive]:
            await self._end(session, force=True)  # died while idle: not a session any more
        query = select(SessionRecord).where(SessionRecord.owner_id == caller.user_id, SessionRecord.gone_reason.is_(None))
        rows = await self.db.run(lambda db: db.scalars(query).all())
        return [SessionView(r, caller.username) for r in rows]

    async def whereabouts(self, caller: Caller, session_id: str) -> Elsewhere | None:
        """Where the caller's session runs when not here; None when here or nowhere (the routes say 404).

        A session whose node stopped is Gone (410), with the reason.
        """
        if session_id in self.live:
            return None
        row = await self.db.run(lambda db: db.get(SessionRecord, session_id))
        if row is None or row.owner_id != caller.user_id or row.node == self.node:
            return None
        if row.gone_reason:
            raise Gone(f"session '{session_id}' is gone: {row.gone_reason}")
        url = await self.cluster.url_of(row.node)
        if url is None:
            raise Gone(f"session '{session_id}' is gone: the node that ran this session stopped")
        return Elsewhere(url, self.node)

    def _find(self, caller: Caller, session_id: str) -> LiveSession:
        """The caller's own session; 404 for anyone else's (no existence leak)."""
        session = self.live.get(session_id)
        if session is None or session.owner_id != caller.user_id:
            raise NotFound(f"session '{session_id}' was not found")
        return session

    async def own(self, caller: Caller, session_id: str) -> LiveSession:
        """The caller's own session with its worker alive; a session whose worker died is Gone."""
        session = self._find(caller, session_id)
        if not session.worker.alive:  # died while idle (out of memory, os._exit in a thread, ...)
            await self._end(session, force=True)
            raise Gone(f"session '{session_id}' is gone: its Python process stopped")
        return session

    async def close(self, caller: Caller, session_id: str, *, force: bool = False) -> None:
        await self._end(self._find(caller, session_id), force=force)

    async def _end(self, session: LiveSession, *, force: bool, keep_row: bool = False) -> None:
        """The worker and the row go together."""
        self.live.pop(session.id, None)
        if force:
            session.worker.kill()
        else:
            await session.worker.close()
        await run_in_threadpool(session.placement.remove)
        if not keep_row:
            await self.db.run(lambda db: db.execute(delete(SessionRecord).where(SessionRecord.id == session.id)))

    async def close_all(self) -> None:
        for session in list(self.live.values()):
            await self._end(session, force=True)

    async def cancel(self, caller: Caller, session_id: str) -> None:
        (await self.own(caller, session_id)).worker.interrupt()

    def counts(self) -> dict[str, int]:
        return {"sessions": len(self.live), "busy": sum(1 for s in self.live.values() if s.worker.busy)}

    # --- talking to the worker ------------------------------------------------------------
    async def _call(self, session: LiveSession, message: dict[str, Any], timeout: float = WORKER_CALL_TIMEOUT,
                    refused: type[ApiError] = BadRequest) -> dict[str, Any]:
        """One worker operation; a dead or hung worker ends the session (410 / 504)."""
        try:
            reply = await session.worker.call(message, timeout=timeout)
        except WorkerTimeout:
            await self._end(session, force=True)
            raise TimedOut(f"the session did not answer within {timeout:g} s and was closed") from None
        except WorkerError as exc:
            await self._end(session, force=True)
            raise Gone(f"the session's Python process is gone: {exc}") from None
        if not reply.get("ok"):  # the worker lives on; `refused` says whose fault it was
            raise refused(str(reply.get("error", "the session could not do that")))
        return reply

    async def execute(self, caller: Caller, session_id: str, request: ExecuteRequest) -> ExecuteView:
        session = await self.own(caller, session_id)
        session.history.append(request.code)
        reply = await self._call(
            session,
            {"op": "execute", "mode": "session", "code": request.code, "inputs": request.inputs,
             "outputs": request.outputs, "live_console": str(session.live_console)},
            timeout=self.settings.execute_timeout, refused=WorkerFailed,
        )
        session.last_console = reply["consoleOutput"]
        return ExecuteView(reply["success"], reply["errorMessage"], reply["consoleOutput"], reply["outputs"],
                           reply["changedFiles"])

    async def console(self, caller: Caller, session_id: str) -> str:
        """The console of the running execution (as far as it got), else of the last one."""
        session = await self.own(caller, session_id)
        if not session.worker.busy:
            return session.last_console
        try:
            return await run_in_threadpool(session.live_console.read_text, "utf-8", "replace")
        except FileNotFoundError:
            return ""

    async def history(self, caller: Caller, session_id: str) -> list[str]:
        return list((await self.own(caller, session_id)).history)

    # --- files of the working directory ---------------------------------------------------
    async def upload(self, caller: Caller, session_id: str, file_name: str, source: Any) -> str:
        session = await self.own(caller, session_id)
        target = confined_path(session.workdir, os.path.basename(file_name), "file")

        def save() -> None:
            fd = open_confined(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(source, handle, 1 << 20)

        await run_in_threadpool(save)
        return target.name

    async def list_files(self, caller: Caller, session_id: str) -> list[str]:
        session = await self.own(caller, session_id)
        return sorted(p.name for p in session.workdir.iterdir() if p.is_file() and not p.is_symlink())

    async def file(self, caller: Caller, session_id: str, file_name: str) -> Path:
        session = await self.own(caller, session_id)
        path = confined_path(session.workdir, file_name)
        if not path.is_file() or path.is_symlink():
            raise NotFound(f"file '{path.name}' was not found in the session")
        return path

    async def delete_file(self, caller: Caller, session_id: str, file_name: str) -> None:
        (await self.file(caller, session_id, file_name)).unlink()

    # --- workspace objects -----------------------------------------------------------------
    async def list_objects(self, caller: Caller, session_id: str) -> list[str]:
        reply = await self._call((await self.own(caller, session_id)), {"op": "list_objects"}, refused=WorkerFailed)
        return list(reply["names"])

    async def get_object(self, caller: Caller, session_id: str, name: str) -> Path:
        """A file with the object's dill bytes, for the route to stream (and then remove)."""
        session = await self.own(caller, session_id)
        # Big models never sit in the server's memory, and the server never looks inside them.
        path = session.placement.exchange_file("object")
        reply = await self._call(session, {"op": "get_object", "name": name, "path": str(path)})
        if not reply.get("found"):
            raise NotFound(f"object '{name}' is not in the session's workspace")
        return path

    async def set_object(self, caller: Caller, session_id: str, name: str, chunks: AsyncIterator[bytes]) -> None:
        session = await self.own(caller, session_id)
        path = session.placement.exchange_file("object")
        try:
            size = await _save_stream(chunks, path, self.settings.max_body_bytes)
            if not size:
                raise BadRequest("send the object as dill bytes in the body (application/octet-stream)", field="body")
            await self._call(session, {"op": "set_object", "name": name, "path": str(path)})
        finally:
            path.unlink(missing_ok=True)

    async def delete_object(self, caller: Caller, session_id: str, name: str) -> None:
        reply = await self._call((await self.own(caller, session_id)), {"op": "delete_object", "name": name})
        if not reply.get("found"):
            raise NotFound(f"object '{name}' is not in the session's workspace")

    # --- snapshots ---------------------------------------------------------------------------
    async def snapshot(self, caller: Caller, session_id: str, name: str | None) -> tuple[SnapshotView, list[Any]]:
        session = await self.own(caller, session_id)
        # The sandboxed worker may write only in its own dirs: it writes the zip into its exchange dir.
        temp = session.placement.exchange_file("snapshot")
        try:
            reply = await self._call(session, {"op": "snapshot", "path": str(temp)}, timeout=3600)
            digest, size = await run_in_threadpool(self.artifacts.put_blob, temp)
        finally:
            temp.unlink(missing_ok=True)
        view = await self.snapshots.create(caller, name, digest, size)
        return view, list(reply.get("skipped", []))

    async def load_snapshot(self, caller: Caller, session_id: str, snapshot_id: str) -> None:
        session = await self.own(caller, session_id)
        snapshot = await self.snapshots.own(caller, snapshot_id)
        await self._load_blob(session, snapshot.blob, refused=BadRequest)

    async def _load_blob(self, session: LiveSession, blob: str, refused: type[ApiError]) -> None:
        """Hand the worker a snapshot through its exchange dir (it cannot read the artifact store)."""
        copy = session.placement.exchange_file("load")
        await run_in_threadpool(link_or_copy, await run_in_threadpool(self.artifacts.blob_path, blob), copy)
        try:
            await self._call(session, {"op": "load_snapshot", "path": str(copy)}, timeout=3600,
                             refused=refused)
        finally:
            copy.unlink(missing_ok=True)


async def _save_stream(chunks: AsyncIterator[bytes], path: Path, limit: int) -> int:
    """Write a request body into `path` (413 past `limit`); returns its size."""
    size = 0
    with open(path, "wb") as handle:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes", field="body")
            await run_in_threadpool(handle.write, chunk)
    return size
