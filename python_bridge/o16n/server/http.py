"""Small request helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Send

from ..wire import jsonio
from ..wire.errors import WireError
from .errors import BadRequest, PayloadTooLarge, UnsupportedMedia

MAX_JSON_BODY = 64 * 1024 * 1024


async def read_json(request: Request, *, required: bool = True) -> Any:
    """Parse a JSON body; a clear 400/413/415 instead of a stack trace when it isn't JSON."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequest("this call needs a JSON body", field="body")
        return None
    if content_type and "json" not in content_type and "text/plain" not in content_type:
        raise UnsupportedMedia(f"send the body as application/json (got '{content_type}')")
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """One JSON body: bounded nesting, finite numbers, integers in range (`o16n.wire.jsonio`)."""
    if len(raw) > MAX_JSON_BODY:
        raise PayloadTooLarge(f"the JSON body is larger than {MAX_JSON_BODY // (1024 * 1024)} MB", field="body")
    try:
        return jsonio.loads(raw)
    except WireError as exc:
        raise BadRequest(exc.message, field=exc.field) from None


class Fields:
    """Read JSON object members by name, ignoring case (old clients mix camelCase and PascalCase)."""

    def __init__(self, body: Any, what: str = "body") -> None:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise BadRequest(f"the {what} must be a JSON object", field=what)
        self.values = {str(k).lower(): v for k, v in body.items()}

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name.lower(), default)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                raise BadRequest(f"'{name}' is required (a string)", field=name)
            return None
        if not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a string, got {type(value).__name__}", field=name)
        return value

    def strings(self, name: str) -> list[str] | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"'{name}' must be an array of strings", field=name)
        return value


def json_response(data: Any, status: int = 200) -> Response:
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")


def text_response(message: str, status: int = 200) -> Response:
    """The original API answers several calls with a JSON string body."""
    return json_response(message, status)



# --- for the bare ASGI endpoints of the hot path (routes/consume.py) ----------------------------
async def read_body(receive: Receive) -> bytes:
    """The whole request body, as `Request.body()` reads it, without building a Request."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(send: Send, status: int, body: bytes) -> None:
    """A JSON answer, as `Response(body, media_type="application/json")` sends it."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
