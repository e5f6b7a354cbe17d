"""Framing between the server and a worker: length-prefixed JSON, nothing else.

JSON keeps the server from ever unpickling what a worker sends. Bulk bytes (snapshots, workspace
objects) never travel here: they go through files in the worker's exchange dir.
"""

from __future__ import annotations

import json
import socket
import struct

HEADER = struct.Struct("!I")
MAX_FRAME = 512 * 1024 * 1024


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return HEADER.pack(len(body)) + body


def decode_header(header: bytes) -> int:
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError("worker frame too large")
    return size


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> dict:
    """Blocking read of one message (the worker side)."""
    return json.loads(recv_exact(sock, decode_header(recv_exact(sock, HEADER.size))))
