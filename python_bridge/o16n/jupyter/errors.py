"""The relay's one exception tree and its one error mapping.

    RelayError            an answer other than 2xx: status, message, and the relay request's field
    KernelUnavailable     the kernel does not exist (404), is dead or stays busy (409)
    KernelCodeFailed      the in-kernel helper itself raised (e.g. dill missing): a 500

`relay_error(exc, where)` turns anything a handler or a publish job meets into a RelayError whose
`field` names a field of the request the lab sent (docs/jupyter-api.md), never a server-side name:
the o16n server's `inputParameterDefinitions` is the panel's `inputs`, its `[2]` becomes `inputs.2`,
and in a consume or batch call the server's field (an input's name) becomes `inputs.NAME` or
`records.N`. Handlers answer `to_json()`; publish jobs store it as their `error`.
"""

from __future__ import annotations

import re

from o16n.client import O16nError, ServerError, TokenProviderError


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


class KernelUnavailable(Exception):
    """The kernel does not exist (404), is dead or stays busy (409)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class KernelCodeFailed(Exception):
    """The in-kernel helper raised (e.g. dill missing); the message names the cause."""


# The o16n server's PublishWebServiceRequest fields -> the relay's publish request fields.
SERVER_FIELDS: dict[str, str | None] = {
    "inputparameterdefinitions": "inputs",
    "outputparameterdefinitions": "outputs",
    "snapshotid": "objects",
    "code": "code",
    "initcode": "initCode",
    "description": "description",
    "operationid": "operationId",
    "outputfilenames": "outputFileNames",
    "name": "name",
    "version": "version",
    "runtimetype": None,
    "environment": "environment",
    "model": "model",
}
_MESSAGE_NAMES = {"inputParameterDefinitions": "inputs", "outputParameterDefinitions": "outputs"}
_ROW = re.compile(r"(inputParameterDefinitions|outputParameterDefinitions)\[(\d+)\]")
_ITEM = re.compile(r"^item (\d+):")


def server_field(field: str | None, message: str, where: str = "publish") -> str | None:
    """The relay request's name for a field the o16n server named in an error."""
    if not field:
        return None
    if where == "consume":
        return "inputs" if field == "body" else f"inputs.{field}"
    if where == "batch":
        item = _ITEM.match(message)
        return f"records.{item.group(1)}" if item else "records"
    mapped = SERVER_FIELDS.get(field.lower(), field if field in RELAY_FIELDS else None)
    row = _ROW.search(message)
    if mapped in ("inputs", "outputs") and row:
        return f"{mapped}.{row.group(2)}"
    return mapped


# Every field a relay request may name (docs/jupyter-api.md).
RELAY_FIELDS = frozenset({"name", "version", "description", "code", "functionName", "inputs", "outputs", "objects",
                          "files", "initCode", "outputFileNames", "operationId", "kernelId", "notebook", "body",
                          "username", "password", "method", "records", "parallelCount", "jobId", "variables",
                          "environment", "kind", "model", "sample"})


def _relay_message(message: str) -> str:
    for server, relay in _MESSAGE_NAMES.items():
        message = message.replace(server, relay)
    return message


def from_client_error(exc: O16nError, url: str, where: str = "publish") -> RelayError:
    """Map an `o16n.client` error: its status passes through; no status means unreachable (502)."""
    if isinstance(exc, TokenProviderError):  # our sign-in at the OpenID provider, not the o16n server
        return RelayError(exc.status or 401, exc.message)
    field = server_field(exc.field, exc.message, where)
    if exc.status is None and not isinstance(exc, ServerError):
        return RelayError(400, _relay_message(exc.message), field)  # refused by the client before sending
    if exc.status is None:
        message = exc.message if "o16n server" in exc.message else f"cannot reach the o16n server at {url}: {exc.message}"
        return RelayError(502, message, field)
    if exc.status == 401:
        return RelayError(401, f"the o16n server refused our login ({exc.message}): log in to o16n again", field)
    return RelayError(exc.status, _relay_message(exc.message), field)


def relay_error(exc: BaseException, url: str = "", where: str = "publish") -> RelayError:
    """The one mapping of anything a handler or a publish job meets to the relay's answer."""
    if isinstance(exc, RelayError):
        return exc
    if isinstance(exc, O16nError):
        return from_client_error(exc, url, where)
    if isinstance(exc, KernelUnavailable):
        return RelayError(exc.status, exc.message, "kernelId")
    if isinstance(exc, KernelCodeFailed):
        return RelayError(500, f"the kernel could not do it: {exc}")
    return RelayError(500, f"{type(exc).__name__}: {exc}")
