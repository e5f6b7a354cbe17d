"""Replies of a worker, parsed by the server as untrusted data; and ServiceReply, a consume's answer.

User code can rewrite the worker's protocol loop, so a reply may say anything. The `parse_*`
functions accept only what the protocol allows and raise ProtocolViolation for everything else;
the client then kills the worker. Nothing here runs in the worker.

ServiceReply is the six-key WebServiceResult. The outputs and output files arrive as JSON texts
that `parse_execute` checked to be one JSON object each; `ServiceReply.to_json()` splices them
into the envelope as they are, so a large answer (a 1,000-row data frame) is not decoded into
Python objects and encoded again on its way through the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_NAME = 4096  # one file or object name in a reply
MAX_NAMES = 100_000  # names in one reply
MAX_ERROR = 1 << 20  # characters of one error message


class ProtocolViolation(ValueError):
    """A frame or reply that does not follow the protocol: the worker is broken or hostile."""


@dataclass(frozen=True)
class Pong:
    protocol: int
    uid: int  # the uid user code runs as, as the worker sees it


@dataclass(frozen=True)
class SkippedObject:
    name: str
    reason: str


@dataclass(eq=False, slots=True)  # made for every request: a plain class is quicker to build
class ExecuteReply:
    """What one execution answered (a session's execute, a service's run): the six keys of the
    WebServiceResult, and `outputs_json` / `output_files_json`, the checked JSON texts of two of them."""

    success: bool
    error_message: str
    console_output: str
    changed_files: list[str] = field(default_factory=list)
    unhealthy: bool = False  # the worker ran out of memory: the server replaces it
    outputs: dict[str, Any] = field(default_factory=dict)  # JSON-ready
    output_files: dict[str, str | None] = field(default_factory=dict)  # name -> base64 (None: not written)
    outputs_json: bytes = b"{}"
    output_files_json: bytes = b"{}"

    @classmethod
    def failure(cls, message: str) -> ExecuteReply:
        """An answer for a request that never ran (or whose worker failed)."""
        return cls(False, message, "")

    def to_result(self) -> dict[str, Any]:
        """The six keys every client reads; all always present."""
        return {
            "success": self.success,
            "errorMessage": self.error_message,
            "consoleOutput": self.console_output,
            "changedFiles": self.changed_files,
            "outputFiles": self.output_files,
            "outputParameters": self.outputs,
        }

    def to_json(self) -> bytes:
        """`to_result()` as JSON bytes, with the worker's checked output texts passed through."""
        return b"".join((
            b'{"success":', b"true" if self.success else b"false",
            b',"errorMessage":', _text(self.error_message),
            b',"consoleOutput":', _text(self.console_output),
            b',"changedFiles":', _text(self.changed_files),
            b',"outputFiles":', self.output_files_json,
            b',"outputParameters":', self.outputs_json,
            b"}",
        ))


# What PoolRegistry.run answers (contracts.md): a service's reply is an execution's reply.
ServiceReply = ExecuteReply


def _text(value: str | list[str]) -> bytes:
    if not value:
        return b'""' if isinstance(value, str) else b"[]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _field(meta: dict[str, Any], key: str, kind: type) -> Any:
    value = meta.get(key)
    if type(value) is not kind:  # exact: True is not an int here, nor a str subclass a str
        raise ProtocolViolation(f"reply field '{key}' is missing or not a {kind.__name__}")
    return value


def _text_field(meta: dict[str, Any], key: str, limit: int) -> str:
    value: str = _field(meta, key, str)
    return value if len(value) <= limit else value[:limit] + "\n[truncated]\n"


def _names_field(meta: dict[str, Any], key: str) -> list[str]:
    values: list[str] = _field(meta, key, list)
    if values and (len(values) > MAX_NAMES or not all(type(v) is str and 0 < len(v) <= MAX_NAME for v in values)):
        raise ProtocolViolation(f"reply field '{key}' is not a list of names")
    return values


def _reject_constant(name: str) -> Any:
    raise ProtocolViolation(f"{name} is not JSON")


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """One JSON object and nothing else (no NaN, bounded nesting), or ProtocolViolation."""
    try:
        value = orjson.loads(raw)  # the fast path; what it refuses, the standard library judges as before
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolViolation(f"the {what} are not one JSON value: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ProtocolViolation(f"the {what} are not a JSON object")
    return value


def parse_header(meta: dict[str, Any], seq: int) -> tuple[bool, str]:
    """(ok, error message) of any reply, after checking it answers request `seq`."""
    if _field(meta, "seq", int) != seq:
        raise ProtocolViolation("the reply answers another request")
    ok: bool = _field(meta, "ok", bool)
    return ok, "" if ok else _text_field(meta, "error", MAX_ERROR)


def parse_pong(meta: dict[str, Any]) -> Pong:
    return Pong(protocol=_field(meta, "protocol", int), uid=_field(meta, "uid", int))


def parse_names(meta: dict[str, Any]) -> list[str]:
    return _names_field(meta, "names")


def parse_found(meta: dict[str, Any]) -> bool:
    found: bool = _field(meta, "found", bool)
    return found


def parse_skipped(meta: dict[str, Any]) -> list[SkippedObject]:
    skipped = _field(meta, "skipped", list)
    if len(skipped) > MAX_NAMES:
        raise ProtocolViolation("too many skipped objects")
    result = []
    for item in skipped:
        entry = item if isinstance(item, dict) else {}
        result.append(SkippedObject(_text_field(entry, "name", MAX_NAME), _text_field(entry, "reason", MAX_ERROR)))
    return result


def parse_execute(meta: dict[str, Any], payload: bytes, console_limit: int,
                  output_files: tuple[str, ...] = ()) -> ExecuteReply:
    """An execution's answer. The outputs must be one JSON object, the output files one object
    mapping declared names to base64 text or null; both texts are kept for passing through."""
    outputs_size = _field(meta, "outputs_size", int)
    if not 0 <= outputs_size <= len(payload):
        raise ProtocolViolation("reply sizes do not add up")
    outputs_json, files_json = payload[:outputs_size], payload[outputs_size:]
    outputs = parse_json_object(outputs_json, "outputs") if outputs_json else {}
    files: dict[str, Any] = parse_json_object(files_json, "output files") if files_json else {}
    if files and any(name not in output_files or not (value is None or type(value) is str) for name, value in files.items()):
        raise ProtocolViolation("the output files are not the declared ones")
    return ExecuteReply(
        _field(meta, "success", bool),
        _text_field(meta, "error_message", MAX_ERROR),
        _text_field(meta, "console", console_limit),
        _names_field(meta, "changed_files"),
        _field(meta, "unhealthy", bool),
        outputs,
        files,
        outputs_json or b"{}",
        files_json or b"{}",
    )


def parse_execute_many(meta: dict[str, Any], payload: bytes, asked: int, console_limit: int,
                       output_files: tuple[str, ...] = ()) -> list[ExecuteReply]:
    """The answer to a batch chunk: between 1 and `asked` executions, in the order sent, each
    checked as `parse_execute` checks one; their payloads lie end to end."""
    items = _field(meta, "items", list)
    if not 1 <= len(items) <= asked:
        raise ProtocolViolation(f"the chunk reply holds {len(items)} items for {asked} asked")
    unhealthy = _field(meta, "unhealthy", bool)
    replies, offset = [], 0
    for item in items:
        if type(item) is not dict:
            raise ProtocolViolation("a chunk item is not an object")
        size = _field(item, "payload_size", int)
        if not 0 <= size <= len(payload) - offset:
            raise ProtocolViolation("chunk payload sizes do not add up")
        replies.append(parse_execute(item, payload[offset:offset + size], console_limit, output_files))
        offset += size
    if offset != len(payload):
        raise ProtocolViolation("chunk payload sizes do not add up")
    replies[-1].unhealthy = replies[-1].unhealthy or unhealthy
    return replies
