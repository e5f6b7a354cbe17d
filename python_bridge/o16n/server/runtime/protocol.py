"""The typed protocol between the server and a worker (both sides import this; standard library only).

A frame is a header `!II` (meta length, payload length), a JSON object (the meta) and raw payload
bytes. Requests carry `op` and `seq`; the reply to a request echoes its `seq`. Only the answer to
a service run has a payload: the outputs and output files as JSON texts, so the server can pass
them through to the HTTP answer without decoding and encoding them again.

Files never travel by path. The server opens (or creates) the file and sends its descriptor over
a second socket (SCM_RIGHTS) just before the request that uses it; the worker reads or writes
through it. So no path a worker can touch is ever opened by the server on its behalf.

The worker is untrusted: user code can replace this module's functions inside the worker. So the
server parses every reply with the `parse_*` functions below, which check types and sizes and
raise ProtocolViolation for anything else; nothing in a reply is trusted beyond being data.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

PROTOCOL_VERSION = 2
HEADER = struct.Struct("!II")  # meta length, payload length
MAX_REQUEST_META = 1 << 30  # what the worker accepts from the server (inputs can be large)
MAX_NAME = 4096  # one file or object name in a reply
MAX_NAMES = 100_000  # names in one reply
MAX_ERROR = 1 << 20  # characters of one error message


class ProtocolViolation(ValueError):
    """A frame or reply that does not follow the protocol: the worker is broken or hostile."""


def dumps(value: Any) -> bytes:
    """Compact JSON; NaN and infinities are not JSON and raise ValueError."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def frame(meta: dict[str, Any], payload: bytes = b"") -> bytes:
    body = dumps(meta)
    return HEADER.pack(len(body), len(payload)) + body + payload


# --- requests (server -> worker) ---------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    op: ClassVar[str] = ""

    @property
    def fd_count(self) -> int:
        """How many file descriptors travel with this request (on the side socket)."""
        return 0

    def meta(self, seq: int) -> dict[str, Any]:
        return {"op": self.op, "seq": seq, **asdict(self)}


@dataclass(frozen=True)
class Ping(Request):
    op: ClassVar[str] = "ping"


@dataclass(frozen=True)
class AssignSession(Request):
    """Become a session worker; the descriptor is the file the live console goes to."""

    op: ClassVar[str] = "assign_session"

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(frozen=True)
class LoadService(Request):
    """Become a service worker: keep the definition, load the snapshot (the descriptor), run initCode."""

    op: ClassVar[str] = "load_service"
    code: str
    init_code: str | None
    input_types: dict[str, str]
    output_types: dict[str, str]
    output_files: list[str]
    has_snapshot: bool

    @property
    def fd_count(self) -> int:
        return 1 if self.has_snapshot else 0


@dataclass(frozen=True)
class RunService(Request):
    """One consume: the service's code in a fresh copy of its namespace (the hot path)."""

    op: ClassVar[str] = "run"
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Execute(Request):
    """Session code in the session's persistent namespace."""

    op: ClassVar[str] = "execute"
    code: str
    inputs: dict[str, Any]
    outputs: list[str]


@dataclass(frozen=True)
class ListObjects(Request):
    op: ClassVar[str] = "list_objects"


@dataclass(frozen=True)
class GetObject(Request):
    """Write the dill bytes of one object into the descriptor."""

    op: ClassVar[str] = "get_object"
    name: str

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(frozen=True)
class SetObject(Request):
    """Load one object from the dill bytes in the descriptor."""

    op: ClassVar[str] = "set_object"
    name: str

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(frozen=True)
class DeleteObject(Request):
    op: ClassVar[str] = "delete_object"
    name: str


@dataclass(frozen=True)
class TakeSnapshot(Request):
    """Write the snapshot zip (objects and working dir) into the descriptor."""

    op: ClassVar[str] = "snapshot"

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(frozen=True)
class LoadSnapshot(Request):
    """Merge the snapshot zip in the descriptor into the namespace and the working dir."""

    op: ClassVar[str] = "load_snapshot"

    @property
    def fd_count(self) -> int:
        return 1


REQUESTS: dict[str, type[Request]] = {
    cls.op: cls
    for cls in (Ping, AssignSession, LoadService, RunService, Execute, ListObjects, GetObject, SetObject,
                DeleteObject, TakeSnapshot, LoadSnapshot)
}


def decode_request(meta: dict[str, Any]) -> tuple[int, Request]:
    """The worker's side: (seq, request). The server is trusted here; a bad frame is a bug."""
    fields = dict(meta)
    seq, op = fields.pop("seq"), fields.pop("op")
    return int(seq), REQUESTS[op](**fields)


# --- the worker's blocking side of the sockets --------------------------------------------------
def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_request(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    meta_size, payload_size = HEADER.unpack(recv_exact(sock, HEADER.size))
    if meta_size > MAX_REQUEST_META or payload_size > MAX_REQUEST_META:
        raise ValueError("request frame too large")
    meta = json.loads(recv_exact(sock, meta_size))
    return meta, recv_exact(sock, payload_size)


def recv_fds(side: socket.socket, count: int) -> list[int]:
    """The descriptors sent with a request (close-on-exec: user code's subprocesses don't get them)."""
    fds: list[int] = []
    while len(fds) < count:
        data, received, _flags, _addr = socket.recv_fds(side, 1, count - len(fds), socket.MSG_CMSG_CLOEXEC)
        if not data:
            raise EOFError("the side socket closed")
        fds.extend(received)
    return fds


# --- replies (worker -> server), parsed by the server as untrusted data -------------------------
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
