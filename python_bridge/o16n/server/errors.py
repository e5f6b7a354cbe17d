"""API errors: one exception type, rendered as the JSON error body both API families expect.

The core API's error body is `{message, link, exceptionType}`; the per-service API's is
`{code, message, fields}`. We always send all five keys so either kind of client finds its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.kind = kind or _KINDS.get(status, "Error")

    def body(self) -> dict:
        return {
            "message": self.message,
            "code": self.status,
            "fields": self.field or "",
            "exceptionType": self.kind,
            "link": "",
        }


_KINDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field=field)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


async def api_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
