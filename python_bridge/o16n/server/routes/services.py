"""Publishing and managing web services: /services[/{name}[/{version}[/pool]]]."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..domain.requests import PoolSizes, ServiceDefinition, check_name
from ..http import Fields, json_response, read_json, text_response
from ..middleware import caller_of
from ..state import state_of


async def list_all(request: Request) -> Response:
    views = await state_of(request).catalog.list_services(caller_of(request))
    return json_response([v.to_json() for v in views])


async def list_versions(request: Request) -> Response:
    views = await state_of(request).catalog.list_services(caller_of(request), request.path_params["name"])
    return json_response([v.to_json() for v in views])


async def get_version(request: Request) -> Response:
    p = request.path_params
    view = await state_of(request).catalog.get(caller_of(request), p["name"], p["version"])
    return json_response([view.to_json()])  # the core swagger declares an array; generated clients iterate


async def publish(request: Request) -> Response:
    caller = caller_of(request)
    caller.require_publisher("publishing")
    name = check_name(request.path_params["name"], "name")
    version = check_name(request.path_params["version"], "version") if "version" in request.path_params else None
    definition = ServiceDefinition.parse(Fields(await read_json(request)), partial=False)
    version = await state_of(request).catalog.publish(caller, name, version, definition)
    return text_response(f"/api/{name}/{version}", 201)


async def patch(request: Request) -> Response:
    p = request.path_params
    definition = ServiceDefinition.parse(Fields(await read_json(request)), partial=True)
    await state_of(request).catalog.patch(caller_of(request), p["name"], p["version"], definition)
    return text_response(f"/api/{p['name']}/{p['version']}")


async def delete(request: Request) -> Response:
    p = request.path_params
    await state_of(request).catalog.delete(caller_of(request), p["name"], p["version"])
    return text_response(f"web service '{p['name']}' version '{p['version']}' was deleted")


# --- dedicated pools (ML Server 9.3) -----------------------------------------------------------
async def set_pool(request: Request) -> Response:
    p = request.path_params
    sizes = PoolSizes.parse(Fields(await read_json(request)))
    await state_of(request).catalog.set_pool(caller_of(request), p["name"], p["version"], sizes)
    return text_response("Created.")


async def pool_status(request: Request) -> Response:
    state = state_of(request)
    view = await state.catalog.pool_status(request.path_params["name"], request.path_params["version"])
    # 9.3 documents PascalCase; this server answered camelCase before: both, for either kind of client.
    return json_response([{"ComputeNodeEndpoint": state.node_url, "Status": view.status,
                           "computeNodeEndpoint": state.node_url, "status": view.status}])


async def delete_pool(request: Request) -> Response:
    p = request.path_params
    await state_of(request).catalog.delete_pool(caller_of(request), p["name"], p["version"])
    return text_response("Deleted.")


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
