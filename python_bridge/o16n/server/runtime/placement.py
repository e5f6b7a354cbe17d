"""Where a worker lives on disk: its working dir and an exchange dir for snapshot zips.

The working dir holds the user's files (what a snapshot captures). The exchange dir is how zips
cross between the server and a sandboxed worker: the server links a snapshot into it for loading,
the worker writes a new snapshot there. Both sit in the data dir, the only places in it that the
worker's sandbox lets it touch.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from .process import WorkerProcess

log = logging.getLogger("o16n.workers")


@dataclass(frozen=True)
class Placement:
    workdir: Path
    exchange: Path

    @classmethod
    def new(cls, settings: Settings, kind: str, name: str | None = None) -> Placement:
        name = name or uuid.uuid4().hex
        return cls(settings.data_dir / kind / name, settings.data_dir / "exchange" / name)

    def exchange_file(self, label: str) -> Path:
        return self.exchange / f"{label}-{uuid.uuid4().hex}.zip"

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self.exchange, ignore_errors=True)


async def assign(worker: WorkerProcess, settings: Settings, placement: Placement) -> str:
    """Move a fresh worker into its directories and sandbox it; returns the sandbox in force."""
    for path in (placement.workdir, placement.exchange / "tmp"):
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
    reply = await worker.call(
        {
            "op": "assign",
            "workdir": str(placement.workdir),
            "exchange": str(placement.exchange),
            "private": str(settings.data_dir),
            "sandbox": settings.worker_sandbox,
        },
        timeout=30,
    )
    if not reply.get("ok"):
        raise OSError(reply.get("error", "the worker could not be assigned"))
    if reply.get("problem"):
        log.warning("worker %s runs without its sandbox: %s", worker.pid, reply["problem"])
    return reply.get("sandbox", "none")
