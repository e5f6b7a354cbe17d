"""The ASGI application: authentication middleware, routes, error handling, start-up and shutdown."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from .config import Settings
from .errors import ApiError, WorkerFailed, api_error_handler, error_response
from .forwarding import SessionForwarding
from .middleware import AuthenticationMiddleware
from .routes import batch, cluster, consume, environments, health, login, realtime, services, sessions, snapshots, status, users
from .state import ServerState

log = logging.getLogger("o16n")


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(ApiError(str(exc.detail), status=exc.status_code))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(WorkerFailed(f"the server failed: {type(exc).__name__}"))


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.close()

    routes = [
        *consume.routes,  # first: the router tries routes in order, and consume is the hot path
        *batch.routes,
        *status.routes,
        *health.routes,
        *login.routes,
        *sessions.routes,
        *snapshots.routes,
        *services.routes,
        *realtime.routes,
        *users.routes,
        *cluster.routes,
        *environments.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AuthenticationMiddleware, authenticator=state.auth, settings=settings),
            Middleware(SessionForwarding, sessions=state.sessions, timeout=settings.execute_timeout + 60),
        ],
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler, HTTPException: http_error, Exception: unexpected_error},
    )
    app.state.o16n = state
    return app
