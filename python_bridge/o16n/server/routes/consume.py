"""Consuming a service: POST /api/{name}/{version} and its swagger.json. The hot path lives here.

Consume = the caller (checked by the middleware, cached) -> cached service definition -> inputs
checked (pure JSON) -> an idle warm worker of the service's pool over a local socket -> JSON result.
It is a bare ASGI endpoint: Starlette's Request and Response objects cost about a fifth of a
realtime consume scored in-process; and the app (`app.O16nApp`) calls it ahead of Starlette's
router and exception layers. Errors still raise ApiError, answered as on every other route.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ...wire.errors import InputError
from ...wire.values import check_inputs
from ..domain.execution import run_service
from ..domain.specs import ServiceSpec
from ..errors import BadRequest
from ..http import json_response, parse_json, read_body, send_json
from ..middleware import CALLER
from ..state import ServerState, state_of
from ..swagger import service_swagger


def parse_inputs(spec: ServiceSpec, raw: bytes) -> dict[str, Any]:
    body = parse_json(raw) if raw.strip() else {}
    try:
        return check_inputs(list(spec.inputs), body)
    except InputError as exc:
        raise BadRequest(str(exc), field=exc.field) from None


class Consume:
    """POST /api/{name}/{version}; every role may consume."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: ServerState = scope["app"].state.o16n
        params = scope["path_params"]
        spec = await state.catalog.spec(params["name"], params["version"])
        inputs = parse_inputs(spec, await read_body(receive))
        status, reply = await run_service(state.pools, spec, inputs, scope[CALLER].user_id)
        # The worker's checked output JSON goes out as it came: no decoding and encoding again.
        await send_json(send, status, reply.to_json())


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
    Route("/api/{name}/{version}", Consume(), methods=["POST"]),
    Route("/api/{name}/{version}/swagger.json", swagger_json, methods=["GET"]),
]
