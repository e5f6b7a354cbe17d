"""Errors the relay answers with: ``{"message", "field", "step"}`` and a status code."""

from __future__ import annotations

from o16n.client import O16nError, ServerError


class RelayError(Exception):
    """An answer other than 2xx, with the o16n server's message and status when it gave one."""

    def __init__(self, status: int, message: str, field: str | None = None, step: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.step = step

    def to_json(self) -> dict[str, str | None]:
        return {"message": self.message, "field": self.field, "step": self.step}


def from_client_error(exc: O16nError, url: str) -> RelayError:
    """Map an `o16n.client` error: its status passes through; no status means unreachable (502)."""
    if exc.status is None and not isinstance(exc, ServerError):
        return RelayError(400, exc.message, exc.field)  # refused by the client before sending
    if exc.status is None:
        message = exc.message if "o16n server" in exc.message else f"cannot reach the o16n server at {url}: {exc.message}"
        return RelayError(502, message, exc.field)
    if exc.status == 401:
        return RelayError(401, f"the o16n server refused our login ({exc.message}): log in to o16n again", exc.field)
    return RelayError(exc.status, exc.message, exc.field)
