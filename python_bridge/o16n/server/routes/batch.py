"""Batch execution of a service: /api/{name}/{version}/batch[/{executionId}[/{index}/files[/{fileName}]]]."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from ...wire.errors import InputError
from ...wire.values import check_inputs
from ..auth import Caller
from ..errors import bad_request, not_found
from ..http import json_response, read_json
from ..paths import confined_path
from ..state import ServerState, state_of
from ..store.models import BatchExecution, BatchItem, Service


def _service_id(db: Session, name: str, version: str) -> int:
    service_id = db.scalar(select(Service.id).where(Service.name == name, Service.version == version))
    if service_id is None:
        raise not_found(f"web service '{name}' version '{version}' was not found")
    return service_id


async def start(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    spec = await state.service_spec(name, version)
    records = await read_json(request)
    if not isinstance(records, list) or not records:
        raise bad_request("the body must be a non-empty JSON array with one object of inputs per item", "body")
    checked = []
    for index, record in enumerate(records):
        try:
            checked.append(check_inputs(list(spec.inputs), record))
        except InputError as exc:
            raise bad_request(f"item {index}: {exc}", exc.field) from None
    raw_parallel = request.query_params.get("parallelCount", "10")
    if not raw_parallel.isdigit() or int(raw_parallel) < 1:
        raise bad_request("'parallelCount' must be a positive integer", "parallelCount")
    parallel = min(int(raw_parallel), state.settings.max_batch_parallel)
    execution_id = str(uuid.uuid4())

    def insert(db: Session) -> None:
        db.add(BatchExecution(id=execution_id, service_id=_service_id(db, name, version), owner_id=caller.user_id,
                              state="Pending", parallel_count=parallel, total=len(checked), lease_node=state.node))
        db.flush()
        db.add_all(BatchItem(execution_id=execution_id, index=i, inputs=x) for i, x in enumerate(checked))

    await state.db(insert)
    state.batches.start(execution_id)
    # The swagger names it batchExecutionId; the Microsoft SDK reads BatchExecutionId.
    return json_response({"batchExecutionId": execution_id, "BatchExecutionId": execution_id}, 202)


async def list_executions(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]

    def ids(db: Session) -> list[str]:
        query = select(BatchExecution.id).where(BatchExecution.service_id == _service_id(db, name, version))
        if not caller.is_owner:
            query = query.where(BatchExecution.owner_id == caller.user_id)
        return list(db.scalars(query.order_by(BatchExecution.created_at)).all())

    return json_response(await state.db(ids))


def own_execution(db: Session, caller: Caller, name: str, version: str, execution_id: str) -> BatchExecution:
    execution = db.get(BatchExecution, execution_id)
    if (
        execution is None
        or execution.service_id != _service_id(db, name, version)
        or (execution.owner_id != caller.user_id and not caller.is_owner)
    ):
        raise not_found(f"batch execution '{execution_id}' was not found")
    return execution


async def status(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    p = request.path_params
    # Both spellings are in use: the swagger's showPartialResults, the SDKs' showPartialResult.
    raw = request.query_params.get("showPartialResults", request.query_params.get("showPartialResult", "true"))
    partial = raw.lower() not in ("false", "0", "no")

    def read(db: Session) -> dict:
        execution = own_execution(db, caller, p["name"], p["version"], p["execution_id"])
        results = db.scalars(
            select(BatchItem.result).where(BatchItem.execution_id == execution.id).order_by(BatchItem.index)
        ).all()
        done = sum(1 for r in results if r is not None)
        finished = execution.state in ("Complete", "Failed")
        return {
            "state": execution.state,
            "completedItemCount": done,
            "totalItemCount": execution.total,
            # Index-aligned with the submitted items; an unfinished item is null.
            "batchExecutionResults": list(results) if (partial or finished) else [],
        }

    return json_response(await state.db(read))


async def cancel_and_delete(request: Request):
    state = state_of(request)
    caller = await state.caller(request)
    p = request.path_params

    def remove(db: Session) -> None:
        db.delete(own_execution(db, caller, p["name"], p["version"], p["execution_id"]))

    await state.db(remove)
    await state.batches.forget([p["execution_id"]])
    return json_response([p["execution_id"]])


async def item_folder(state: ServerState, request: Request):
    caller = await state.caller(request)
    p = request.path_params
    await state.db(lambda db: own_execution(db, caller, p["name"], p["version"], p["execution_id"]))
    raw_index = p["index"]
    if not raw_index.isdigit():
        raise bad_request("'index' must be a non-negative integer (0-based)", "index")
    return state.batches.files_dir(p["execution_id"], int(raw_index))


async def list_files(request: Request):
    state = state_of(request)
    folder = await item_folder(state, request)
    names = sorted(f.name for f in folder.iterdir() if f.is_file()) if folder.is_dir() else []
    return json_response(names)


async def get_file(request: Request):
    state = state_of(request)
    folder = await item_folder(state, request)
    path = confined_path(folder, request.path_params["file_name"])
    if not path.is_file():
        raise not_found(f"file '{path.name}' was not found for this item")
    return FileResponse(path, filename=path.name)


B = "/api/{name}/{version}/batch"
routes = [
    Route(B, start, methods=["POST"]),
    Route(B, list_executions, methods=["GET"]),
    Route(B + "/{execution_id}", status, methods=["GET"]),
    Route(B + "/{execution_id}", cancel_and_delete, methods=["DELETE"]),
    Route(B + "/{execution_id}/{index}/files", list_files, methods=["GET"]),
    Route(B + "/{execution_id}/{index}/files/{file_name}", get_file, methods=["GET"]),
]
