"""Service environments (o16n extension, docs/environments.md): build one ahead of a publish, list
them, see the server's own, delete an unused one."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..environments.service import server_environment
from ..environments.spec import EnvironmentRefused, EnvironmentSpec
from ..http import json_response, read_json, text_response
from ..middleware import caller_of
from ..state import state_of


async def create(request: Request) -> Response:
    caller = caller_of(request)
    caller.require_publisher("building environments")
    spec = EnvironmentSpec.parse(await read_json(request))
    if spec is None:
        raise EnvironmentRefused("the body must be an environment {python, packages}")
    view, ready = await state_of(request).environments.request(caller, spec)
    return json_response(view.to_json(), 200 if ready else 202)


async def list_all(request: Request) -> Response:
    views = await state_of(request).environments.list_all()
    return json_response([v.to_json() for v in views])


async def server(_request: Request) -> Response:
    return json_response(await run_in_threadpool(server_environment))


async def get_one(request: Request) -> Response:
    view = await state_of(request).environments.get(request.path_params["key"])
    return json_response(view.to_json())


async def delete(request: Request) -> Response:
    key = request.path_params["key"]
    await state_of(request).environments.delete(caller_of(request), key)
    return text_response(f"environment {key} was deleted")


routes = [
    Route("/environments", create, methods=["POST"]),
    Route("/environments", list_all, methods=["GET"]),
    Route("/environments/server", server, methods=["GET"]),
    Route("/environments/{key}", get_one, methods=["GET"]),
    Route("/environments/{key}", delete, methods=["DELETE"]),
]
