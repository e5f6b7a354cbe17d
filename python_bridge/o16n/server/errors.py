"""The server's one exception tree. The domain raises these; one handler renders them.

    ApiError                    .status .message .field (the request field at fault, if any)
    ├── BadRequest          400 a field is missing, malformed or not allowed (always names the field)
    ├── Unauthorized        401 no token, a bad/expired/revoked one, or bad credentials
    ├── Forbidden           403 authenticated, but the role or the owner says no
    ├── NotFound            404 no such thing, or not yours (no existence leak)
    ├── Conflict            409 it exists already, or changed under us
    ├── Gone                410 a session whose process is gone (its worker died, or its node stopped)
    ├── PayloadTooLarge     413
    ├── UnsupportedMedia    415
    ├── TooManyRequests     429 a limit the caller can act on; .limit names the setting
    ├── WorkerFailed        500 a service's worker died during the request; it has been replaced and
    │                           the service still exists: the next request works
    ├── Unavailable         503 the server cannot take the request now (no worker became free, the
    │                           database is down)
    └── TimedOut            504 the code ran past its timeout; its worker was stopped

What a dead worker means depends on what it served: a *service* worker is replaced (500, retry works),
a *session* worker was the session (410, create a new session).

The core API's error body is `{message, link, exceptionType}`; the per-service API's is
`{code, message, fields}`. Every error body carries all five keys so either kind of client finds its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    status: int = 500
    kind: str = "Error"

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:  # Starlette's own 404/405, and 9.1's 403-or-409 below
            self.status = status

    def body(self) -> dict[str, object]:
        kind = self.kind if type(self) is not ApiError else _KINDS.get(self.status, self.kind)
        return {"message": self.message, "code": self.status, "fields": self.field or "",
                "exceptionType": kind, "link": ""}


class BadRequest(ApiError):
    status, kind = 400, "BadRequest"


class Unauthorized(ApiError):
    status, kind = 401, "Unauthorized"


class Forbidden(ApiError):
    status, kind = 403, "Forbidden"


class NotFound(ApiError):
    status, kind = 404, "NotFound"


class Conflict(ApiError):
    status, kind = 409, "Conflict"


class Gone(ApiError):
    status, kind = 410, "Gone"


class PayloadTooLarge(ApiError):
    status, kind = 413, "PayloadTooLarge"


class UnsupportedMedia(ApiError):
    status, kind = 415, "UnsupportedMediaType"


class TooManyRequests(ApiError):
    status, kind = 429, "TooManyRequests"

    def __init__(self, message: str, *, limit: str | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.limit = limit


class WorkerFailed(ApiError):
    status, kind = 500, "InternalServerError"


class Unavailable(ApiError):
    status, kind = 503, "ServiceUnavailable"


class TimedOut(ApiError):
    status, kind = 504, "GatewayTimeout"


class ExistsAlready(ApiError):
    """A name + version taken already: 403 on the versioned route, 409 on the other (as 9.1 answers)."""

    kind = "Conflict"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, status=status)


_KINDS = {cls.status: cls.kind for cls in ApiError.__subclasses__()}


def error_response(exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def api_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)
