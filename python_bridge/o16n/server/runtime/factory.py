"""Starts sandboxed workers, and keeps a few started ones ready so a new session or slot skips that.

A start: a uid (root server), a placement (directories), a cgroup with the limits, the process
chain of process.py, then a ping. Anything failing on the way undoes what was done; so does a
cancellation (the caller gave up): no half-started process survives anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import socket
from pathlib import Path

from ..config import Settings
from ..domain.specs import EnvironmentRef
from .cgroups import Cgroups, WorkerGroup
from .client import WorkerClient
from .errors import SandboxUnavailable, WorkerError
from .files import WorkerDir
from .identity import UidAllocator
from .placement import Placement
from .process import WorkerProcess
from .sandbox import SandboxPlan

log = logging.getLogger("o16n.workers")


class WorkerFactory:
    def __init__(self, settings: Settings, plan: SandboxPlan, cgroups: Cgroups) -> None:
        self.settings = settings
        self.plan = plan
        self.cgroups = cgroups
        self.uids = UidAllocator(settings.worker_uid_base) if plan.as_root and plan.applied == "namespaces" else None
        self.spool = settings.data_dir / "spool"
        self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Worker dirs are named after this host and process: several nodes may share a data dir.
        self.prefix = "w-" + "".join(c for c in socket.gethostname() if c.isalnum() or c == ".") + f"-{os.getpid()}-"
        remove_stale_placements(settings.data_dir, self.prefix)
        self.spares: list[WorkerClient] = []
        self.cleanups: set[asyncio.Task[None]] = set()  # trees being killed and removed
        self._names = itertools.count(1)
        self._refill: asyncio.Task[None] | None = None
        self._spawning = 0
        self.closed = False

    @property
    def starting(self) -> int:
        """Workers being started right now (their processes exist already)."""
        return self._spawning

    async def take(self, environment: EnvironmentRef | None = None) -> WorkerClient:
        """A started worker without a role: a spare if one is ready, else a new one. Spares run the
        server's own interpreter; a worker of a service environment is always started for it."""
        if environment is not None:
            return await self.spawn(environment)
        while self.spares:
            client = self.spares.pop()
            if client.alive:
                self.refill()
                return client
        self.refill()
        return await self.spawn()

    async def spawn(self, environment: EnvironmentRef | None = None) -> WorkerClient:
        self.plan.check()  # SandboxUnavailable: no user code runs without the required sandbox
        name = f"{self.prefix}{next(self._names)}"
        uid = self.uids.take() if self.uids is not None else None
        placement: Placement | None = None
        group: WorkerGroup | None = None
        files: WorkerDir | None = None
        client: WorkerClient | None = None
        self._spawning += 1
        try:
            placement = await asyncio.to_thread(Placement.create, self.settings.data_dir, name, uid)
            if self.cgroups.hierarchies:
                group = self.cgroups.create(name, self.settings.worker_memory_mb * 1024 * 1024, self.settings.worker_max_processes)
            files = WorkerDir(placement.open_workdir(), uid, self.settings.max_body_bytes)
            process = await WorkerProcess.spawn(self.settings, self.plan, placement, group, uid, environment)
            client = WorkerClient(process, self.settings, self.spool, files, self._track)
            if uid is not None:
                self._release_uid_after(client, uid)
            await client.start(self.settings.worker_start_timeout)
            return client
        except BaseException as exc:
            if client is not None:
                client.kill()  # its clean-up removes the placement and the groups
            else:
                if files is not None:
                    files.close()
                if group is not None:
                    group.kill()
                    group.remove()
                if placement is not None:
                    placement.remove()
                if uid is not None and self.uids is not None:
                    self.uids.release(uid)
            if isinstance(exc, OSError):
                raise WorkerError(f"could not start a worker: {exc}") from None
            raise
        finally:
            self._spawning -= 1

    def _release_uid_after(self, client: WorkerClient, uid: int) -> None:
        """The uid is free again once the worker's tree is gone."""

        def released(_task: asyncio.Task[None]) -> None:
            if self.uids is not None:
                self.uids.release(uid)

        def on_close(closing: WorkerClient) -> None:
            if closing._finishing is not None:
                closing._finishing.add_done_callback(released)

        client.on_close.append(on_close)

    def _track(self, task: asyncio.Task[None]) -> None:
        self.cleanups.add(task)
        task.add_done_callback(self._cleaned)

    def _cleaned(self, task: asyncio.Task[None]) -> None:
        self.cleanups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("cleaning up a worker failed: %s", task.exception())

    def refill(self) -> None:
        if self.closed or self.settings.spare_workers <= 0 or (self._refill and not self._refill.done()):
            return
        self._refill = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        while not self.closed and len(self.spares) < self.settings.spare_workers:
            try:
                client = await self.spawn()
            except SandboxUnavailable:
                return  # said once in the report and at each request; no log flood
            except Exception as exc:
                log.warning("could not start a spare worker: %s", exc)
                return
            if self.closed:
                client.kill()
                return
            self.spares.append(client)

    async def close(self) -> None:
        self.closed = True
        if self._refill:
            self._refill.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refill
        for client in self.spares:
            client.kill()
        self.spares.clear()
        while self.cleanups:
            await asyncio.gather(*list(self.cleanups), return_exceptions=True)
        self.cgroups.close()


def remove_stale_placements(data_dir: Path, prefix: str) -> None:
    """Directories of workers of an earlier server process on this host (it died without cleaning up)."""
    host = prefix.rsplit("-", 2)[0] + "-"
    try:
        entries = list((data_dir / "workers").iterdir())
    except OSError:
        return
    for entry in entries:
        parts = entry.name[len(host):].split("-") if entry.name.startswith(host) else []
        if len(parts) == 2 and parts[0].isdigit() and not entry.name.startswith(prefix) and not Path(f"/proc/{parts[0]}").exists():
            shutil.rmtree(entry, ignore_errors=True)
