"""Warm workers per service version: snapshot loaded and initCode run once per worker.

A pool is a list of slots; its size is the length of that list, nothing else. A slot is
`starting` (a task brings its worker up), `idle` or `busy` (held by one request). A request holds
a slot through `PoolRegistry.slot`, an async context manager: its clean-up is synchronous and
kills the slot's whole process tree unless the request ended cleanly, whatever ended it
(an error, a timeout, a cancellation). Starting a slot belongs to the pool, not to the request
that asked for it: a request that gives up leaves the start to finish for the next one.

Two timeouts: `queue_timeout` for waiting for a worker (PoolBusy: 503), `consume_timeout` for
running the request (WorkerTimeout: 504). Waiting requests are served first come, first served;
a request of a user at `user_max_workers` lets later ones pass (shares.py).

The node runs at most `max_workers` service workers. A pool that needs one more takes room by
closing the longest-idle worker of another pool, but never the last worker of a service that has
one (a service at its cap cannot take the workers other services need); only a pool with no
worker at all may take a service's last idle one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..domain.specs import ServiceSpec
from .client import WorkerClient
from .errors import (
    PoolBusy,
    RuntimeFailure,
    SandboxUnavailable,
    ServiceInitError,
    ShareExceeded,
    UserCodeError,
    WorkerError,
    WorkerTimeout,
)
from .factory import WorkerFactory
from .replies import ServiceReply
from .shares import OwnerId, Shares

log = logging.getLogger("o16n.pools")


@dataclass(eq=False)
class Slot:
    pool: ServicePool
    client: WorkerClient | None = None
    state: str = "starting"  # starting | idle | busy | gone
    holder: OwnerId | None = None
    last_used: float = field(default_factory=time.monotonic)
    keep: bool = False  # set by the holder when the worker may serve the next request
    task: asyncio.Task[None] | None = None  # the start, while starting
    ended: str | None = None  # why the server ended it while busy (shown to its request)


@dataclass(eq=False)
class Waiter:
    caller: OwnerId
    future: asyncio.Future[Slot]
    share_blocked: bool = False  # passed over because its user held all the workers it may


@dataclass(frozen=True)
class PoolStatus:
    size: int = 0
    idle: int = 0
    busy: int = 0
    warming: int = 0  # starting: loading the snapshot, running initCode
    ready: bool = False  # at least its initial size of workers, all started
    key: str | None = None  # the spec key its workers loaded


class ServicePool:
    def __init__(self, spec: ServiceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.slots: list[Slot] = []  # every slot, whatever its state
        self.idle: deque[Slot] = deque()  # oldest first
        self.waiters: deque[Waiter] = deque()
        self.retired = False

    @property
    def size(self) -> int:
        return len(self.slots)

    def count(self, state: str) -> int:
        return sum(1 for s in self.slots if s.state == state)

    @property
    def max_size(self) -> int:
        return max(1, self.spec.max_size or self.settings.pool_max_size)

    def status(self) -> PoolStatus:
        starting = self.count("starting")
        return PoolStatus(self.size, len(self.idle), self.count("busy"), starting,
                          self.size >= self.spec.initial_size and not starting, self.spec.key)


class PoolRegistry:
    """All pools of this node: requests, growth within the node's limit, idle clean-up."""

    def __init__(self, settings: Settings, factory: WorkerFactory) -> None:
        self.settings = settings
        self.factory = factory
        self.shares = Shares(settings)
        self.pools: dict[tuple[str, str], ServicePool] = {}
        self.retiring: set[ServicePool] = set()  # replaced or dropped, with busy slots still finishing
        self._reaper: asyncio.Task[None] | None = None
        self._balancing = False
        self._again = False
        self.under_way = 0  # requests holding or waiting for a slot on this node (consumes, batch chunks)

    # --- the contract --------------------------------------------------------------------
    async def run(self, spec: ServiceSpec, inputs: dict[str, Any] | Callable[[], dict[str, Any]], *,
                  caller: OwnerId) -> ServiceReply:
        """One consume. Raises PoolBusy, ShareExceeded, WorkerTimeout, WorkerError, ServiceInitError,
        SandboxUnavailable; failing user code is an answer (success False), not an exception.
        `inputs` may be a function, called once a worker is held (grouped realtime consumes close then)."""
        timeout = self.settings.consume_timeout
        async with self.slot(spec, caller) as slot:
            assert slot.client is not None
            if callable(inputs):
                inputs = inputs()
            try:
                reply = await slot.client.run(inputs, timeout, alone=self.under_way == 1)
            except UserCodeError as exc:  # e.g. a data frame input pandas cannot build: an answer
                slot.keep = True
                return ServiceReply.failure(exc.message)
            except WorkerTimeout:
                raise WorkerTimeout(f"the service did not finish within {timeout:g} s; its worker was stopped") from None
            except WorkerError as exc:
                raise WorkerError(slot.ended or exc.message) from None
            slot.keep = not reply.unhealthy
            return reply

    async def run_many(self, spec: ServiceSpec, records: list[dict[str, Any]], *, caller: OwnerId) -> list[ServiceReply]:
        """Batch items on one worker in one round trip, as `run` runs one: the replies of the first
        1..len(records). The whole chunk has `consume_timeout`; the same exceptions as `run`."""
        timeout = self.settings.consume_timeout
        async with self.slot(spec, caller) as slot:
            assert slot.client is not None
            try:
                replies = await slot.client.run_many(records, timeout)
            except UserCodeError as exc:
                slot.keep = True
                return [ServiceReply.failure(exc.message)]
            except WorkerTimeout:
                raise WorkerTimeout(f"the batch chunk did not finish within {timeout:g} s; its worker was stopped") from None
            except WorkerError as exc:
                raise WorkerError(slot.ended or exc.message) from None
            slot.keep = not replies[-1].unhealthy
            return replies

    def has_idle(self, spec: ServiceSpec) -> bool:
        """Would a request of `spec` get a warm worker at once (nobody waits, one is idle)?"""
        pool = self.pools.get((spec.name, spec.version))
        return pool is not None and pool.spec.key == spec.key and not pool.waiters and bool(pool.idle)

    def warm(self, spec: ServiceSpec, count: int = 1) -> None:
        """Start workers ahead of requests until the pool holds `count` (capped by its maximum);
        never by closing another service's last worker."""
        pool = self._pool_for(spec)
        while not pool.retired and pool.size < min(count, pool.max_size) and self._make_room(pool, take_last=False):
            self._start_slot(pool)

    def drop(self, name: str, version: str) -> None:
        """Stop serving a service version (deleted): every worker tree of it is killed now."""
        pool = self.pools.pop((name, version), None)
        if pool is not None:
            self._retire(pool, "the service was deleted while this request ran", PoolBusy("the service was deleted"))

    def status(self, name: str, version: str) -> PoolStatus:
        pool = self.pools.get((name, version))
        return pool.status() if pool is not None else PoolStatus()

    def stats(self) -> dict[str, int]:
        pools = [*self.pools.values(), *self.retiring]
        return {
            "pools": len(self.pools),
            "workers": sum(p.size for p in pools),
            "busy": sum(p.count("busy") for p in pools),
            "starting": sum(p.count("starting") for p in pools),
            "waiting": sum(len(p.waiters) for p in pools),
        }

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        tasks = []
        for pool in [*self.pools.values(), *self.retiring]:
            pool.retired = True
            for slot in list(pool.slots):
                if slot.task is not None and not slot.task.done():
                    slot.task.cancel()
                    tasks.append(slot.task)
                self._discard(slot)
        await asyncio.gather(*tasks, return_exceptions=True)
        self.pools.clear()
        self.retiring.clear()

    # --- holding a slot ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def slot(self, spec: ServiceSpec, caller: OwnerId) -> AsyncIterator[Slot]:
        """Hold one warm worker of `spec` for `caller`. Set `slot.keep = True` when done cleanly;
        otherwise (or on any exception or cancellation) the worker's tree is killed on the way out."""
        pool = self._pool_for(spec)
        self.under_way += 1
        try:
            held = await self._acquire(pool, caller)
            try:
                yield held
            finally:
                self._release(held)
        finally:
            self.under_way -= 1

    async def _acquire(self, pool: ServicePool, caller: OwnerId) -> Slot:
        if not pool.waiters and (ready := self._take_idle(pool, caller)):
            return ready
        limit = self.settings.service_max_waiting
        if limit and len(pool.waiters) >= limit:
            raise ShareExceeded("service_max_waiting", f"{limit} requests already wait for a worker of this service on "
                                "this node (the per-service limit service_max_waiting): try again later")
        self.shares.start_waiting(caller)
        waiter = Waiter(caller, asyncio.get_running_loop().create_future())
        pool.waiters.append(waiter)
        try:
            self._balance()
            async with asyncio.timeout(self.settings.queue_timeout):
                return await waiter.future
        except BaseException as exc:
            self._abandon(pool, waiter)
            if isinstance(exc, TimeoutError):
                raise self._too_long(pool, waiter) from None
            raise
        finally:
            self.shares.stop_waiting(caller)
            if waiter in pool.waiters:
                pool.waiters.remove(waiter)

    def _take_idle(self, pool: ServicePool, caller: OwnerId) -> Slot | None:
        if not self.shares.allows(caller):
            return None
        while pool.idle:
            slot = pool.idle.pop()  # the most recently used: its caches are warm
            if slot.client is not None and slot.client.alive:  # it may have died while idle (OOM killer)
                self._hold(slot, caller)
                return slot
            self._discard(slot)
        return None

    def _hold(self, slot: Slot, caller: OwnerId) -> None:
        slot.state, slot.holder, slot.keep = "busy", caller, False
        self.shares.take(caller)

    def _abandon(self, pool: ServicePool, waiter: Waiter) -> None:
        """A waiter gave up (timeout, cancellation): a slot handed to it just now goes back."""
        if waiter in pool.waiters:
            pool.waiters.remove(waiter)
        future = waiter.future
        if not future.done():
            future.cancel()
        elif not future.cancelled() and future.exception() is None:
            slot = future.result()
            slot.keep = True
            self._release(slot)

    def _release(self, slot: Slot) -> None:
        """Synchronous on purpose: it runs to the end even in a cancelled task."""
        pool, caller = slot.pool, slot.holder
        slot.holder = None
        if caller is not None:
            self.shares.give_back(caller)
        if slot.keep and not pool.retired and slot.client is not None and slot.client.alive:
            slot.state, slot.last_used = "idle", time.monotonic()
            pool.idle.append(slot)
        else:
            self._discard(slot, balance=False)
        self._balance()

    def _too_long(self, pool: ServicePool, waiter: Waiter) -> RuntimeFailure:
        wait = f"{self.settings.queue_timeout:g} s"
        if waiter.share_blocked:
            return self.shares.over_workers()
        if pool.count("starting") and not pool.count("busy"):
            return PoolBusy(f"the service's workers were still starting after {wait} (loading its snapshot and running its "
                            "initCode); try again shortly")
        if pool.size < pool.max_size and self._node_size() >= self.settings.max_workers:
            return PoolBusy(f"no worker became free within {wait}: all {self.settings.max_workers} workers of this node are busy; "
                            "try again later")
        return PoolBusy(f"all {pool.size} workers of this service stayed busy for {wait}; try again later")

    # --- matching waiters, idle slots and room on the node ---------------------------------
    def _balance(self) -> None:
        """Hand idle slots to waiters and start slots where requests wait; again until nothing changes."""
        if not self.shares.waiting:
            return  # nobody waits anywhere: the common case, one check
        if self._balancing:
            self._again = True
            return
        self._balancing = True
        try:
            self._again = True
            while self._again:
                self._again = False
                for pool in list(self.pools.values()):
                    if pool.waiters:
                        self._dispatch(pool)
                        self._grow(pool)
        finally:
            self._balancing = False

    def _dispatch(self, pool: ServicePool) -> None:
        while pool.idle and pool.waiters:
            waiter = None
            for candidate in pool.waiters:
                if candidate.future.done():
                    continue
                if self.shares.allows(candidate.caller):
                    waiter = candidate
                    break
                candidate.share_blocked = True
            if waiter is None:
                return
            slot = pool.idle.pop()
            if slot.client is None or not slot.client.alive:
                self._discard(slot)
                continue
            pool.waiters.remove(waiter)
            self._hold(slot, waiter.caller)
            waiter.future.set_result(slot)

    def _servable(self, pool: ServicePool) -> int:
        """Waiting requests that could take a worker now, given their users' shares."""
        waiting = Counter(w.caller for w in pool.waiters if not w.future.done())
        total = 0
        for user, count in waiting.items():
            room = self.shares.room(user)
            total += count if room is None else min(count, room)
        return total

    def _grow(self, pool: ServicePool) -> None:
        while not pool.retired and pool.size < pool.max_size:
            if self._servable(pool) - len(pool.idle) - pool.count("starting") <= 0:
                return
            if not self._make_room(pool, take_last=pool.size == 0):
                return  # a slot freed anywhere on the node calls _balance again
            self._start_slot(pool)

    def _node_size(self) -> int:
        return sum(p.size for p in self.pools.values()) + sum(p.size for p in self.retiring)

    def _make_room(self, pool: ServicePool, take_last: bool) -> bool:
        """Room for one more worker: under max_workers, or by closing another pool's longest-idle
        worker (a service's last one only if `take_last`: this pool has none at all)."""
        if self._node_size() < self.settings.max_workers:
            return True
        victim: Slot | None = None
        for other in self.pools.values():
            if other is pool or not other.idle or (other.size <= 1 and not take_last):
                continue
            if victim is None or other.idle[0].last_used < victim.last_used:
                victim = other.idle[0]
        if victim is None:
            return False
        self._discard(victim, balance=False)  # the room is for this pool, not for whoever balances first
        return True

    # --- starting and ending slots -----------------------------------------------------------
    def _start_slot(self, pool: ServicePool) -> None:
        slot = Slot(pool)
        pool.slots.append(slot)
        slot.task = asyncio.get_running_loop().create_task(self._bring_up(slot))
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _bring_up(self, slot: Slot) -> None:
        pool = slot.pool
        try:
            environment = pool.spec.environment
            slot.client = await (self.factory.take(environment) if environment is not None else self.factory.take())
            await slot.client.load_service(pool.spec, self.settings.service_load_timeout)
        except BaseException as exc:
            self._start_failed(slot, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        finally:
            slot.task = None
        if pool.retired or slot.state == "gone":
            self._discard(slot)
            return
        slot.state, slot.last_used = "idle", time.monotonic()
        pool.idle.append(slot)
        self._balance()

    def _start_failed(self, slot: Slot, exc: BaseException) -> None:
        pool = slot.pool
        if isinstance(exc, (ServiceInitError, SandboxUnavailable)):
            error: RuntimeFailure = exc
        elif isinstance(exc, WorkerTimeout):
            error = ServiceInitError(f"the service's worker did not load within {self.settings.service_load_timeout:g} s")
        else:
            error = ServiceInitError(f"the service's worker could not start: {getattr(exc, 'message', exc)}")
        if not isinstance(exc, asyncio.CancelledError):
            log.warning("a worker of %s/%s failed to start: %s", pool.spec.name, pool.spec.version, error.message)
            # The oldest waiter gets the error (each failed start costs one request, so a start
            # that always fails cannot loop); with no other worker left, every waiter gets it now
            # rather than at the timeout. Before _discard, so no new start is tried for them.
            others = any(s is not slot and s.state != "gone" for s in pool.slots)
            for waiter in list(pool.waiters):
                if not waiter.future.done():
                    waiter.future.set_exception(error)
                    pool.waiters.remove(waiter)
                    if others:
                        break
        self._discard(slot)

    def _discard(self, slot: Slot, balance: bool = True) -> None:
        pool = slot.pool
        if slot in pool.slots:
            pool.slots.remove(slot)
        if slot in pool.idle:
            pool.idle.remove(slot)
        slot.state = "gone"
        if slot.client is not None:
            slot.client.kill()
        if pool.retired and not pool.slots:
            self.retiring.discard(pool)
        if balance:
            self._balance()  # room freed on the node: waiting pools may grow

    def _pool_for(self, spec: ServiceSpec) -> ServicePool:
        current = self.pools.get((spec.name, spec.version))
        if current is not None and current.spec.key == spec.key:
            current.spec = spec  # same code; pool sizes or description may be new
            return current
        if current is not None:
            self._retire(current, None, PoolBusy("the service changed while this request waited for a worker; send it again"))
        pool = ServicePool(spec, self.settings)
        self.pools[(spec.name, spec.version)] = pool
        if spec.initial_size:
            self.warm(spec, spec.initial_size)
        return pool

    def _retire(self, pool: ServicePool, kill_busy: str | None, waiting: RuntimeFailure) -> None:
        """Stop a pool taking requests: idle and starting slots go now, busy ones when they finish
        (or now, with `kill_busy` as the reason their requests are told)."""
        pool.retired = True
        if self.pools.get((pool.spec.name, pool.spec.version)) is pool:
            del self.pools[(pool.spec.name, pool.spec.version)]
        for waiter in list(pool.waiters):
            if not waiter.future.done():
                waiter.future.set_exception(waiting)
        pool.waiters.clear()
        self.retiring.add(pool)
        for slot in list(pool.slots):
            if slot.state == "starting" and slot.task is not None:
                slot.task.cancel()  # its clean-up discards it
            elif slot.state != "busy" or kill_busy:
                slot.ended = kill_busy
                self._discard(slot)
        if not pool.slots:
            self.retiring.discard(pool)

    async def _reap(self) -> None:
        """Close workers unused for pool_idle_seconds, down to each pool's initial size."""
        idle_seconds = self.settings.pool_idle_seconds
        while True:
            await asyncio.sleep(max(0.5, min(30.0, idle_seconds / 4)))
            now = time.monotonic()
            for pool in list(self.pools.values()):
                while pool.idle and pool.size > pool.spec.initial_size and now - pool.idle[0].last_used >= idle_seconds:
                    self._discard(pool.idle[0])
