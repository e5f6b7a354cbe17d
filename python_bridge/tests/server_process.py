"""A real o16n server in a subprocess on a free loopback port, for the test suites."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ADMIN_PASSWORD = "admin-Secret-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    admin_user = "admin"
    admin_password = ADMIN_PASSWORD

    def __init__(self, data_dir: Path, **settings: object) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self) -> LiveServer:
        env = dict(os.environ)
        env["O16N_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        env.setdefault("O16N_SPARE_WORKERS", "1")
        for key, value in self.settings.items():
            env[f"O16N_{key.upper()}"] = str(value)
        command = [sys.executable, "-m", "o16n.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        self.process = subprocess.Popen(command, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"o16n server exited early:\n{self.log.read_text()}")
            try:
                httpx.get(self.url + "/status", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"o16n server did not start:\n{self.log.read_text()}")

    def stop(self, hard: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, hard: bool = False) -> None:
        self.stop(hard=hard)
        self.start()

    def login(self, username: str | None = None, password: str | None = None) -> dict:
        response = httpx.post(
            self.url + "/login",
            json={"username": username or self.admin_user, "password": password or self.admin_password},
        )
        response.raise_for_status()
        return response.json()

    def client(self, username: str | None = None, password: str | None = None, **kwargs) -> httpx.Client:
        """An httpx client logged in as the user (admin by default)."""
        token = self.login(username, password)["access_token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=120, **kwargs)

    def add_user(self, username: str, password: str, role: str) -> None:
        env = dict(os.environ, O16N_NEW_PASSWORD=password)
        subprocess.run(
            [sys.executable, "-m", "o16n.cli", "users", "add", username, "--role", role, "--data-dir", str(self.data_dir)],
            env=env, check=True, capture_output=True,
        )
