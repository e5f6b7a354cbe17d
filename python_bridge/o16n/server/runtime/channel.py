"""The server's end of one worker's sockets: framed requests out, framed replies in, descriptors out.

Descriptors go the other way only: the server reads replies with plain reads, so descriptors a
worker might try to send are dropped by the kernel and never reach the server's table.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

import orjson

from .protocol import HEADER, watch
from .replies import ProtocolViolation


class ChannelClosed(EOFError):
    """The worker closed its end (it exited or died)."""


class Channel:
    in_flight = 0  # exchanges under way in this process, on all channels

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, side: socket.socket,
                 meta_limit: int, payload_limit: int) -> None:
        self.reader = reader
        self.writer = writer
        self.side = side
        self.meta_limit = meta_limit
        self.payload_limit = payload_limit

    @classmethod
    async def open(cls, sock: socket.socket, side: socket.socket, meta_limit: int, payload_limit: int) -> Channel:
        side.setblocking(False)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 20)
        return cls(reader, writer, side, meta_limit, payload_limit)

    async def exchange(self, request: bytes, fds: Sequence[int] = (), spin: float = 0.0) -> tuple[dict[str, Any], bytes]:
        """Send one request frame (descriptors first), read one reply frame: (meta, payload).

        With `spin` (seconds), an exchange that is the only one under way watches the socket that
        long before the event loop sleeps: the loop has nothing else to do, and a quick answer
        (a model's score) is read without waking from sleep, which costs more than it on a VM."""
        Channel.in_flight += 1
        try:
            if fds:
                self._send_fds(fds)
            self.writer.write(request)
            await self.writer.drain()
            if spin and Channel.in_flight == 1:
                self._watch(spin)
            meta_size, payload_size = HEADER.unpack(await self.reader.readexactly(HEADER.size))
            if meta_size > self.meta_limit or payload_size > self.payload_limit:
                raise ProtocolViolation(f"the worker's answer is too large ({meta_size + payload_size} bytes)")
            body = await self.reader.readexactly(meta_size + payload_size)
        except (asyncio.IncompleteReadError, ConnectionError, EOFError) as exc:
            raise ChannelClosed(str(exc) or type(exc).__name__) from None
        finally:
            Channel.in_flight -= 1
        try:
            meta = orjson.loads(body[:meta_size])  # strict JSON; a number too large to be an int is a float
        except orjson.JSONDecodeError:
            raise ProtocolViolation("the worker's answer is not JSON") from None
        if not isinstance(meta, dict):
            raise ProtocolViolation("the worker's answer is not a JSON object")
        return meta, body[meta_size:]

    def _watch(self, seconds: float) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            watch(sock.fileno(), seconds)

    def _send_fds(self, fds: Sequence[int]) -> None:
        try:
            socket.send_fds(self.side, [b"F"], list(fds))
        except BlockingIOError:  # it never reads its descriptors: broken or hostile
            raise ProtocolViolation("the worker does not take the files it is sent") from None

    def close(self) -> None:
        try:
            self.writer.close()
        except RuntimeError:  # the event loop is already closed (shutdown)
            pass
        self.side.close()
