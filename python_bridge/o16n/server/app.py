"""The ASGI application: routes, error handling, start-up and shutdown."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .config import Settings
from .errors import ApiError, api_error_handler
from .http import json_response
from .routes import (
    batch,
    consume,
    login,
    realtime,
    services,
    sessions,
    snapshots,
    status,
)
from .state import ServerState
from .swagger import core_openapi

log = logging.getLogger("o16n")


async def openapi(request: Request):
    await request.app.state.o16n.caller(request)
    return json_response(core_openapi())


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return await api_error_handler(_request, ApiError(exc.status_code, str(exc.detail)))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return await api_error_handler(request, ApiError(500, f"the server failed: {type(exc).__name__}"))


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.runtime.start()
        await state.batches.resume_unfinished()
        try:
            yield
        finally:
            await state.close()

    routes = [
        *consume.routes,  # first: the router tries routes in order, and consume is the hot path
        *batch.routes,
        Route("/swagger.json", openapi, methods=["GET"]),
        *login.routes,
        *status.routes,
        *sessions.routes,
        *snapshots.routes,
        *services.routes,
        *realtime.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler, HTTPException: http_error, Exception: unexpected_error},
    )
    app.state.o16n = state
    return app
