"""The embedded o16n server: a child process on a loopback port, started with Jupyter.

Data lives in ``<Jupyter data dir>/o16n`` (or ``c.O16n.data_dir``), so services survive restarts of
JupyterLab. The admin password is generated once and kept in ``<data dir>/admin-password`` (0600);
it is handed to the server in ``O16N_ADMIN_PASSWORD``, which the server only uses to create
``admin`` on its first start. The port is kept in ``<data dir>/embedded.json`` and used again on
the next start when it is free, so endpoints and snippets shown before keep working.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from .credentials import write_private_json

ADMIN = "admin"


PORT_FILE = "embedded.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now (as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def stable_port(data_dir: Path) -> int:
    """The port the embedded server had last time when it is free, else a new one (remembered)."""
    path = data_dir / PORT_FILE
    try:
        port = int(json.loads(path.read_text(encoding="utf-8"))["port"])
        if 0 < port < 65536 and port_is_free(port):
            return port
    except (OSError, ValueError, KeyError, TypeError):
        pass
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    write_private_json(path, {"port": port})
    return port


def admin_password(data_dir: Path) -> str:
    """The embedded server's admin password: read it, or generate it into a 0600 file."""
    path = data_dir / "admin-password"
    try:
        password = path.read_text(encoding="utf-8").strip()
        if password:
            return password
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM the server if Jupyter dies without stopping it (SIGKILL, crash)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EmbeddedServer:
    """``python -m o16n.cli serve`` as a child of the Jupyter server."""

    def __init__(self, data_dir: Path, port: int | None = None, log: Any = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or stable_port(self.data_dir)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = self.data_dir / "embedded-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.password = admin_password(self.data_dir)
        self._log = log

    @property
    def password_file(self) -> Path:
        return self.data_dir / "admin-password"

    def start(self) -> None:
        """Start the process (returns at once; `wait_ready` waits for it to answer)."""
        if self.process is not None and self.process.poll() is None:
            return
        # Our O16N_* client variables mean nothing to the server; its own settings may stay.
        env = {k: v for k, v in os.environ.items()
               if k not in ("O16N_URL", "O16N_CREDENTIALS_FILE", "O16N_USER", "O16N_PASSWORD")}
        env["O16N_ADMIN_PASSWORD"] = self.password
        command = [sys.executable, "-m", "o16n.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.data_dir)]
        with open(self.log_file, "ab") as log:
            # its own session: Ctrl-C in Jupyter's terminal must not kill it before we stop it cleanly
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        atexit.register(self.stop)  # Jupyter exiting before its extensions stop (e.g. a startup error)
        if self._log:
            self._log.info("o16n: embedded server starting on %s (data in %s, log %s)",
                           self.url, self.data_dir, self.log_file)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until ``GET /status`` answers; RuntimeError with the log's tail if it exits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while loop.time() < deadline:
                if not self.running:
                    raise RuntimeError(f"the embedded o16n server exited: {self.log_tail()}")
                try:
                    await http.get(self.url + "/status")
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        raise RuntimeError(f"the embedded o16n server did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the server stops its workers), then SIGKILL if it lingers."""
        process, self.process = self.process, None
        atexit.unregister(self.stop)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
