"""The ASGI application: authentication middleware, routes, error handling, start-up and shutdown."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

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
    return _server_failed(request.method, request.url.path, exc)


def _server_failed(method: str, path: str, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", method, path, exc_info=exc)
    return error_response(WorkerFailed(f"the server failed: {type(exc).__name__}"))


CONSUME_PATH = re.compile(r"^/api/(?P<name>[^/]+)/(?P<version>[^/]+)$")


class O16nApp(Starlette):
    """Starlette, with consumes (POST /api/{name}/{version}, the hot path) answered ahead of its
    router and exception layers: those cost about a tenth of a realtime consume (bench/README.md).
    A consume still passes the same authentication middleware and answers the same errors; its
    route stays in the table (`routes/consume.py`), where GET on the path finds its 405."""

    def __init__(self, *args: object, consume: ASGIApp, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.consume = consume

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = CONSUME_PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope["path_params"] = match.groupdict()
        try:
            await self.consume(scope, receive, send)  # it sends only once its whole answer is there
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
        except ClientDisconnect:
            pass  # nobody to answer
        except Exception as exc:
            await _server_failed(scope["method"], scope["path"], exc)(scope, receive, send)


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
        *consume.routes,  # POST is answered before the router (O16nApp); listed for the table and the 405 of GET
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
    app = O16nApp(
        routes=routes,
        middleware=[
            Middleware(AuthenticationMiddleware, authenticator=state.auth, settings=settings),
            Middleware(SessionForwarding, sessions=state.sessions, timeout=settings.execute_timeout + 60),
        ],
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler, HTTPException: http_error, Exception: unexpected_error},
        consume=AuthenticationMiddleware(consume.Consume(), authenticator=state.auth, settings=settings),
    )
    app.state.o16n = state
    return app
