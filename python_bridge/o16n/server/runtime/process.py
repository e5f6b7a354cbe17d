"""The server's handle on one worker process: start, call, interrupt, kill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys

from ..config import Settings
from .protocol import HEADER, decode_header, encode


class WorkerError(Exception):
    """The worker died or broke the protocol; it is gone and must be replaced."""


class WorkerTimeout(WorkerError):
    """The worker did not answer in time and was killed."""



class WorkerProcess:
    def __init__(self, process: subprocess.Popen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer
        self.lock = asyncio.Lock()  # one request at a time per worker
        self.busy = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @classmethod
    async def start(cls, settings: Settings) -> WorkerProcess:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The server's own settings (database URL, admin password) are no business of user code.
        env = {k: v for k, v in os.environ.items() if not k.startswith("O16N_")}
        env["O16N_WORKER_MEMORY_MB"] = str(settings.worker_memory_mb)
        env["O16N_WORKER_CONSOLE_LIMIT"] = str(settings.max_console_bytes)
        env.setdefault("OPENBLAS_NUM_THREADS", "1")  # many workers share few cores
        env.setdefault("OMP_NUM_THREADS", "1")
        process = subprocess.Popen(
            [sys.executable, "-m", "o16n.server.runtime.worker", str(child.fileno())],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd=str(settings.data_dir),
            env=env,
            start_new_session=True,  # its own process group: kill takes its children too
        )
        child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent, limit=1 << 20)
        worker = cls(process, reader, writer)
        await worker.call({"op": "ping"}, timeout=settings.worker_start_timeout)
        return worker

    async def call(self, message: dict, timeout: float | None = None) -> dict:
        async with self.lock:
            self.busy = True
            try:
                async with asyncio.timeout(timeout):  # no extra task per call, unlike wait_for
                    return await self._roundtrip(message)
            except TimeoutError:
                self.kill()
                raise WorkerTimeout(f"no answer within {timeout:g} s") from None
            except (EOFError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                self.kill()
                raise WorkerError(self._death_reason(exc)) from None
            finally:
                self.busy = False

    async def _roundtrip(self, message: dict) -> dict:
        self.writer.write(encode(message))
        await self.writer.drain()
        size = decode_header(await self.reader.readexactly(HEADER.size))
        return json.loads(await self.reader.readexactly(size))

    def _death_reason(self, exc: BaseException) -> str:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return f"the worker stopped answering ({type(exc).__name__})"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (killed: most likely it ran out of memory)" if name == "SIGKILL" else ""
            return f"the worker process died from {name}{hint}"
        return f"the worker process exited with code {code}"

    def interrupt(self) -> None:
        if self.alive:
            os.kill(self.pid, signal.SIGINT)

    def kill(self) -> None:
        if self.alive:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.writer.close()
        except RuntimeError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    async def close(self) -> None:
        """Ask politely (close the socket), then kill."""
        try:
            self.writer.close()
        except RuntimeError:
            pass
        for _ in range(20):
            if not self.alive:
                return
            await asyncio.sleep(0.05)
        self.kill()
