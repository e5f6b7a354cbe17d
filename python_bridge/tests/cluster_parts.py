"""Real parts for the multi-node tests: a PostgreSQL server and a round-robin load balancer.

PostgreSQL: Debian's server (`initdb`/`pg_ctl` under a temp dir, run as the `postgres` user),
installed with apt when running as root and missing; otherwise `pgserver` from PyPI.
Balancer: Debian's HAProxy (installed the same way), round-robin with no stickiness and health
checks on /health/ready; otherwise a small round-robin TCP proxy here.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from server_process import free_port


def _apt_install(package: str, binary_glob: str) -> bool:
    """True if the package's binary is there (installed now if we are root and may)."""
    if glob.glob(binary_glob):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # No package may start its own system service here.
    policy = Path("/usr/sbin/policy-rc.d")
    planted = not policy.exists()
    if planted:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True, timeout=900)
    finally:
        if planted:
            policy.unlink(missing_ok=True)
    return bool(glob.glob(binary_glob))


# --- PostgreSQL --------------------------------------------------------------------------------
class Postgres:
    """A PostgreSQL server of its own; `url(name)` creates a database and gives its URL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._pgserver = None
        self.kind = ""

    def start(self) -> Postgres:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if os.geteuid() == 0 and (bins or _apt_install("postgresql", "/usr/lib/postgresql/*/bin/initdb")):
            self._start_debian(Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent)
        else:
            import pgserver

            self._pgserver = pgserver.get_server(self.root / "pgserver", cleanup_mode="stop")
            self.kind = "pgserver"
        return self

    def _start_debian(self, bindir: Path) -> None:
        self.kind = "debian"
        self.bindir = bindir
        # Its own directory: pytest's temp dirs are private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="o16n-postgres-"))
        data = self.root / "pgdata"
        subprocess.run(["chown", "-R", "postgres:postgres", str(self.root)], check=True)
        self._as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
        self._as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "pg.log"), "-o", options,
                           "-w", "start"])
        self.data = data

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120)

    def url(self, database: str) -> str:
        if self._pgserver is not None:
            self._pgserver.psql(f"CREATE DATABASE {database};")
            return self._pgserver.get_uri(database)
        subprocess.run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        database], check=True, capture_output=True, timeout=60)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self._pgserver is not None:
            self._pgserver.cleanup()
        elif self.kind == "debian":
            with contextlib.suppress(Exception):
                self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
            shutil.rmtree(self.root, ignore_errors=True)


# --- the balancer ------------------------------------------------------------------------------
class Balancer:
    """Round-robin over the nodes' ports, no stickiness of any kind."""

    def __init__(self, root: Path, backends: list[int]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kind = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._proxy: RoundRobinProxy | None = None

    def start(self) -> Balancer:
        if _apt_install("haproxy", "/usr/sbin/haproxy"):
            self._start_haproxy()
        else:
            self.kind = "python"
            self._proxy = RoundRobinProxy(self.port, self.backends).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/health/live", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError("the balancer did not come up")

    def _start_haproxy(self) -> None:
        self.kind = "haproxy"
        servers = "\n".join(f"    server n{i} 127.0.0.1:{port} check inter 500 fall 2 rise 1"
                            for i, port in enumerate(self.backends))
        config = self.root / "haproxy.cfg"
        config.write_text(f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    option redispatch
    retries 2
frontend o16n
    bind 127.0.0.1:{self.port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /health/ready
{servers}
""")
        self._process = subprocess.Popen(["/usr/sbin/haproxy", "-f", str(config), "-db"],
                                         stdout=open(self.root / "haproxy.log", "ab"), stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
        if self._proxy is not None:
            self._proxy.stop()


class RoundRobinProxy:
    """A TCP proxy sending each new connection to the next live backend (used without HAProxy)."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.backends = backends
        self.next = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> RoundRobinProxy:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)
        return self

    async def _serve(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(len(self.backends)):
            port = self.backends[self.next % len(self.backends)]
            self.next += 1
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue  # a dead node: the next one
        else:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            with contextlib.suppress(Exception):
                target.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
