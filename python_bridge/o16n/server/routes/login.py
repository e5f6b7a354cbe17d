"""POST /login, POST /login/refreshToken, DELETE /login/refreshToken."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from ..errors import ApiError
from ..http import Fields, json_response, read_json
from ..state import state_of


async def login(request: Request):
    state = state_of(request)
    body = Fields(await read_json(request))
    username = body.text("username", required=True)
    password = body.text("password", required=True)
    client = request.client.host if request.client else ""
    state.login_throttle.check(username, client)
    try:
        tokens = await run_in_threadpool(state.tokens.login, username, password)
    except ApiError:
        state.login_throttle.failed(username, client)
        raise
    state.login_throttle.succeeded(username, client)
    return json_response(tokens)


async def renew_token(request: Request):
    body = Fields(await read_json(request))
    refresh_token = body.text("refreshToken", required=True)
    tokens = await run_in_threadpool(state_of(request).tokens.refresh, refresh_token)
    return json_response(tokens)


async def revoke_refresh_token(request: Request):
    # The core API passes the token in the query; the per-service swagger puts it in the path.
    token = request.path_params.get("token") or request.query_params.get("refreshToken") or ""
    await run_in_threadpool(state_of(request).tokens.revoke, token)
    return json_response("the refresh token was revoked")


routes = [
    Route("/login", login, methods=["POST"]),
    Route("/login/refreshToken", renew_token, methods=["POST"]),
    Route("/login/refreshToken", revoke_refresh_token, methods=["DELETE"]),
    Route("/login/refreshToken/{token}", revoke_refresh_token, methods=["DELETE"]),
]
