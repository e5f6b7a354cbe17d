"""Framing between the server and a worker: a JSON header plus an optional binary payload.

Frame = 8-byte header (two big-endian uint32: JSON length, payload length), the JSON, the payload.
JSON keeps the server from ever unpickling what a worker sends; the payload carries opaque bytes
(dill-serialized workspace objects) that only a worker interprets.
"""

from __future__ import annotations

import json
import socket
import struct

HEADER = struct.Struct("!II")
MAX_JSON = 512 * 1024 * 1024


def encode(message: dict, payload: bytes = b"") -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return HEADER.pack(len(body), len(payload)) + body + payload


def decode_header(header: bytes) -> tuple[int, int]:
    json_len, payload_len = HEADER.unpack(header)
    if json_len > MAX_JSON:
        raise ValueError("worker frame too large")
    return json_len, payload_len


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[dict, bytes]:
    """Blocking read of one frame (the worker side)."""
    json_len, payload_len = decode_header(recv_exact(sock, HEADER.size))
    message = json.loads(recv_exact(sock, json_len))
    payload = recv_exact(sock, payload_len) if payload_len else b""
    return message, payload
