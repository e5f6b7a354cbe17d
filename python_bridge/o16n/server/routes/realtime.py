"""/realtime-services: R Server's realtime services took models serialized by revoscalepy's
rx_serialize_model, which only Microsoft's runtime can read. This server answers with a clear 400
and points at standard services instead."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import BadRequest


async def realtime(_request: Request) -> Response:
    raise BadRequest(
        "realtime services (models from rx_serialize_model) are not supported by this server: "
        "publish a standard Python service with POST /services/{name}/{version} and your model in a snapshot",
        field="model",
    )


routes = [
    Route("/realtime-services/{name}", realtime, methods=["POST"]),
    Route("/realtime-services/{name}/{version}", realtime, methods=["POST", "PATCH"]),
]
