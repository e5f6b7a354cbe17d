"""Batch execution of a service: /api/{name}/{version}/batch[/{executionId}[/{index}/files[/{fileName}]]]."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..errors import BadRequest
from ..http import json_response, read_json
from ..middleware import caller_of
from ..state import state_of


async def start(request: Request) -> Response:
    p = request.path_params
    batches = state_of(request).batches
    await batches.catalog.spec(p["name"], p["version"])  # 404 before the body is read
    records = await read_json(request)
    raw_parallel = request.query_params.get("parallelCount", "10")
    if not raw_parallel.isdigit() or int(raw_parallel) < 1:
        raise BadRequest("'parallelCount' must be a positive integer", field="parallelCount")
    execution_id = await batches.start(caller_of(request), p["name"], p["version"], records, int(raw_parallel))
    # The swagger names it batchExecutionId; the Microsoft SDK reads BatchExecutionId.
    return json_response({"batchExecutionId": execution_id, "BatchExecutionId": execution_id}, 202)


async def list_executions(request: Request) -> Response:
    p = request.path_params
    return json_response(await state_of(request).batches.list_executions(caller_of(request), p["name"], p["version"]))


async def status(request: Request) -> Response:
    p = request.path_params
    # Both spellings are in use: the swagger's showPartialResults, the SDKs' showPartialResult.
    raw = request.query_params.get("showPartialResults", request.query_params.get("showPartialResult", "true"))
    partial = raw.lower() not in ("false", "0", "no")
    view = await state_of(request).batches.status(caller_of(request), p["name"], p["version"], p["execution_id"], partial)
    return json_response(view.to_json())


async def cancel_and_delete(request: Request) -> Response:
    p = request.path_params
    await state_of(request).batches.cancel(caller_of(request), p["name"], p["version"], p["execution_id"])
    return json_response([p["execution_id"]])


async def list_files(request: Request) -> Response:
    p = request.path_params
    names = await state_of(request).batches.item_files(caller_of(request), p["name"], p["version"],
                                                        p["execution_id"], p["index"])
    return json_response(names)


async def get_file(request: Request) -> Response:
    p = request.path_params
    chunks = await state_of(request).batches.item_file(caller_of(request), p["name"], p["version"],
                                                        p["execution_id"], p["index"], p["file_name"])
    disposition = f"attachment; filename*=UTF-8''{quote(p['file_name'])}"
    return StreamingResponse(iterate_in_threadpool(chunks), media_type=_media_type(p["file_name"]),
                             headers={"Content-Disposition": disposition})


def _media_type(file_name: str) -> str:
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


B = "/api/{name}/{version}/batch"
routes = [
    Route(B, start, methods=["POST"]),
    Route(B, list_executions, methods=["GET"]),
    Route(B + "/{execution_id}", status, methods=["GET"]),
    Route(B + "/{execution_id}", cancel_and_delete, methods=["DELETE"]),
    Route(B + "/{execution_id}/{index}/files", list_files, methods=["GET"]),
    Route(B + "/{execution_id}/{index}/files/{file_name}", get_file, methods=["GET"]),
]
