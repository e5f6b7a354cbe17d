"""Consuming a service: POST /api/{name}/{version} and its swagger.json. The hot path lives here.

Consume = the caller (checked by the middleware, cached) -> cached service definition -> inputs
checked (pure JSON) -> an idle warm worker of the service's pool over a local socket -> JSON result.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...wire.errors import InputError
from ...wire.values import check_inputs
from ..domain.execution import run_service
from ..domain.specs import ServiceSpec
from ..errors import BadRequest
from ..http import json_response, parse_json
from ..middleware import caller_of
from ..state import state_of
from ..swagger import service_swagger


def parse_inputs(spec: ServiceSpec, raw: bytes) -> dict[str, Any]:
    body = parse_json(raw) if raw.strip() else {}
    try:
        return check_inputs(list(spec.inputs), body)
    except InputError as exc:
        raise BadRequest(str(exc), field=exc.field) from None


async def consume(request: Request) -> Response:
    state = state_of(request)  # every role may consume
    spec = await state.catalog.spec(request.path_params["name"], request.path_params["version"])
    inputs = parse_inputs(spec, await request.body())
    status, reply = await run_service(state.pools, spec, inputs, caller_of(request).user_id)
    # The worker's checked output JSON goes out as it came: no decoding and encoding again.
    return Response(reply.to_json(), status_code=status, media_type="application/json")


async def swagger_json(request: Request) -> Response:
    state = state_of(request)
    name, version = request.path_params["name"], request.path_params["version"]
    spec = await state.catalog.spec(name, version)
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
