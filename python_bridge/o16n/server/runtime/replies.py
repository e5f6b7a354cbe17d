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


@dataclass(frozen=True)
class ExecuteReply:
    """What one execution answered. `outputs_json` / `output_files_json` are the checked JSON texts."""

    success: bool
    error_message: str
    console_output: str
    changed_files: list[str]
    unhealthy: bool  # the worker ran out of memory: the server replaces it
    outputs: dict[str, Any] = field(default_factory=dict)
    output_files: dict[str, str | None] = field(default_factory=dict)  # name -> base64 (None: not written)
    outputs_json: bytes = b"{}"
    output_files_json: bytes = b"{}"


class _Meta:
    """Typed, size-checked access to one reply's meta object."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.meta.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolViolation(f"reply field '{key}' is missing or not a {getattr(kind, '__name__', kind)}")
        return value

    def text(self, key: str, limit: int) -> str:
        value: str = self.get(key, str)
        return value if len(value) <= limit else value[:limit] + "\n[truncated]\n"

    def flag(self, key: str) -> bool:
        value: bool = self.get(key, bool)
        return value

    def names(self, key: str) -> list[str]:
        values = self.get(key, list)
        if len(values) > MAX_NAMES or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in values):
            raise ProtocolViolation(f"reply field '{key}' is not a list of names")
        return values


def _reject_constant(name: str) -> Any:
    raise ProtocolViolation(f"{name} is not JSON")


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """One JSON object and nothing else (no NaN, bounded nesting), or ProtocolViolation."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolViolation(f"the {what} are not one JSON value: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ProtocolViolation(f"the {what} are not a JSON object")
    return value


def parse_header(meta: dict[str, Any], seq: int) -> tuple[bool, str]:
    """(ok, error message) of any reply, after checking it answers request `seq`."""
    fields = _Meta(meta)
    if fields.get("seq", int) != seq:
        raise ProtocolViolation("the reply answers another request")
    ok = fields.flag("ok")
    return ok, "" if ok else fields.text("error", MAX_ERROR)


def parse_pong(meta: dict[str, Any]) -> Pong:
    fields = _Meta(meta)
    return Pong(protocol=fields.get("protocol", int), uid=fields.get("uid", int))


def parse_names(meta: dict[str, Any]) -> list[str]:
    return _Meta(meta).names("names")


def parse_found(meta: dict[str, Any]) -> bool:
    return _Meta(meta).flag("found")


def parse_skipped(meta: dict[str, Any]) -> list[SkippedObject]:
    skipped = _Meta(meta).get("skipped", list)
    if len(skipped) > MAX_NAMES:
        raise ProtocolViolation("too many skipped objects")
    result = []
    for item in skipped:
        entry = _Meta(item if isinstance(item, dict) else {})
        result.append(SkippedObject(entry.text("name", MAX_NAME), entry.text("reason", MAX_ERROR)))
    return result


def parse_execute(meta: dict[str, Any], payload: bytes, console_limit: int,
                  output_files: tuple[str, ...] = ()) -> ExecuteReply:
    """An execution's answer. The outputs must be one JSON object, the output files one object
    mapping declared names to base64 text or null; both texts are kept for passing through."""
    fields = _Meta(meta)
    outputs_size = fields.get("outputs_size", int)
    if not 0 <= outputs_size <= len(payload):
        raise ProtocolViolation("reply sizes do not add up")
    outputs_json, files_json = payload[:outputs_size], payload[outputs_size:]
    outputs = parse_json_object(outputs_json, "outputs") if outputs_json else {}
    files: dict[str, Any] = parse_json_object(files_json, "output files") if files_json else {}
    if any(name not in output_files or not (value is None or isinstance(value, str)) for name, value in files.items()):
        raise ProtocolViolation("the output files are not the declared ones")
    return ExecuteReply(
        success=fields.flag("success"),
        error_message=fields.text("error_message", MAX_ERROR),
        console_output=fields.text("console", console_limit),
        changed_files=fields.names("changed_files"),
        unhealthy=fields.flag("unhealthy"),
        outputs=outputs,
        output_files=files,
        outputs_json=outputs_json or b"{}",
        output_files_json=files_json or b"{}",
    )


# --- the answer of one service request ---------------------------------------------------
def _text(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ServiceReply:
    success: bool
    error_message: str
    console_output: str
    changed_files: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # JSON-ready
    output_files: dict[str, str | None] = field(default_factory=dict)  # name -> base64 (None: not written)
    unhealthy: bool = False
    outputs_json: bytes = b"{}"
    output_files_json: bytes = b"{}"

    @classmethod
    def of(cls, reply: ExecuteReply) -> ServiceReply:
        return cls(reply.success, reply.error_message, reply.console_output, reply.changed_files, reply.outputs,
                   reply.output_files, reply.unhealthy, reply.outputs_json, reply.output_files_json)

    @classmethod
    def failure(cls, message: str) -> ServiceReply:
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
