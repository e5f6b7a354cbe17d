"""The 9.3 compute-node operations, for the nodes of this cluster (Owner only).

GET /computenodes lists the nodes' URLs (9.3's `computeNodes`) and, as an o16n extension, each
node's state, start, last heartbeat and capacity (`nodes`). POST sets the list (nodes not in it are
removed: they drain, their sessions are gone), PUT adds URLs (nodes expected to join), DELETE
removes some. Nodes register themselves when they start; the list is how an Owner retires one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import BadRequest, Forbidden
from ..http import Fields, json_response, read_json, text_response
from ..middleware import caller_of
from ..state import state_of


def _owner(request: Request) -> None:
    if not caller_of(request).is_owner:
        raise Forbidden("managing compute nodes needs the Owner role")


async def _entries(request: Request) -> list[str]:
    entries = Fields(await read_json(request)).strings("entries")
    if not entries:
        raise BadRequest("'entries' must be a non-empty array of node URLs", field="entries")
    for entry in entries:
        if not entry.startswith(("http://", "https://")):
            raise BadRequest(f"'entries' must hold http(s) URLs, got {entry!r}", field="entries")
    return entries


async def list_nodes(request: Request) -> Response:
    _owner(request)
    nodes = await state_of(request).cluster.nodes()
    return json_response({"computeNodes": [n.url for n in nodes], "nodes": [n.to_json() for n in nodes]})


async def set_nodes(request: Request) -> Response:
    _owner(request)
    await state_of(request).cluster.set_expected(await _entries(request), replace=True)
    return text_response("OK")


async def add_nodes(request: Request) -> Response:
    _owner(request)
    await state_of(request).cluster.set_expected(await _entries(request), replace=False)
    return text_response("OK")


async def remove_nodes(request: Request) -> Response:
    _owner(request)
    await state_of(request).cluster.remove(await _entries(request))
    return text_response("OK")


routes = [
    Route("/computenodes", list_nodes, methods=["GET"]),
    Route("/computenodes", set_nodes, methods=["POST"]),
    Route("/computenodes", add_nodes, methods=["PUT"]),
    Route("/computenodes", remove_nodes, methods=["DELETE"]),
]
