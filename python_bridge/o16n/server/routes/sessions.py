"""Python sessions: create, execute, cancel, close, console, history, files, workspace, snapshots."""

from __future__ import annotations

import json
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ..domain.requests import ExecuteRequest, object_name
from ..environments.spec import EnvironmentSpec
from ..errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMedia
from ..http import Fields, json_response, read_json, text_response
from ..middleware import caller_of
from ..runtime.files import WorkerFile
from ..state import state_of


def file_response(file: WorkerFile, media_type: str, filename: str) -> Response:
    """Stream a worker's file (already checked and opened by the runtime) to the client."""
    headers = {"content-length": str(file.size), "content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    return StreamingResponse(file.chunks(), media_type=media_type, headers=headers)


def _sid(request: Request) -> str:
    return str(request.path_params["session_id"])


# --- lifecycle -----------------------------------------------------------------------------
async def create_session(request: Request) -> Response:
    caller = caller_of(request)
    caller.require_publisher("sessions")
    body = Fields(await read_json(request, required=False))
    runtime = body.text("runtimeType") or "Python"
    if runtime.lower() != "python":
        raise BadRequest(f"runtimeType '{runtime}' is not available: this server runs Python sessions only",
                         field="runtimeType")
    environment = EnvironmentSpec.parse(body.get("environment"))  # o16n extension; None: the server's own
    session_id = await state_of(request).sessions.create(caller, body.text("name"), body.text("snapshotId"), environment)
    return json_response({"sessionId": session_id}, 201)


async def list_sessions(request: Request) -> Response:
    views = await state_of(request).sessions.list_sessions(caller_of(request))
    return json_response([v.to_json() for v in views])


async def close_session(request: Request) -> Response:
    await state_of(request).sessions.close(caller_of(request), _sid(request))
    return text_response("the session was closed")


async def force_close_session(request: Request) -> Response:
    await state_of(request).sessions.close(caller_of(request), _sid(request), force=True)
    return text_response("the session was closed")


async def cancel_session(request: Request) -> Response:
    await state_of(request).sessions.cancel(caller_of(request), _sid(request))
    return text_response("the running execution was asked to stop")


# --- code -----------------------------------------------------------------------------------
async def execute(request: Request) -> Response:
    sessions, caller = state_of(request).sessions, caller_of(request)
    await sessions.own(caller, _sid(request))  # 404 before the body is read
    execute_request = ExecuteRequest.parse(Fields(await read_json(request)))
    view = await sessions.execute(caller, _sid(request), execute_request)
    return json_response(view.to_json())


async def console_output(request: Request) -> Response:
    return json_response({"consoleOutput": await state_of(request).sessions.console(caller_of(request), _sid(request))})


async def history(request: Request) -> Response:
    return json_response(await state_of(request).sessions.history(caller_of(request), _sid(request)))


# --- files ----------------------------------------------------------------------------------
async def upload_file(request: Request) -> Response:
    """The 9.1 operation produces text/plain: the file name, and errors as their JSON text."""
    try:
        return PlainTextResponse(await _upload(request), 201)
    except ApiError as error:
        return PlainTextResponse(json.dumps(error.body()), error.status)


async def _upload(request: Request) -> str:
    state, caller = state_of(request), caller_of(request)
    await state.sessions.own(caller, _sid(request))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMedia("upload the file as multipart/form-data with a field named 'file'")
    form = await request.form(max_files=1, max_part_size=state.settings.max_body_bytes)
    try:
        upload = form.get("file") or next((v for v in form.values() if isinstance(v, UploadFile)), None)
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("the form needs a file field named 'file' with a file name", field="file")
        return await state.sessions.upload(caller, _sid(request), upload.filename, upload.file)
    finally:
        await form.close()


async def list_files(request: Request) -> Response:
    return json_response(await state_of(request).sessions.list_files(caller_of(request), _sid(request)))


async def get_file(request: Request) -> Response:
    name = request.path_params["file_name"]
    found = await state_of(request).sessions.file(caller_of(request), _sid(request), name)
    return file_response(found, "application/octet-stream", name)


async def delete_file(request: Request) -> Response:
    await state_of(request).sessions.delete_file(caller_of(request), _sid(request), request.path_params["file_name"])
    return text_response("the file was deleted")


# --- workspace objects ----------------------------------------------------------------------
async def list_objects(request: Request) -> Response:
    return json_response(await state_of(request).sessions.list_objects(caller_of(request), _sid(request)))


async def get_object(request: Request) -> Response:
    name = object_name(request.path_params["object_name"])
    data = await state_of(request).sessions.get_object(caller_of(request), _sid(request), name)
    return file_response(data, "application/octet-stream", f"{name}.dill")


async def set_object(request: Request) -> Response:
    state, caller = state_of(request), caller_of(request)
    name = object_name(request.path_params["object_name"])
    await state.sessions.own(caller, _sid(request))
    declared = request.headers.get("content-length")
    limit = state.settings.max_body_bytes
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes", field="body")
    await state.sessions.set_object(caller, _sid(request), name, request.stream())
    return text_response(f"object '{name}' was set")


async def delete_object(request: Request) -> Response:
    name = object_name(request.path_params["object_name"])
    await state_of(request).sessions.delete_object(caller_of(request), _sid(request), name)
    return text_response(f"object '{name}' was deleted")


# --- snapshots from and into sessions --------------------------------------------------------
async def create_snapshot(request: Request) -> Response:
    state, caller = state_of(request), caller_of(request)
    await state.sessions.own(caller, _sid(request))
    body = Fields(await read_json(request, required=False))
    view, skipped = await state.sessions.snapshot(caller, _sid(request), body.text("name"))
    return json_response({"snapshotId": view.snapshot.id, "skippedObjects": skipped}, 201)


async def load_snapshot(request: Request) -> Response:
    await state_of(request).sessions.load_snapshot(caller_of(request), _sid(request), request.path_params["snapshot_id"])
    return text_response("the snapshot was loaded into the session")


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
