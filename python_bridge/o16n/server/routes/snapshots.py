"""GET /snapshots, GET /snapshots/{id} (the zip), DELETE /snapshots/{id}. Each user sees their own only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ..http import json_response, text_response
from ..middleware import caller_of
from ..state import state_of


async def list_snapshots(request: Request) -> Response:
    views = await state_of(request).snapshots.list_snapshots(caller_of(request))
    return json_response([v.to_json() for v in views])


async def download_snapshot(request: Request) -> Response:
    snapshot, path = await state_of(request).snapshots.content(caller_of(request), request.path_params["snapshot_id"])
    return FileResponse(path, media_type="application/zip", filename=f"{snapshot.id}.zip")


async def delete_snapshot(request: Request) -> Response:
    await state_of(request).snapshots.delete(caller_of(request), request.path_params["snapshot_id"])
    return text_response("the snapshot was deleted")


routes = [
    Route("/snapshots", list_snapshots, methods=["GET"]),
    Route("/snapshots/{snapshot_id}", download_snapshot, methods=["GET"]),
    Route("/snapshots/{snapshot_id}", delete_snapshot, methods=["DELETE"]),
]
