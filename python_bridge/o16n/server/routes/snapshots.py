"""GET /snapshots, GET /snapshots/{id} (the zip), DELETE /snapshots/{id}. Owners only see their own."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from ..auth import Caller
from ..errors import not_found
from ..http import json_response, text_response
from ..state import ServerState, state_of
from ..store.models import Service, Snapshot


def iso(moment) -> str:
    return moment.isoformat(timespec="microseconds")


async def list_snapshots(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    rows = await state.db(lambda db: db.scalars(select(Snapshot).where(Snapshot.owner_id == caller.user_id)).all())
    return json_response(
        [
            {"id": s.id, "name": s.name, "owner": caller.username, "creationTime": iso(s.created_at), "contentSize": s.content_size}
            for s in rows
        ]
    )


async def own_snapshot(state: ServerState, caller: Caller, snapshot_id: str) -> Snapshot:
    snapshot = await state.db(lambda db: db.get(Snapshot, snapshot_id))
    if snapshot is None or snapshot.owner_id != caller.user_id:
        raise not_found(f"snapshot '{snapshot_id}' was not found")
    return snapshot


async def download_snapshot(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    snapshot = await own_snapshot(state, caller, request.path_params["snapshot_id"])
    return FileResponse(state.artifacts.path(snapshot.blob), media_type="application/zip", filename=f"{snapshot.id}.zip")


async def delete_snapshot(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    snapshot = await own_snapshot(state, caller, request.path_params["snapshot_id"])

    def remove(db: Session) -> bool:
        db.query(Snapshot).filter_by(id=snapshot.id).delete()
        return blob_unused(db, snapshot.blob)

    if await state.db(remove):
        state.artifacts.delete(snapshot.blob)
    return text_response("the snapshot was deleted")


def blob_unused(db: Session, blob: str) -> bool:
    """True when no snapshot and no service refers to this blob any more."""
    in_snapshots = db.scalar(select(Snapshot.id).where(Snapshot.blob == blob).limit(1))
    in_services = db.scalar(select(Service.id).where(Service.blob == blob).limit(1))
    return in_snapshots is None and in_services is None


routes = [
    Route("/snapshots", list_snapshots, methods=["GET"]),
    Route("/snapshots/{snapshot_id}", download_snapshot, methods=["GET"]),
    Route("/snapshots/{snapshot_id}", delete_snapshot, methods=["DELETE"]),
]
