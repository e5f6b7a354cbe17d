"""Python sessions: a sandboxed worker process each, owned by the user who created it.

A live session and its database row change together: the row is written once the worker runs and
removed whenever the worker goes (closed, timed out, died). A session whose worker died is Gone
(410): it was that process. Sessions are processes of one node: a request for a session of another
node is forwarded there (`forwarding.py`, which asks `whereabouts`); one of a node that stopped is Gone.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from ..artifacts import ArtifactStore
from ..cluster.nodes import NodeRegistry
from ..config import Settings
from ..environments.spec import EnvironmentSpec
from ..errors import (
    ApiError,
    BadRequest,
    Gone,
    NotFound,
    PayloadTooLarge,
    TimedOut,
    TooManyRequests,
    Unavailable,
    WorkerFailed,
)
from ..runtime.client import WorkerClient
from ..runtime.errors import (
    PoolBusy,
    SandboxUnavailable,
    SessionLimitReached,
    TooLarge,
    UserCodeError,
    WorkerError,
    WorkerTimeout,
)
from ..runtime.files import WorkerFile, check_name
from ..runtime.sessions import SessionWorkers
from ..store.db import Database
from ..store.models import SessionRecord
from .access import Caller
from .requests import ExecuteRequest
from .snapshots import SnapshotService
from .specs import EnvironmentRef
from .views import ExecuteView, SessionView, SnapshotView

if TYPE_CHECKING:
    from ..environments.service import EnvironmentService

T = TypeVar("T")


@dataclass
class LiveSession:
    """A live session of this node: its worker and what the API shows about it."""

    id: str
    name: str | None
    owner_id: int
    worker: WorkerClient
    history: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Elsewhere:
    """A session that runs on another live node: forward the request to `url`."""

    url: str
    from_node: str


def file_name(name: str, field_name: str = "fileName") -> str:
    """A plain file name of a session's working directory, or a 400 naming the field."""
    try:
        return check_name(name)
    except ValueError:
        raise BadRequest(f"'{field_name}' must be a plain file name without path separators", field=field_name) from None


class SessionService:
    def __init__(self, settings: Settings, db: Database, workers: SessionWorkers, artifacts: ArtifactStore,
                 snapshots: SnapshotService, cluster: NodeRegistry, environments: EnvironmentService | None = None) -> None:
        self.settings = settings
        self.environments = environments
        self.db = db
        self.workers = workers
        self.artifacts = artifacts
        self.snapshots = snapshots
        self.cluster = cluster
        self.node = cluster.id
        self.live: dict[str, LiveSession] = {}
        self._starting: dict[int, int] = {}  # owner id -> sessions being started

    # --- lifecycle -------------------------------------------------------------------------
    async def create(self, caller: Caller, name: str | None, snapshot_id: str | None,
                     environment: EnvironmentSpec | None = None) -> str:
        caller.require_publisher("sessions")
        blob = (await self.snapshots.own(caller, snapshot_id)).blob if snapshot_id else None
        self._check_limits(caller.user_id)
        if environment is None or self.environments is None:
            return await self._create(caller, name, blob, None, None)
        async with self.environments.pinned(environment.key):
            ref = await self.environments.ensure(environment)  # a 400 naming the resolver's message
            return await self._create(caller, name, blob, environment.key, ref)

    async def _create(self, caller: Caller, name: str | None, blob: str | None, environment_key: str | None,
                      environment: EnvironmentRef | None) -> str:
        self._check_limits(caller.user_id)  # again: a build may have taken a while
        self._starting[caller.user_id] = self._starting.get(caller.user_id, 0) + 1
        session_id = uuid.uuid4().hex
        try:
            worker = await self.workers.start(session_id, caller.user_id, environment)
        except SessionLimitReached as exc:
            raise TooManyRequests(f"{exc.message} (max_sessions)", limit="max_sessions") from None
        except (PoolBusy, SandboxUnavailable) as exc:
            raise Unavailable(exc.message) from None
        except WorkerError as exc:
            raise WorkerFailed(f"could not start a Python process: {exc.message}") from None
        finally:
            self._starting[caller.user_id] -= 1
        session = LiveSession(session_id, name, caller.user_id, worker)
        record = SessionRecord(id=session_id, name=name, owner_id=caller.user_id, runtime_type="Python", node=self.node,
                               environment_key=environment_key)
        try:
            await self.db.run(lambda db: db.add(record))
        except BaseException:
            await worker.close(force=True)
            raise
        self.live[session_id] = session
        if blob:
            await self._load_blob(session, blob, refused=WorkerFailed)
        return session_id

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

    async def _end(self, session: LiveSession, *, force: bool) -> None:
        """The worker and the row go together."""
        self.live.pop(session.id, None)
        await session.worker.close(force=force)
        await self.db.run(lambda db: db.execute(delete(SessionRecord).where(SessionRecord.id == session.id)))

    async def close_all(self) -> None:
        for session in list(self.live.values()):
            await self._end(session, force=True)

    async def cancel(self, caller: Caller, session_id: str) -> None:
        (await self.own(caller, session_id)).worker.interrupt()

    def counts(self) -> dict[str, int]:
        return {"sessions": len(self.live), "busy": sum(1 for s in self.live.values() if s.worker.busy)}

    # --- talking to the worker ------------------------------------------------------------
    async def _call(self, session: LiveSession, operation: Awaitable[T], refused: type[ApiError] = BadRequest) -> T:
        """One worker operation; a dead or hung worker ends the session (410 / 504); an operation
        failing on user data or code is `refused` (the worker lives on)."""
        try:
            return await operation
        except WorkerTimeout as exc:
            await self._end(session, force=True)
            raise TimedOut(f"{exc.message.replace('the worker', 'the session')}; the session was closed") from None
        except WorkerError as exc:
            await self._end(session, force=True)
            raise Gone(f"the session's Python process is gone: {exc.message}") from None
        except UserCodeError as exc:
            raise refused(exc.message) from None
        except TooLarge as exc:
            raise PayloadTooLarge(exc.message) from None

    async def execute(self, caller: Caller, session_id: str, request: ExecuteRequest) -> ExecuteView:
        session = await self.own(caller, session_id)
        session.history.append(request.code)
        reply = await self._call(session, session.worker.execute(
            request.code, request.inputs, request.outputs, timeout=self.settings.execute_timeout), WorkerFailed)
        return ExecuteView(reply.success, reply.error_message, reply.console_output, dict(reply.outputs),
                           list(reply.changed_files))

    async def console(self, caller: Caller, session_id: str) -> str:
        """The console of the running execution (as far as it got), else of the last one."""
        return await (await self.own(caller, session_id)).worker.console()

    async def history(self, caller: Caller, session_id: str) -> list[str]:
        return list((await self.own(caller, session_id)).history)

    # --- files of the working directory ---------------------------------------------------
    async def upload(self, caller: Caller, session_id: str, upload_name: str, source: IO[bytes]) -> str:
        session = await self.own(caller, session_id)
        name = file_name(os.path.basename(upload_name), "file")
        try:
            await session.worker.files.write(name, _chunks(source), self.settings.max_body_bytes)
        except TooLarge as exc:
            raise PayloadTooLarge(exc.message, field="file") from None
        return name

    async def list_files(self, caller: Caller, session_id: str) -> list[str]:
        return await (await self.own(caller, session_id)).worker.files.list()

    async def file(self, caller: Caller, session_id: str, name: str) -> WorkerFile:
        """One file of the working directory, opened safely (whatever user code planted there)."""
        session = await self.own(caller, session_id)
        name = file_name(name)
        try:
            found = await session.worker.files.open(name)
        except UserCodeError as exc:
            raise BadRequest(exc.message, field="fileName") from None
        if found is None:
            raise NotFound(f"file '{name}' was not found in the session")
        return found

    async def delete_file(self, caller: Caller, session_id: str, name: str) -> None:
        session = await self.own(caller, session_id)
        name = file_name(name)
        if not await session.worker.files.delete(name):
            raise NotFound(f"file '{name}' was not found in the session")

    # --- workspace objects -----------------------------------------------------------------
    async def list_objects(self, caller: Caller, session_id: str) -> list[str]:
        session = await self.own(caller, session_id)
        return await self._call(session, session.worker.list_objects(), WorkerFailed)

    async def get_object(self, caller: Caller, session_id: str, name: str) -> WorkerFile:
        """The object's dill bytes in a checked file, for the route to stream (never unpickled here)."""
        session = await self.own(caller, session_id)
        data = await self._call(session, session.worker.get_object(name))
        if data is None:
            raise NotFound(f"object '{name}' is not in the session's workspace")
        return data

    async def set_object(self, caller: Caller, session_id: str, name: str, chunks: AsyncIterator[bytes]) -> None:
        session = await self.own(caller, session_id)
        try:
            data = await WorkerFile.receive(chunks, self.settings.max_body_bytes, self._spool())
        except TooLarge as exc:
            raise PayloadTooLarge(exc.message, field="body") from None
        with data:
            if not data.size:
                raise BadRequest("send the object as dill bytes in the body (application/octet-stream)", field="body")
            await self._call(session, session.worker.set_object(name, data))

    async def delete_object(self, caller: Caller, session_id: str, name: str) -> None:
        session = await self.own(caller, session_id)
        if not await self._call(session, session.worker.delete_object(name)):
            raise NotFound(f"object '{name}' is not in the session's workspace")

    # --- snapshots ---------------------------------------------------------------------------
    async def snapshot(self, caller: Caller, session_id: str, name: str | None) -> tuple[SnapshotView, list[Any]]:
        session = await self.own(caller, session_id)
        zipped, skipped = await self._call(session, session.worker.snapshot())
        with zipped:
            # A copy, never the worker's file itself: the worker may still hold a descriptor of that one.
            temp = await run_in_threadpool(_copy_out, zipped, self._spool())
        try:
            digest, size = await run_in_threadpool(self.artifacts.put_blob, temp)
        finally:
            temp.unlink(missing_ok=True)
        view = await self.snapshots.create(caller, name, digest, size)
        return view, [{"name": s.name, "reason": s.reason} for s in skipped]

    async def load_snapshot(self, caller: Caller, session_id: str, snapshot_id: str) -> None:
        session = await self.own(caller, session_id)
        snapshot = await self.snapshots.own(caller, snapshot_id)
        await self._load_blob(session, snapshot.blob, refused=BadRequest)

    async def _load_blob(self, session: LiveSession, blob: str, refused: type[ApiError]) -> None:
        """The worker gets a descriptor of the blob, never its path (it cannot read the store)."""
        path = await run_in_threadpool(self.artifacts.blob_path, blob)
        await self._call(session, session.worker.load_snapshot(path), refused)

    def _spool(self) -> Path:
        spool = self.settings.data_dir / "spool"
        spool.mkdir(mode=0o700, exist_ok=True)
        return spool


async def _chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(handle.read, 1 << 20):
        yield chunk


def _copy_out(file: WorkerFile, spool: Path) -> Path:
    """The file's checked bytes (no more) in a new file of the server's own."""
    fd, temp = tempfile.mkstemp(dir=spool, suffix=".zip")
    with os.fdopen(fd, "wb") as target, file.open() as source:
        left = file.size
        while left and (chunk := source.read(min(left, 1 << 20))):
            target.write(chunk)
            left -= len(chunk)
    return Path(temp)
