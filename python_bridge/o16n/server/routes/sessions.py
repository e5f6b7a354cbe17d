"""Python sessions: create, execute, cancel, close, console, history, files, workspace, snapshots."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..auth import Caller
from ..errors import ApiError, bad_request, forbidden, not_found
from ..http import Fields, json_response, read_json, text_response
from ..runtime.client import WorkerClient
from ..runtime.errors import PoolBusy, SandboxUnavailable, TooLarge, UserCodeError, WorkerError, WorkerTimeout
from ..runtime.files import WorkerFile, check_name
from ..state import ServerState, state_of
from ..store.models import SessionRecord, Snapshot
from .snapshots import own_snapshot

T = TypeVar("T")


@dataclass
class LiveSession:
    """A live session of this node: its worker and what the API shows about it."""

    id: str
    name: str | None
    owner_id: int
    worker: WorkerClient
    history: list[str] = field(default_factory=list)


def require_publisher(caller: Caller) -> None:
    if not caller.can_publish:
        raise forbidden("sessions and snapshots need the Contributor or Owner role; you are a Reader")


async def own_session(request: Request) -> tuple[ServerState, Caller, LiveSession]:
    """The caller's own live session named in the path; 404 for anyone else's (no existence leak)."""
    state = state_of(request)
    caller = await state.caller(request)
    session_id = request.path_params["session_id"]
    session = state.live_sessions.get(session_id)
    if session is None or session.owner_id != caller.user_id:
        raise not_found(f"session '{session_id}' was not found")
    return state, caller, session


async def call(state: ServerState, session: LiveSession, operation: Awaitable[T], status: int = 400) -> T:
    """Talk to a session's worker; if the worker died or hung, the session is gone (410 / 504);
    an operation failing on user data is `status`."""
    try:
        return await operation
    except WorkerTimeout as exc:
        await forget_session(state, session.id)
        raise ApiError(504, f"{exc.message.replace('the worker', 'the session')}; the session was closed") from None
    except WorkerError as exc:
        await forget_session(state, session.id)
        raise ApiError(410, f"the session's Python process is gone: {exc.message}") from None
    except UserCodeError as exc:
        raise ApiError(status, exc.message) from None


async def forget_session(state: ServerState, session_id: str) -> None:
    session = state.live_sessions.pop(session_id, None)
    if session is not None:
        await session.worker.close(force=True)
    await state.db(lambda db: db.query(SessionRecord).filter_by(id=session_id).delete())


def file_name(name: str, field: str = "fileName") -> str:
    try:
        return check_name(name)
    except ValueError:
        raise bad_request(f"'{field}' must be a plain file name without path separators", field) from None


def file_response(file: WorkerFile, media_type: str, filename: str) -> Response:
    """Stream a worker's file (already checked and opened) to the client."""
    headers = {"content-length": str(file.size), "content-disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(file.chunks(), media_type=media_type, headers=headers)


async def file_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(handle.read, 1 << 20):
        yield chunk


# --- lifecycle -----------------------------------------------------------------------------
async def create_session(request: Request) -> Response:
    state = state_of(request)
    caller = await state.caller(request)
    require_publisher(caller)
    body = Fields(await read_json(request, required=False))
    runtime = body.text("runtimeType") or "Python"
    if runtime.lower() != "python":
        raise bad_request(f"runtimeType '{runtime}' is not available: this server runs Python sessions only", "runtimeType")
    name = body.text("name")
    snapshot_id = body.text("snapshotId")
    snapshot_blob = (await own_snapshot(state, caller, snapshot_id)).blob if snapshot_id else None
    session_id = uuid.uuid4().hex
    try:
        worker = await state.session_workers.start(session_id, caller.user_id)
    except (PoolBusy, SandboxUnavailable) as exc:
        raise ApiError(503, exc.message) from None
    except WorkerError as exc:
        raise ApiError(500, f"could not start a Python process: {exc.message}") from None
    session = LiveSession(session_id, name, caller.user_id, worker)
    state.live_sessions[session_id] = session
    record = SessionRecord(id=session.id, name=name, owner_id=caller.user_id, runtime_type="Python", node=state.node)
    await state.db(lambda db: db.add(record))
    if snapshot_blob:
        await load_into(state, session, snapshot_blob, 500)
    return json_response({"sessionId": session.id}, 201)


async def list_sessions(request: Request) -> Response:
    state = state_of(request)
    caller = await state.caller(request)
    rows = await state.db(
        lambda db: db.scalars(select(SessionRecord).where(SessionRecord.owner_id == caller.user_id)).all()
    )
    return json_response(
        [{"id": r.id, "name": r.name, "owner": caller.username, "runtimeType": r.runtime_type} for r in rows]
    )


async def close_session(request: Request, force: bool = False) -> Response:
    state, _caller, session = await own_session(request)
    state.live_sessions.pop(session.id, None)
    await session.worker.close(force=force)
    await state.db(lambda db: db.query(SessionRecord).filter_by(id=session.id).delete())
    return text_response("the session was closed")


async def force_close_session(request: Request) -> Response:
    return await close_session(request, force=True)


async def cancel_session(request: Request) -> Response:
    _state, _caller, session = await own_session(request)
    session.worker.interrupt()
    return text_response("the running execution was asked to stop")


# --- code -----------------------------------------------------------------------------------
async def execute(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    body = Fields(await read_json(request))
    code = body.text("code", required=True)
    inputs: dict[str, Any] = {}
    for index, item in enumerate(body.get("inputParameters") or []):
        item = Fields(item, f"inputParameters[{index}]")
        name = item.text("name", required=True)
        if not name.isidentifier():
            raise bad_request(f"inputParameters[{index}].name must be a Python identifier", "inputParameters")
        inputs[name] = item.get("value")
    outputs = body.strings("outputParameters") or []
    session.history.append(code)
    reply = await call(state, session, session.worker.execute(code, inputs, outputs, timeout=state.settings.execute_timeout), 500)
    return json_response(
        {
            "success": reply.success,
            "errorMessage": reply.error_message,
            "outputParameters": [{"name": n, "value": v} for n, v in reply.outputs.items()],
            "consoleOutput": reply.console_output,
            "changedFiles": reply.changed_files,
        }
    )


async def console_output(request: Request) -> Response:
    """The console of the running execution (as far as it got), else of the last one."""
    _state, _caller, session = await own_session(request)
    return json_response({"consoleOutput": await session.worker.console()})


async def history(request: Request) -> Response:
    _state, _caller, session = await own_session(request)
    return json_response(session.history)


# --- files ----------------------------------------------------------------------------------
async def upload_file(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "upload the file as multipart/form-data with a field named 'file'")
    form = await request.form(max_files=1, max_part_size=state.settings.max_body_bytes)
    upload = form.get("file") or next((v for v in form.values() if isinstance(v, UploadFile)), None)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise bad_request("the form needs a file field named 'file' with a file name", "file")
    name = file_name(os.path.basename(upload.filename), "file")
    try:
        await session.worker.files.write(name, file_chunks(upload.file), state.settings.max_body_bytes)
    except TooLarge as exc:
        raise ApiError(413, exc.message, field="file") from None
    finally:
        await form.close()
    return text_response(name, 201)


async def list_files(request: Request) -> Response:
    _state, _caller, session = await own_session(request)
    return json_response(await session.worker.files.list())


async def get_file(request: Request) -> Response:
    _state, _caller, session = await own_session(request)
    name = file_name(request.path_params["file_name"])
    try:
        file = await session.worker.files.open(name)
    except UserCodeError as exc:
        raise bad_request(exc.message, "fileName") from None
    if file is None:
        raise not_found(f"file '{name}' was not found in the session")
    return file_response(file, "application/octet-stream", name)


async def delete_file(request: Request) -> Response:
    _state, _caller, session = await own_session(request)
    name = file_name(request.path_params["file_name"])
    if not await session.worker.files.delete(name):
        raise not_found(f"file '{name}' was not found in the session")
    return text_response("the file was deleted")


# --- workspace objects ----------------------------------------------------------------------
def object_name(request: Request) -> str:
    name = request.path_params["object_name"]
    if not name.isidentifier():
        raise bad_request("objectName must be a Python identifier", "objectName")
    return name


async def list_objects(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    return json_response(await call(state, session, session.worker.list_objects(), 500))


async def get_object(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    name = object_name(request)
    # The worker writes the dill bytes into a file the server streams out: big models never sit
    # in the server's memory, and the server never looks inside them.
    data = await call(state, session, session.worker.get_object(name))
    if data is None:
        raise not_found(f"object '{name}' is not in the session's workspace")
    return file_response(data, "application/octet-stream", f"{name}.dill")


async def set_object(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    name = object_name(request)
    limit = state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is larger than the limit of {limit} bytes", field="body")
    try:
        data = await WorkerFile.receive(request.stream(), limit, state.settings.data_dir / "spool")
    except TooLarge as exc:
        raise ApiError(413, exc.message, field="body") from None
    with data:
        if not data.size:
            raise bad_request("send the object as dill bytes in the body (application/octet-stream)", "body")
        await call(state, session, session.worker.set_object(name, data))
    return text_response(f"object '{name}' was set")


async def delete_object(request: Request) -> Response:
    state, _caller, session = await own_session(request)
    name = object_name(request)
    if not await call(state, session, session.worker.delete_object(name)):
        raise not_found(f"object '{name}' is not in the session's workspace")
    return text_response(f"object '{name}' was deleted")


# --- snapshots from and into sessions --------------------------------------------------------
async def create_snapshot(request: Request) -> Response:
    state, caller, session = await own_session(request)
    body = Fields(await read_json(request, required=False))
    name = body.text("name")
    zipped, skipped = await call(state, session, session.worker.snapshot())
    with zipped:
        # A copy, not the worker's file itself: the worker may still hold a descriptor of that one.
        temp = await run_in_threadpool(copy_out, zipped, state)
    digest, size = await run_in_threadpool(state.artifacts.put, temp)
    snapshot = Snapshot(id=str(uuid.uuid4()), name=name, owner_id=caller.user_id, blob=digest, content_size=size)
    await state.db(lambda db: db.add(snapshot))
    return json_response({"snapshotId": snapshot.id, "skippedObjects": [{"name": s.name, "reason": s.reason} for s in skipped]}, 201)


def copy_out(file: WorkerFile, state: ServerState) -> Path:
    """The file's checked bytes (no more) in a new file of the server's own."""
    fd, temp = tempfile.mkstemp(dir=state.settings.data_dir / "spool", suffix=".zip")
    with os.fdopen(fd, "wb") as target, file.open() as source:
        left = file.size
        while left and (chunk := source.read(min(left, 1 << 20))):
            target.write(chunk)
            left -= len(chunk)
    return Path(temp)


async def load_snapshot(request: Request) -> Response:
    state, caller, session = await own_session(request)
    snapshot = await own_snapshot(state, caller, request.path_params["snapshot_id"])
    await load_into(state, session, snapshot.blob, 400)
    return text_response("the snapshot was loaded into the session")


async def load_into(state: ServerState, session: LiveSession, blob: str, status: int) -> None:
    """Hand the worker a snapshot from the artifact store (it gets a descriptor, never the path)."""
    await call(state, session, session.worker.load_snapshot(state.artifacts.path(blob)), status)


S = "/sessions/{session_id}"
routes = [
    Route("/sessions", create_session, methods=["POST"]),
    Route("/sessions", list_sessions, methods=["GET"]),
    Route(S, close_session, methods=["DELETE"]),
    Route(S + "/force", force_close_session, methods=["DELETE"]),
    Route(S + "/cancel", cancel_session, methods=["POST"]),
    Route(S + "/execute", execute, methods=["POST"]),
    Route(S + "/console-output", console_output, methods=["GET"]),
    Route(S + "/history", history, methods=["GET"]),
    Route(S + "/files", upload_file, methods=["POST"]),
    Route(S + "/files", list_files, methods=["GET"]),
    Route(S + "/files/{file_name}", get_file, methods=["GET"]),
    Route(S + "/files/{file_name}", delete_file, methods=["DELETE"]),
    Route(S + "/workspace", list_objects, methods=["GET"]),
    Route(S + "/workspace/{object_name}", get_object, methods=["GET"]),
    Route(S + "/workspace/{object_name}", set_object, methods=["POST"]),
    Route(S + "/workspace/{object_name}", delete_object, methods=["DELETE"]),
    Route(S + "/snapshot", create_snapshot, methods=["POST"]),
    Route(S + "/loadsnapshot/{snapshot_id}", load_snapshot, methods=["POST"]),
]
