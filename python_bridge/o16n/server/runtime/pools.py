"""Warm workers per service version: snapshot loaded and init code run once per worker.

A pool grows on demand up to its maximum and hands each request an idle worker; a worker that
crashes, hangs past the timeout or runs out of memory is dropped and the next request starts
a fresh one. A pool is replaced (and the old one retired) when what its workers load changes:
code, init code, snapshot or outputs; a new description keeps the warm workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..domain.specs import ServiceSpec
from .factory import WorkerFactory
from .placement import Placement, assign
from .process import WorkerError, WorkerProcess

log = logging.getLogger("o16n.pools")


class ServiceInitError(Exception):
    """Loading the snapshot or running the init code failed."""


class PoolBusy(Exception):
    """Every worker of the pool stayed busy for as long as a request may wait."""


@dataclass
class Slot:
    worker: WorkerProcess
    placement: Placement
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class ServicePool:
    spec: ServiceSpec
    settings: Settings
    factory: WorkerFactory
    idle: list[Slot] = field(default_factory=list)
    size: int = 0  # slots idle + busy + warming
    busy: int = 0
    warming: int = 0  # slots started ahead of requests, not ready yet
    waiters: asyncio.Condition = field(default_factory=asyncio.Condition)
    retired: bool = False
    # Asked before a new slot starts; False when the node has no room for another worker.
    make_room: Callable[[ServicePool], bool] = lambda _pool: True
    _live: dict[int, Slot] = field(default_factory=dict)  # every slot, idle or busy, for shutdown

    @property
    def max_size(self) -> int:
        return max(1, self.spec.max_size or self.settings.pool_max_size)

    async def run(self, inputs: dict, timeout: float) -> dict:
        try:
            async with asyncio.timeout(timeout):
                slot = await self._acquire()
        except TimeoutError:
            raise PoolBusy(f"all {self.max_size} workers of this service stayed busy for {timeout:g} s; try again later") from None
        healthy = False
        try:
            result = await slot.worker.call(
                {
                    "op": "execute",
                    "mode": "service",
                    "code": self.spec.code,
                    "inputs": inputs,
                    "input_types": self.spec.input_types,
                    "outputs": list(self.spec.outputs),
                    "output_types": self.spec.outputs,
                    "output_files": list(self.spec.output_files),
                },
                timeout=timeout,
            )
            if not result.get("ok", False):
                raise WorkerError(result.get("error", "the worker failed"))
            healthy = not result.get("unhealthy")
            return result
        finally:
            await self._release(slot, healthy)

    async def _acquire(self) -> Slot:
        async with self.waiters:
            while True:
                while self.idle:
                    slot = self.idle.pop()
                    if slot.worker.alive:  # it may have died while idle (e.g. the OOM killer)
                        self.busy += 1
                        return slot
                    self.size -= 1
                    self._discard(slot)
                # A slot that is already warming up will be ready sooner than a new one.
                may_grow = self.size < self.max_size and not self.warming
                if may_grow and self.make_room(self):
                    self.size += 1
                    self.busy += 1
                    break
                if may_grow:
                    # Only the node's limit stops us; room frees up in other pools, which don't
                    # notify this one: look again shortly.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.05):
                            await self.waiters.wait()
                    continue
                await self.waiters.wait()
        try:
            return await self._start_slot()
        except BaseException:
            async with self.waiters:
                self.size -= 1
                self.busy -= 1
                self.waiters.notify()
            raise

    async def _release(self, slot: Slot, healthy: bool) -> None:
        async with self.waiters:
            self.busy -= 1
            if healthy and not self.retired:
                slot.last_used = time.monotonic()
                self.idle.append(slot)
            else:
                self.size -= 1
                self._discard(slot)
            self.waiters.notify()

    async def _start_slot(self) -> Slot:
        worker = await self.factory.take()
        placement = Placement.new(self.settings, "workers")
        slot = Slot(worker, placement)
        self._live[id(slot)] = slot
        try:
            await assign(worker, self.settings, placement)
            snapshot = None
            if self.spec.snapshot_path:
                snapshot = placement.exchange_file("service")
                await asyncio.to_thread(link_or_copy, Path(self.spec.snapshot_path), snapshot)
            reply = await worker.call(
                {"op": "load_service", "path": str(snapshot) if snapshot else None, "init_code": self.spec.init_code},
                timeout=self.settings.consume_timeout + 60,
            )
        except (WorkerError, OSError) as exc:
            self._discard(slot)
            raise ServiceInitError(f"the service's worker could not start: {exc}") from None
        if not reply.get("ok"):
            self._discard(slot)
            raise ServiceInitError(reply.get("error", "the service failed to load"))
        return slot

    async def warm(self, count: int = 1) -> None:
        """Start slots ahead of requests until the pool holds `count` (capped by its maximum)."""
        while True:
            async with self.waiters:
                if self.size >= min(count, self.max_size) or self.retired or not self.make_room(self):
                    return
                self.size += 1
                self.warming += 1
            try:
                slot = await self._start_slot()
            except BaseException as exc:
                if isinstance(exc, ServiceInitError):
                    log.warning("warming %s/%s failed: %s", self.spec.name, self.spec.version, exc)
                async with self.waiters:
                    self.size -= 1
                    self.warming -= 1
                    self.waiters.notify_all()  # waiters may start slots of their own now
                if isinstance(exc, ServiceInitError):
                    return
                raise
            async with self.waiters:
                self.warming -= 1
                if self.retired:
                    self.size -= 1
                    self._discard(slot)
                else:
                    self.idle.append(slot)
                self.waiters.notify()

    def _discard(self, slot: Slot) -> None:
        self._live.pop(id(slot), None)
        slot.worker.kill()
        slot.placement.remove()

    def oldest_idle(self) -> Slot | None:
        return self.idle[0] if self.idle else None  # idle is appended on release: oldest first

    def close_idle(self, slot: Slot) -> None:
        self.idle.remove(slot)
        self.size -= 1
        self._discard(slot)

    def shrink(self, idle_seconds: float) -> None:
        """Close slots unused for `idle_seconds`, down to the pool's initial size."""
        now = time.monotonic()
        while self.idle and self.size > self.spec.initial_size and now - self.idle[0].last_used >= idle_seconds:
            self.close_idle(self.idle[0])

    def retire(self) -> None:
        """Stop taking requests; idle workers go now, busy ones when they finish."""
        self.retired = True
        for slot in self.idle:
            self._discard(slot)
        self.size -= len(self.idle)
        self.idle.clear()


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs nothing; a copy is the fallback across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class PoolRegistry:
    """All pools of this node: creates them, keeps the node under `max_workers`, closes idle slots."""

    def __init__(self, settings: Settings, factory: WorkerFactory) -> None:
        self.settings = settings
        self.factory = factory
        self.pools: dict[tuple[str, str], ServicePool] = {}
        self._warming: set[asyncio.Task] = set()
        self._reaper: asyncio.Task | None = None

    def pool_for(self, spec: ServiceSpec) -> ServicePool:
        current = self.pools.get((spec.name, spec.version))
        if current is not None and current.spec.key == spec.key:
            current.spec = spec  # same code; pool sizes or description may be new
            return current
        if current is not None:
            current.retire()
        pool = ServicePool(spec, self.settings, self.factory, make_room=self.make_room)
        self.pools[(spec.name, spec.version)] = pool
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        if spec.initial_size:
            self.warm(pool, spec.initial_size)
        return pool

    def make_room(self, _pool: ServicePool) -> bool:
        """Room for one more worker: under the node's limit, or by closing the longest-idle one."""
        if sum(p.size for p in self.pools.values()) < self.settings.max_workers:
            return True
        candidates = [(slot.last_used, pool) for pool in self.pools.values() if (slot := pool.oldest_idle())]
        if not candidates:
            return False
        _, pool = min(candidates, key=lambda c: c[0])
        pool.close_idle(pool.idle[0])
        return True

    async def _reap(self) -> None:
        idle_seconds = self.settings.pool_idle_seconds
        while True:
            await asyncio.sleep(max(0.5, min(30.0, idle_seconds / 4)))
            for pool in list(self.pools.values()):
                pool.shrink(idle_seconds)

    def warm(self, pool: ServicePool, count: int = 1) -> None:
        task = asyncio.get_running_loop().create_task(pool.warm(count))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    def drop(self, name: str, version: str) -> None:
        pool = self.pools.pop((name, version), None)
        if pool is not None:
            pool.retire()

    def stats(self) -> dict:
        return {
            "pools": len(self.pools),
            "workers": sum(p.size for p in self.pools.values()),
            "busy": sum(p.busy for p in self.pools.values()),
        }

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._warming):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pool in self.pools.values():
            pool.retired = True
            for slot in list(pool._live.values()):
                pool._discard(slot)
            pool.idle.clear()
        self.pools.clear()


