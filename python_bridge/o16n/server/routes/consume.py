"""Consuming a service: POST /api/{name}/{version} and its swagger.json. The hot path lives here.

Consume = check the token (cached) -> cached service definition -> validate inputs (pure JSON)
-> an idle warm worker of the service's pool over a local socket -> JSON result.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from ..errors import bad_request
from ..http import json_response, parse_json
from ..runtime.pools import PoolBusy, ServiceInitError, ServiceSpec
from ..runtime.process import WorkerError, WorkerTimeout
from ..state import ServerState, state_of
from ..swagger import service_swagger
from ..types import InputError, check_inputs


def web_service_result(result: dict) -> dict:
    """The six keys every client reads; all always present."""
    return {
        "success": result.get("success", False),
        "errorMessage": result.get("errorMessage", ""),
        "consoleOutput": result.get("consoleOutput", ""),
        "changedFiles": result.get("changedFiles", []),
        "outputFiles": result.get("outputFiles", {}),
        "outputParameters": result.get("outputs", {}),
    }


def failed_result(message: str) -> dict:
    return web_service_result({"success": False, "errorMessage": message})


async def run_service(state: ServerState, spec: ServiceSpec, inputs: dict) -> tuple[int, dict]:
    """Run one request on the service's pool: (HTTP status, WebServiceResult)."""
    pool = state.pools.pool_for(spec)
    timeout = state.settings.consume_timeout
    try:
        result = await pool.run(inputs, timeout)
    except PoolBusy as exc:
        return 503, failed_result(str(exc))
    except WorkerTimeout:
        return 504, failed_result(f"the service did not finish within {timeout:g} s; its worker was stopped")
    except ServiceInitError as exc:
        return 500, failed_result(str(exc))
    except WorkerError as exc:
        return 500, failed_result(f"the service's worker failed: {exc}; it has been replaced")
    # User-code errors are answers (success false), not server faults.
    return 200, web_service_result(result)


def parse_inputs(spec: ServiceSpec, raw: bytes) -> dict:
    body = parse_json(raw) if raw.strip() else {}
    try:
        return check_inputs(list(spec.inputs), body)
    except InputError as exc:
        raise bad_request(str(exc), exc.field) from None


async def consume(request: Request):
    state = state_of(request)
    await state.caller(request)  # every role may consume
    spec = await state.service_spec(request.path_params["name"], request.path_params["version"])
    inputs = parse_inputs(spec, await request.body())
    status, result = await run_service(state, spec, inputs)
    return json_response(result, status)


async def swagger_json(request: Request):
    state = state_of(request)
    await state.caller(request)
    name, version = request.path_params["name"], request.path_params["version"]
    spec = await state.service_spec(name, version)
    document = service_swagger(
        {
            "name": name,
            "version": version,
            "description": spec.description,
            "operationId": spec.operation_id,
            "inputParameterDefinitions": [p.to_json() for p in spec.inputs],
            "outputParameterDefinitions": [{"name": n, "type": t} for n, t in spec.outputs.items()],
            "outputFileNames": list(spec.output_files),
        },
        host=request.headers.get("host"),
    )
    return json_response(document)


routes = [
    Route("/api/{name}/{version}", consume, methods=["POST"]),
    Route("/api/{name}/{version}/swagger.json", swagger_json, methods=["GET"]),
]
