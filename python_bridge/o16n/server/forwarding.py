"""Sessions are processes on one node; a request for one that lives on another node is forwarded
there, so that any balancer may send any request to any node (no stickiness needed).

Runs after authentication. The forwarded request carries the caller's own token (every node
accepts every node's tokens: the keys are in the database), and `x-o16n-forwarded` so that it is
never forwarded again. A session whose node stopped answers 410 here, without a round trip.
"""

from __future__ import annotations

import re

import httpx
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .domain.sessions import Elsewhere, SessionService
from .errors import ApiError, Gone, Unavailable, error_response
from .middleware import CALLER

FORWARDED = "x-o16n-forwarded"
SESSION_PATH = re.compile(r"^/sessions/([^/]+)(/.*)?$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


class SessionForwarding:
    def __init__(self, app: ASGIApp, sessions: SessionService, timeout: float) -> None:
        self.app = app
        self.sessions = sessions
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = SESSION_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or CALLER not in scope or _header(scope, FORWARDED) is not None:
            await self.app(scope, receive, send)
            return
        try:
            where = await self.sessions.whereabouts(scope[CALLER], match.group(1))
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if where is None:  # here, or nowhere: the routes answer
            await self.app(scope, receive, send)
            return
        await self._forward(where, scope, receive, send)

    async def _forward(self, where: Elsewhere, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append((FORWARDED, where.from_node))
        url = where.url + scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        try:
            upstream = await self.http.send(
                self.http.build_request(scope["method"], url, headers=headers, content=request.stream()),
                stream=True)
        except httpx.HTTPError as exc:
            # The node is there in the registry but does not answer: for the caller the session is gone.
            error: ApiError = Gone(f"the node that ran this session stopped (it does not answer: {type(exc).__name__})")
            if isinstance(exc, httpx.TimeoutException):
                error = Unavailable("the node that runs this session did not answer in time")
            await error_response(error)(scope, receive, send)
            return
        reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        response = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code, headers=reply_headers,
                                     background=None)
        try:
            await response(scope, receive, send)
        finally:
            await upstream.aclose()

    async def close(self) -> None:
        await self.http.aclose()


def _header(scope: Scope, name: str) -> str | None:
    key = name.encode()
    for k, v in scope.get("headers") or ():
        if k == key:
            return bytes(v).decode("latin-1")
    return None
