"""Keeps a few started worker processes ready, so a new session or pool slot skips the start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..config import Settings
from .process import WorkerProcess

log = logging.getLogger("o16n.workers")


class WorkerFactory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spares: list[WorkerProcess] = []
        self._refill: asyncio.Task | None = None
        self.closed = False

    async def take(self) -> WorkerProcess:
        while self.spares:
            worker = self.spares.pop()
            if worker.alive:
                self.refill()
                return worker
        self.refill()
        return await WorkerProcess.start(self.settings)

    def refill(self) -> None:
        if self.closed or (self._refill and not self._refill.done()):
            return
        self._refill = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        while not self.closed and len(self.spares) < self.settings.spare_workers:
            try:
                worker = await WorkerProcess.start(self.settings)
            except Exception:
                log.exception("could not start a spare worker")
                return
            if self.closed:
                worker.kill()
                return
            self.spares.append(worker)

    async def close(self) -> None:
        self.closed = True
        if self._refill:
            self._refill.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refill
        for worker in self.spares:
            worker.kill()
        self.spares.clear()
