"""POST /login, POST /login/refreshToken, DELETE /login/refreshToken (the only public routes)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http import Fields, json_response, read_json
from ..state import state_of


async def login(request: Request) -> Response:
    body = Fields(await read_json(request))
    username = body.text("username", required=True) or ""
    password = body.text("password", required=True) or ""
    client = request.client.host if request.client else ""
    return json_response(await state_of(request).auth.login(username, password, client))


async def renew_token(request: Request) -> Response:
    body = Fields(await read_json(request))
    refresh_token = body.text("refreshToken", required=True) or ""
    return json_response(await state_of(request).auth.refresh(refresh_token))


async def revoke_refresh_token(request: Request) -> Response:
    # The core API passes the token in the query; the per-service swagger puts it in the path.
    token = request.path_params.get("token") or request.query_params.get("refreshToken") or ""
    await state_of(request).auth.revoke(token)
    # The 9.1 document declares an AccessTokenResponse here; generated clients refuse anything else.
    return json_response({"token_type": "Bearer", "access_token": "", "expires_in": 0, "expires_on": 0,
                          "refresh_token": ""})


routes = [
    Route("/login", login, methods=["POST"]),
    Route("/login/refreshToken", renew_token, methods=["POST"]),
    Route("/login/refreshToken", revoke_refresh_token, methods=["DELETE"]),
    Route("/login/refreshToken/{token}", revoke_refresh_token, methods=["DELETE"]),
]
