"""GET /health/live and GET /health/ready: for load balancers and orchestrators, without a token.

They answer with no internal detail: live says the process serves HTTP; ready says this node can
serve requests (database reachable, schema current, artifact store reachable, node not drained).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..state import state_of


async def live(_request: Request) -> Response:
    return JSONResponse({"status": "live"})


async def ready(request: Request) -> Response:
    if await state_of(request).ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready"}, status_code=503)


routes = [
    Route("/health/live", live, methods=["GET"]),
    Route("/health/ready", ready, methods=["GET"]),
]
