"""Typed errors raised by the o16n client.

Every error carries the server's own message (server error bodies are JSON objects with a
``message`` field), the HTTP status when there was one, and the field the server named.
"""

from __future__ import annotations

from typing import Any


class O16nError(Exception):
    """Base class of every error raised by ``o16n.client``."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None,
                 method: str | None = None, url: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.method = method
        self.url = url
        self.body = body

    def __str__(self) -> str:
        prefix = f"{self.status}: " if self.status else ""
        return f"{prefix}{self.message}"


class AuthenticationError(O16nError):
    """401: bad credentials, or an access/refresh token the server no longer accepts."""


class TokenProviderError(AuthenticationError):
    """The token provider given to ``connect(token_provider=...)`` (or a token command) failed or
    answered something that is not a token. ``status`` is None, or 502 when it could not reach
    its identity provider."""


class PermissionDenied(O16nError):
    """403: authenticated, but not allowed (another user's service, Reader role, ...)."""


class NotFound(O16nError):
    """404: no such service, version, session, snapshot or batch execution."""


class InvalidInput(O16nError):
    """400/409/422 from the server, or a request the client refuses to send."""


class ServerError(O16nError):
    """5xx, or the server could not be reached at all."""


def error_for_status(status: int, message: str, **kw: Any) -> O16nError:
    """Map an HTTP status to the matching error class."""
    if status == 401:
        cls: type[O16nError] = AuthenticationError
    elif status == 403:
        cls = PermissionDenied
    elif status in (404, 410):
        cls = NotFound
    elif status in (400, 409, 422) or 400 <= status < 500:
        cls = InvalidInput
    else:
        cls = ServerError
    return cls(message, status=status, **kw)
