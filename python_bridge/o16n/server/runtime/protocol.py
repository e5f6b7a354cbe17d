"""The typed protocol between the server and a worker (both sides import this; standard library only).

A frame is a header `!II` (meta length, payload length), a JSON object (the meta) and raw payload
bytes. Requests carry `op` and `seq`; the reply to a request echoes its `seq`. The answer to a
service run has a payload: the outputs and output files as JSON texts, so the server can pass
them through to the HTTP answer without decoding and encoding them again. Of the requests, only
`score` has one: the frame as JSON text (encoded by the server's fast encoder, not in the meta).

Files never travel by path. The server opens (or creates) the file and sends its descriptor over
a second socket (SCM_RIGHTS) just before the request that uses it; the worker reads or writes
through it. So no path a worker can touch is ever opened by the server on its behalf.

The worker is untrusted: user code can replace this module's functions inside the worker. So the
server parses every reply with replies.py, which checks types and sizes; nothing in a reply is
trusted beyond being data.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

PROTOCOL_VERSION = 2
HEADER = struct.Struct("!II")  # meta length, payload length
MAX_REQUEST_META = 1 << 30  # what the worker accepts from the server (inputs can be large)




def dumps(value: Any) -> bytes:
    """Compact JSON; NaN and infinities are not JSON and raise ValueError."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def frame(meta: dict[str, Any], payload: bytes = b"", encode: Callable[[Any], bytes] | None = None) -> bytes:
    body = (encode or dumps)(meta)
    return HEADER.pack(len(body), len(payload)) + body + payload


# --- requests (server -> worker) ---------------------------------------------------------------
@dataclass(eq=False, repr=False)  # cheap to define: every worker start does
class Request:
    op: ClassVar[str] = ""

    @property
    def fd_count(self) -> int:
        """How many file descriptors travel with this request (on the side socket)."""
        return 0

    def meta(self, seq: int) -> dict[str, Any]:
        return {"op": self.op, "seq": seq, **vars(self)}  # shallow: inputs are not copied (asdict would)

    @property
    def payload(self) -> bytes:
        """Bytes sent after the meta (none but for `score`)."""
        return b""

    @classmethod
    def decode(cls, fields: dict[str, Any], _payload: bytes) -> Request:
        return cls(**fields)


@dataclass(eq=False, repr=False)
class Ping(Request):
    op: ClassVar[str] = "ping"


@dataclass(eq=False, repr=False)
class AssignSession(Request):
    """Become a session worker; the descriptor is the file the live console goes to."""

    op: ClassVar[str] = "assign_session"

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(eq=False, repr=False)
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


@dataclass(eq=False, repr=False)
class RunService(Request):
    """One consume: the service's code in a fresh copy of its namespace (the hot path)."""

    op: ClassVar[str] = "run"
    inputs: dict[str, Any]


@dataclass(eq=False, repr=False)
class RunMany(Request):
    """Many consumes of a batch in one round trip, each as `run` would do it, in order. The worker
    may stop early (the reply then holds fewer items) when the reply would outgrow `reply_budget`
    payload bytes or its consoles the meta limit; the server sends the rest again."""

    op: ClassVar[str] = "run_many"
    records: list[dict[str, Any]]
    reply_budget: int


@dataclass(eq=False, repr=False)
class Execute(Request):
    """Session code in the session's persistent namespace."""

    op: ClassVar[str] = "execute"
    code: str
    inputs: dict[str, Any]
    outputs: list[str]


@dataclass(eq=False, repr=False)
class ListObjects(Request):
    op: ClassVar[str] = "list_objects"


@dataclass(eq=False, repr=False)
class GetObject(Request):
    """Write the dill bytes of one object into the descriptor."""

    op: ClassVar[str] = "get_object"
    name: str

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(eq=False, repr=False)
class SetObject(Request):
    """Load one object from the dill bytes in the descriptor."""

    op: ClassVar[str] = "set_object"
    name: str

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(eq=False, repr=False)
class DeleteObject(Request):
    op: ClassVar[str] = "delete_object"
    name: str


@dataclass(eq=False, repr=False)
class TakeSnapshot(Request):
    """Write the snapshot zip (objects and working dir) into the descriptor."""

    op: ClassVar[str] = "snapshot"

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(eq=False, repr=False)
class LoadSnapshot(Request):
    """Merge the snapshot zip in the descriptor into the namespace and the working dir."""

    op: ClassVar[str] = "load_snapshot"

    @property
    def fd_count(self) -> int:
        return 1


REQUESTS: dict[str, type[Request]] = {
    cls.op: cls
    for cls in (Ping, AssignSession, LoadService, RunService, RunMany, Execute, ListObjects, GetObject, SetObject,
                DeleteObject, TakeSnapshot, LoadSnapshot)
}


# --- realtime services (docs/realtime.md): a worker that scores one ONNX model and nothing else ---
@dataclass(eq=False, repr=False)
class LoadModel(Request):
    """Become a model worker: build an ONNX Runtime session from the model in the descriptor, once."""

    op: ClassVar[str] = "load_model"
    threads: int  # intra-op threads of the session

    @property
    def fd_count(self) -> int:
        return 1


@dataclass(eq=False, repr=False)
class Score(Request):
    """One consume of a realtime service: all rows of the frame in one run. The lean path: no
    namespace, no code, no working dir; answered like `run` (outputs: {"outputData": columns})."""

    op: ClassVar[str] = "score"
    frame_json: bytes  # the checked frame's columns, `{"col": [...]}`, as JSON text (the payload)
    # After answering, watch the socket this long for the next request before sleeping (0: don't).
    # The server asks for it only while this consume is alone: a steady single stream.
    watch_seconds: float = 0.0

    def meta(self, seq: int) -> dict[str, Any]:
        return {"op": self.op, "seq": seq, "watch_seconds": self.watch_seconds}

    @property
    def payload(self) -> bytes:
        return self.frame_json

    @classmethod
    def decode(cls, fields: dict[str, Any], payload: bytes) -> Request:
        return cls(frame_json=payload, watch_seconds=float(fields.get("watch_seconds", 0.0)))


REQUESTS.update({cls.op: cls for cls in (LoadModel, Score)})


def decode_request(meta: dict[str, Any], payload: bytes = b"") -> tuple[int, Request]:
    """The worker's side: (seq, request). The server is trusted here; a bad frame is a bug."""
    fields = dict(meta)
    seq, op = fields.pop("seq"), fields.pop("op")
    return int(seq), REQUESTS[op].decode(fields, payload)


def watch(fd: int, seconds: float, between: Callable[[], object] | None = None) -> None:
    """Poll `fd` without sleeping until it is readable or `seconds` have passed (both ends of a
    realtime score use it: waking from sleep costs more on a VM than the model's answer takes)."""
    ready = select.poll()
    ready.register(fd, select.POLLIN)
    deadline = time.perf_counter() + seconds
    while not ready.poll(0) and time.perf_counter() < deadline:
        if between is not None:
            between()


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
