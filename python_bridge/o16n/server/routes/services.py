"""Publishing and managing web services: /services[/{name}[/{version}[/pool]]]."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.routing import Route

from ..auth import Caller
from ..catalog import (
    check_name,
    may_manage,
    parse_publish,
    service_json,
    with_publishers,
)
from ..errors import ApiError, bad_request, forbidden, not_found
from ..http import Fields, json_response, read_json, text_response
from ..state import ServerState, state_of
from ..store.models import BatchExecution, Service, Snapshot, utcnow
from .snapshots import blob_unused


async def list_all(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    rows = await state.db(lambda db: with_publishers(db, select(Service).order_by(Service.name, Service.created_at, Service.id)))
    return json_response([service_json(s, who, caller) for s, who in rows])


async def list_versions(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name = request.path_params["name"]
    query = select(Service).where(Service.name == name).order_by(Service.created_at, Service.id)
    rows = await state.db(lambda db: with_publishers(db, query))
    return json_response([service_json(s, who, caller) for s, who in rows])


async def get_version(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    query = select(Service).where(Service.name == name, Service.version == version)
    rows = await state.db(lambda db: with_publishers(db, query))
    if not rows:
        raise not_found(f"web service '{name}' version '{version}' was not found")
    # The core swagger declares an array here; generated clients iterate over it.
    return json_response([service_json(s, who, caller) for s, who in rows])


async def publish(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    if not caller.can_publish:
        raise forbidden("publishing needs the Contributor or Owner role; you are a Reader")
    name = check_name(request.path_params["name"], "name")
    explicit = "version" in request.path_params
    version = check_name(request.path_params["version"], "version") if explicit else str(uuid.uuid4())
    body = Fields(await read_json(request))
    values = parse_publish(body, partial=False)
    snapshot_id = body.text("snapshotId")

    def insert(db: Session) -> None:
        # A name belongs to whoever published its first version; Owners may publish under any.
        first = db.scalar(
            select(Service.publisher_id).where(Service.name == name).order_by(Service.created_at, Service.id).limit(1)
        )
        if first is not None and first != caller.user_id and not caller.is_owner:
            raise forbidden(f"web service '{name}' belongs to another user: choose another name")
        exists = db.scalar(select(Service.id).where(Service.name == name, Service.version == version))
        if exists is not None:
            # 403 on the versioned route, 409 on the other, as the original server answers.
            status = 403 if explicit else 409
            raise ApiError(status, f"web service '{name}' version '{version}' already exists: use PATCH to update it")
        blob = own_snapshot_blob(db, caller, snapshot_id) if snapshot_id else None
        db.add(Service(name=name, version=version, publisher_id=caller.user_id, runtime_type="Python",
                       snapshot_id=snapshot_id, blob=blob, **values))

    try:
        await state.db(insert)
    except IntegrityError:
        raise ApiError(409, f"web service '{name}' version '{version}' was just published by another request") from None
    state.catalog.forget(name, version)
    await warm(state, name, version)
    return text_response(f"/api/{name}/{version}", 201)


def own_snapshot_blob(db: Session, caller: Caller, snapshot_id: str) -> str:
    snapshot = db.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.owner_id != caller.user_id:
        raise bad_request(f"'snapshotId' {snapshot_id} is not one of your snapshots", "snapshotId")
    return snapshot.blob


def managed_service(db: Session, caller: Caller, name: str, version: str) -> Service:
    """The service version the caller may change; 404 if missing, 403 if it isn't theirs."""
    service = db.scalar(select(Service).where(Service.name == name, Service.version == version))
    if service is None:
        raise not_found(f"web service '{name}' version '{version}' was not found")
    if not may_manage(service, caller):
        raise forbidden(f"you may not change web service '{name}' version '{version}': it belongs to another user")
    return service


async def patch(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    body = Fields(await read_json(request))
    values = parse_publish(body, partial=True)
    snapshot_id = body.text("snapshotId")

    def update(db: Session) -> str | None:
        service = managed_service(db, caller, name, version)
        old_blob = service.blob
        new_blob = own_snapshot_blob(db, caller, snapshot_id) if snapshot_id else None
        # The Microsoft SDK sends a fresh snapshot with every redeploy, empty when no models were
        # given: an empty one carries nothing, so the service keeps what it has.
        if new_blob and not state.artifacts.is_empty(new_blob):
            service.blob = new_blob
            service.snapshot_id = snapshot_id
        for column, value in values.items():
            setattr(service, column, value)
        service.updated_at = utcnow()
        db.flush()
        return old_blob if old_blob and old_blob != service.blob and blob_unused(db, old_blob) else None

    unused = await state.db(update)
    if unused:
        state.artifacts.delete(unused)
    state.catalog.forget(name, version)
    await warm(state, name, version)  # replaces the pool if what its workers load has changed
    return text_response(f"/api/{name}/{version}")


async def delete(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]

    def remove(db: Session) -> tuple[str | None, list[str]]:
        service = managed_service(db, caller, name, version)
        executions = db.scalars(select(BatchExecution.id).where(BatchExecution.service_id == service.id)).all()
        blob = service.blob
        db.delete(service)
        db.flush()
        return (blob if blob and blob_unused(db, blob) else None), list(executions)

    unused, executions = await state.db(remove)
    state.catalog.forget(name, version)
    state.pools.drop(name, version)
    await state.batches.forget(executions)
    if unused:
        state.artifacts.delete(unused)
    return text_response(f"web service '{name}' version '{version}' was deleted")


# --- dedicated pools (ML Server 9.3) -----------------------------------------------------------
async def set_pool(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    body = Fields(await read_json(request))
    initial = _pool_size(body, "InitialPoolSize", 0)
    maximum = _pool_size(body, "MaxPoolSize", max(initial, 1))
    if maximum < max(initial, 1):
        raise bad_request("'MaxPoolSize' must be at least 1 and at least 'InitialPoolSize'", "MaxPoolSize")

    def update(db: Session) -> None:
        service = managed_service(db, caller, name, version)
        service.pool_initial_size, service.pool_max_size = initial, maximum

    await state.db(update)
    state.catalog.forget(name, version)
    await warm(state, name, version)
    return text_response("Created.")


def _pool_size(body: Fields, field: str, default: int) -> int:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 64:
        raise bad_request(f"'{field}' must be an integer between 0 and 64", field)
    return value


async def pool_status(request: Request):
    state = state_of(request)
    await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    spec = await state.service_spec(name, version)
    status = "NotFound"
    if spec.max_size is not None:
        pool = state.pools.status(name, version)
        ready = pool.key == spec.key and pool.size >= spec.initial_size
        status = "Success" if ready else "Pending"
    return json_response([{"computeNodeEndpoint": state.node_url, "status": status}])


async def delete_pool(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]

    def update(db: Session) -> None:
        service = managed_service(db, caller, name, version)
        service.pool_initial_size = service.pool_max_size = None

    await state.db(update)
    state.catalog.forget(name, version)
    return text_response("Deleted.")


async def warm(state: ServerState, name: str, version: str) -> None:
    """Start the first worker of a freshly published version so its first consume is quick."""
    spec = await state.service_spec(name, version)
    state.pools.warm(spec, max(1, spec.initial_size))  # replaces the pool if what its workers load changed


N, V = "/services/{name}", "/services/{name}/{version}"
routes = [
    Route("/services", list_all, methods=["GET"]),
    Route(N, list_versions, methods=["GET"]),
    Route(N, publish, methods=["POST"]),
    Route(V, get_version, methods=["GET"]),
    Route(V, publish, methods=["POST"]),
    Route(V, patch, methods=["PATCH"]),
    Route(V, delete, methods=["DELETE"]),
    Route(V + "/pool", set_pool, methods=["POST"]),
    Route(V + "/pool", pool_status, methods=["GET"]),
    Route(V + "/pool", delete_pool, methods=["DELETE"]),
]
