"""Python sessions: create, execute, cancel, close, console, history, files, workspace, snapshots."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from ..auth import Caller
from ..errors import ApiError, bad_request, forbidden, not_found
from ..http import Fields, json_response, read_json, text_response
from ..paths import confined_path, open_confined
from ..runtime.pools import link_or_copy
from ..runtime.process import WorkerError, WorkerTimeout
from ..runtime.sessions import LiveSession, SessionLimitReached
from ..state import ServerState, state_of
from ..store.models import SessionRecord, Snapshot
from .snapshots import own_snapshot


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


async def call(state: ServerState, session: LiveSession, message: dict, timeout: float = 300) -> dict:
    """Talk to a session's worker; if the worker died or hung, the session is gone (410)."""
    try:
        return await session.worker.call(message, timeout=timeout)
    except WorkerTimeout:
        await forget_session(state, session.id)
        raise ApiError(504, f"the session did not answer within {timeout:g} s and was closed") from None
    except WorkerError as exc:
        await forget_session(state, session.id)
        raise ApiError(410, f"the session's Python process is gone: {exc}") from None


async def forget_session(state: ServerState, session_id: str) -> None:
    await state.live_sessions.close(session_id, force=True)
    await state.db(lambda db: db.query(SessionRecord).filter_by(id=session_id).delete())


def worker_failed(reply: dict, status: int = 400) -> None:
    if not reply.get("ok"):
        raise ApiError(status, reply.get("error", "the session could not do that"))


# --- lifecycle -----------------------------------------------------------------------------
async def create_session(request: Request):
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
    try:
        session = await state.live_sessions.create(name, caller.user_id)
    except SessionLimitReached as exc:
        raise ApiError(503, str(exc)) from None
    except WorkerError as exc:
        raise ApiError(500, f"could not start a Python process: {exc}") from None
    record = SessionRecord(id=session.id, name=name, owner_id=caller.user_id, runtime_type="Python", node=state.node)
    await state.db(lambda db: db.add(record))
    if snapshot_blob:
        await load_into(state, session, snapshot_blob, 500)
    return json_response({"sessionId": session.id}, 201)


async def list_sessions(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    rows = await state.db(
        lambda db: db.scalars(select(SessionRecord).where(SessionRecord.owner_id == caller.user_id)).all()
    )
    return json_response(
        [{"id": r.id, "name": r.name, "owner": caller.username, "runtimeType": r.runtime_type} for r in rows]
    )


async def close_session(request: Request, force: bool = False):
    state, _caller, session = await own_session(request)
    await state.live_sessions.close(session.id, force=force)
    await state.db(lambda db: db.query(SessionRecord).filter_by(id=session.id).delete())
    return text_response("the session was closed")


async def force_close_session(request: Request):
    return await close_session(request, force=True)


async def cancel_session(request: Request):
    _state, _caller, session = await own_session(request)
    session.worker.interrupt()
    return text_response("the running execution was asked to stop")


# --- code -----------------------------------------------------------------------------------
async def execute(request: Request):
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
    reply = await call(
        state,
        session,
        {"op": "execute", "mode": "session", "code": code, "inputs": inputs, "outputs": outputs,
         "live_console": str(session.live_console)},
        timeout=state.settings.execute_timeout,
    )
    worker_failed(reply, 500)
    result = reply
    session.last_console = result["consoleOutput"]
    return json_response(
        {
            "success": result["success"],
            "errorMessage": result["errorMessage"],
            "outputParameters": [{"name": n, "value": v} for n, v in result["outputs"].items()],
            "consoleOutput": result["consoleOutput"],
            "changedFiles": result["changedFiles"],
        }
    )


async def console_output(request: Request):
    """The console of the running execution (as far as it got), else of the last one."""
    _state, _caller, session = await own_session(request)
    if session.worker.busy:
        try:
            text = await run_in_threadpool(session.live_console.read_text, "utf-8", "replace")
        except FileNotFoundError:
            text = ""
        return json_response({"consoleOutput": text})
    return json_response({"consoleOutput": session.last_console})


async def history(request: Request):
    _state, _caller, session = await own_session(request)
    return json_response(session.history)


# --- files ----------------------------------------------------------------------------------
async def upload_file(request: Request):
    state, _caller, session = await own_session(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "upload the file as multipart/form-data with a field named 'file'")
    form = await request.form(max_files=1, max_part_size=state.settings.max_body_bytes)
    upload = form.get("file") or next((v for v in form.values() if isinstance(v, UploadFile)), None)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise bad_request("the form needs a file field named 'file' with a file name", "file")
    target = confined_path(session.workdir, os.path.basename(upload.filename), "file")

    def save() -> None:
        fd = open_confined(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "wb") as handle:
            shutil.copyfileobj(upload.file, handle, 1 << 20)

    await run_in_threadpool(save)
    await form.close()
    return text_response(target.name, 201)


async def list_files(request: Request):
    _state, _caller, session = await own_session(request)
    names = sorted(p.name for p in session.workdir.iterdir() if p.is_file() and not p.is_symlink())
    return json_response(names)


async def get_file(request: Request):
    _state, _caller, session = await own_session(request)
    path = confined_path(session.workdir, request.path_params["file_name"])
    if not path.is_file() or path.is_symlink():
        raise not_found(f"file '{path.name}' was not found in the session")
    return FileResponse(path, filename=path.name)


async def delete_file(request: Request):
    _state, _caller, session = await own_session(request)
    path = confined_path(session.workdir, request.path_params["file_name"])
    if not path.is_file() or path.is_symlink():
        raise not_found(f"file '{path.name}' was not found in the session")
    path.unlink()
    return text_response("the file was deleted")


# --- workspace objects ----------------------------------------------------------------------
def object_name(request: Request) -> str:
    name = request.path_params["object_name"]
    if not name.isidentifier():
        raise bad_request("objectName must be a Python identifier", "objectName")
    return name


async def list_objects(request: Request):
    state, _caller, session = await own_session(request)
    reply = await call(state, session, {"op": "list_objects"})
    worker_failed(reply, 500)
    return json_response(reply["names"])


async def get_object(request: Request):
    state, _caller, session = await own_session(request)
    name = object_name(request)
    # The worker writes the dill bytes to a file the server streams out: big models never sit in
    # the server's memory, and the server never looks inside them.
    path = session.placement.exchange_file("object")
    reply = await call(state, session, {"op": "get_object", "name": name, "path": str(path)})
    worker_failed(reply, 400)
    if not reply.get("found"):
        raise not_found(f"object '{name}' is not in the session's workspace")
    return FileResponse(path, media_type="application/octet-stream", filename=f"{name}.dill",
                        background=BackgroundTask(path.unlink, missing_ok=True))


async def set_object(request: Request):
    state, _caller, session = await own_session(request)
    name = object_name(request)
    path = session.placement.exchange_file("object")
    try:
        size = await save_body(request, path, state.settings.max_body_bytes)
        if not size:
            raise bad_request("send the object as dill bytes in the body (application/octet-stream)", "body")
        reply = await call(state, session, {"op": "set_object", "name": name, "path": str(path)})
    finally:
        path.unlink(missing_ok=True)
    worker_failed(reply, 400)
    return text_response(f"object '{name}' was set")


async def delete_object(request: Request):
    state, _caller, session = await own_session(request)
    name = object_name(request)
    reply = await call(state, session, {"op": "delete_object", "name": name})
    worker_failed(reply, 400)
    if not reply.get("found"):
        raise not_found(f"object '{name}' is not in the session's workspace")
    return text_response(f"object '{name}' was deleted")


async def save_body(request: Request, path: Path, limit: int) -> int:
    """Stream the request body into `path` (a 413 past `limit`); returns its size."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is larger than the limit of {limit} bytes", field="body")
    size = 0
    with open(path, "wb") as handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the body is larger than the limit of {limit} bytes", field="body")
            await run_in_threadpool(handle.write, chunk)
    return size


# --- snapshots from and into sessions --------------------------------------------------------
async def create_snapshot(request: Request):
    state, caller, session = await own_session(request)
    body = Fields(await read_json(request, required=False))
    name = body.text("name")
    # The sandboxed worker may write only in its own dirs: it writes the zip into its exchange dir.
    temp = session.placement.exchange_file("snapshot")
    try:
        reply = await call(state, session, {"op": "snapshot", "path": str(temp)}, timeout=3600)
        worker_failed(reply, 400)
        digest, size = await run_in_threadpool(state.artifacts.put, temp)
    finally:
        temp.unlink(missing_ok=True)
    snapshot = Snapshot(id=str(uuid.uuid4()), name=name, owner_id=caller.user_id, blob=digest, content_size=size)
    await state.db(lambda db: db.add(snapshot))
    return json_response({"snapshotId": snapshot.id, "skippedObjects": reply.get("skipped", [])}, 201)


async def load_snapshot(request: Request):
    state, caller, session = await own_session(request)
    snapshot = await own_snapshot(state, caller, request.path_params["snapshot_id"])
    await load_into(state, session, snapshot.blob, 400)
    return text_response("the snapshot was loaded into the session")


async def load_into(state: ServerState, session: LiveSession, blob: str, status: int) -> None:
    """Hand the worker a snapshot through its exchange dir (it cannot read the artifact store)."""
    copy = session.placement.exchange_file("load")
    await run_in_threadpool(link_or_copy, state.artifacts.path(blob), copy)
    try:
        worker_failed(await call(state, session, {"op": "load_snapshot", "path": str(copy)}, timeout=3600), status)
    finally:
        copy.unlink(missing_ok=True)


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
