"""Server settings: one dataclass, filled from CLI flags and `O16N_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


def _default_data_dir() -> Path:
    return Path(os.environ.get("O16N_DATA_DIR") or Path.home() / ".local/share/o16n")


@dataclass
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str | None = None  # None: SQLite file in the data dir
    host: str = "127.0.0.1"
    port: int = 12800

    access_token_lifetime: int = 3600  # seconds
    refresh_token_idle_lifetime: int = 14 * 24 * 3600  # sliding window
    refresh_token_max_lifetime: int = 90 * 24 * 3600  # a refresh chain ends here; log in again
    login_attempts: int = 10  # failed logins per user name and client address (0: no limit) ...
    login_window: float = 300.0  # ... within this many seconds, then 429 until the window passes
    auth_cache_seconds: float = 2.0  # how long another node may trust a grant it checked

    spare_workers: int = 1  # started ahead of time so a new session or pool worker is quick
    pool_max_size: int = 4  # warm workers per service version at most
    pool_idle_seconds: float = 600.0  # a pool worker unused this long is closed (down to the initial size)
    max_workers: int = 32  # service workers on this node at most; the longest-idle one makes room
    max_sessions: int = 20  # live Python sessions on this node
    consume_timeout: float = 60.0  # seconds one consume may run before its worker is killed
    queue_timeout: float = 30.0  # seconds a consume may wait for a free (or starting) worker of its service: then 503
    service_load_timeout: float = 600.0  # seconds a new service worker may take to load its snapshot and run initCode
    execute_timeout: float = 3600.0  # seconds one session execute (or snapshot) may run
    worker_call_timeout: float = 300.0  # seconds a session's object operations (list, get, set, delete) may take
    worker_memory_mb: int = 4096  # memory of each worker: its whole tree (cgroup) and each process's address space (0: none)
    worker_max_processes: int = 256  # processes and threads of each worker's whole tree (cgroup pids, else RLIMIT_NPROC)
    worker_sandbox: str = "auto"  # required: namespaces or no user code; auto: namespaces, else Landlock (warned); off
    worker_network: str = "host"  # host: workers share the server's network (services call databases); none: no network
    worker_bwrap: str = "bwrap"  # bubblewrap, which builds each worker's namespaces
    worker_uid_base: int = 610000  # a root server runs each worker as its own uid from this one (10,000 of them)
    worker_start_timeout: float = 60.0
    worker_output_bytes: int = 64 * 1024  # of a worker's raw stdout/stderr, the last bytes kept (never logged)
    user_max_workers: int = 0  # service workers one user's consumes may hold on this node (0: max_workers // 2; -1: no cap)
    user_max_waiting: int = 64  # consumes one user may have waiting for workers on this node, then 429 (0: no cap)
    service_max_waiting: int = 256  # consumes waiting for workers of one service version on this node, then 429 (0: no cap)
    max_batch_parallel: int = 16  # cap on a batch execution's parallelCount
    max_body_bytes: int = 1024 * 1024 * 1024  # uploads, workspace objects, session files
    max_snapshot_bytes: int = 8 * 1024 * 1024 * 1024  # a snapshot zip a session writes
    max_reply_bytes: int = 256 * 1024 * 1024  # outputs and output files of one execution
    max_console_bytes: int = 1024 * 1024

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "o16n.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from `O16N_<FIELD>` variables, then explicit overrides (CLI flags) on top."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"O16N_{f.name.upper()}")
            if raw is None or f.name == "data_dir":
                continue
            values[f.name] = _convert(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(str(values["data_dir"])).expanduser()
        return cls(**values)  # type: ignore[arg-type]


def _convert(kind: object, raw: str) -> object:
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
    if name.startswith("int"):
        return int(raw)
    if name.startswith("float"):
        return float(raw)
    return raw
