"""PoolRegistry in-process: size from slots, clean-up on cancellation, shares, reservation, timeouts.

Most tests drive the registry with fake workers (fast, deterministic). The acquire/cancel test
uses real sandboxed workers and checks the process count against the pool's own count over 100
cycles cancelled at every stage: waiting, starting, running.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from isolation_support import children, ensure_bwrap

from o16n.server.config import Settings
from o16n.server.domain.specs import ServiceSpec
from o16n.server.runtime.errors import PoolBusy, ServiceInitError, ShareExceeded, WorkerError
from o16n.server.runtime.node import Runtime
from o16n.server.runtime.pools import PoolRegistry
from o16n.server.runtime.replies import ServiceReply
from o16n.wire.types import Parameter


def spec(name: str = "S", code: str = "y = 1", init: str | None = None, max_size: int | None = None, key: str = "k") -> ServiceSpec:
    return ServiceSpec(key=f"{name}-{key}", name=name, version="v1", code=code, init_code=init,
                       inputs=(Parameter("s", "numeric"),), outputs={"y": "integer"}, output_files=(),
                       snapshot_path=None, max_size=max_size)


# --- fakes -----------------------------------------------------------------------------------
class FakeWorker:
    """Stands in for WorkerClient: `s` (seconds) is how long a run takes; `init_fails` breaks loading."""

    def __init__(self, factory: FakeFactory) -> None:
        self.factory = factory
        self.alive = True
        self.pid = len(factory.started)

    async def load_service(self, spec: ServiceSpec, timeout: float) -> None:
        await asyncio.sleep(self.factory.start_seconds)
        if self.factory.init_fails:
            raise ServiceInitError("the service's init code failed: boom")

    async def run(self, inputs: dict[str, Any], timeout: float, *, alone: bool = False) -> ServiceReply:
        try:
            await asyncio.sleep(inputs.get("s", 0))
        except BaseException:
            self.kill()
            raise
        return ServiceReply(True, "", "", outputs={"y": 1})

    def kill(self) -> None:
        self.alive = False


class FakeFactory:
    def __init__(self, start_seconds: float = 0.0, init_fails: bool = False) -> None:
        self.start_seconds = start_seconds
        self.init_fails = init_fails
        self.started: list[FakeWorker] = []

    async def take(self) -> FakeWorker:
        worker = FakeWorker(self)
        self.started.append(worker)
        return worker

    def living(self) -> int:
        return sum(w.alive for w in self.started)


def registry(factory: FakeFactory, tmp_path: Path, **settings: Any) -> PoolRegistry:
    values = {"data_dir": tmp_path, "queue_timeout": 1.0, "consume_timeout": 5.0, "pool_max_size": 4, "max_workers": 8, **settings}
    return PoolRegistry(Settings(**values), factory)  # type: ignore[arg-type]


def test_size_is_the_number_of_slots_and_matches_living_workers(tmp_path):
    async def scenario() -> None:
        factory = FakeFactory(start_seconds=0.05)
        pools = registry(factory, tmp_path)
        s = spec()
        results = await asyncio.gather(*(pools.run(s, {"s": 0.05}, caller=1) for _ in range(10)))
        assert all(r.success for r in results)
        status = pools.status("S", "v1")
        assert status.size == 4 == factory.living() and status.idle == 4 and status.busy == 0
        await pools.close()
        assert factory.living() == 0

    asyncio.run(scenario())


def test_cancelled_requests_leave_no_worker_uncounted(tmp_path):
    """Cancelled while waiting, while the worker starts, while it runs: living workers == pool size."""

    async def scenario() -> None:
        factory = FakeFactory(start_seconds=0.03)
        pools = registry(factory, tmp_path, pool_max_size=2)
        s = spec()
        rng = random.Random(11)
        for _ in range(200):
            tasks = [asyncio.create_task(pools.run(s, {"s": rng.random() * 0.05}, caller=rng.randint(1, 3)))
                     for _ in range(rng.randint(1, 4))]
            await asyncio.sleep(rng.random() * 0.06)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.04)  # let starts that nobody waits for any more finish
            assert pools.status("S", "v1").size == factory.living() <= 2
            assert not pools.shares.held and not pools.shares.waiting
        await pools.close()
        assert factory.living() == 0

    asyncio.run(scenario())


def test_waiting_and_running_have_their_own_timeouts_and_messages(tmp_path):
    async def scenario() -> None:
        pools = registry(FakeFactory(), tmp_path, pool_max_size=1, queue_timeout=0.2)
        s = spec()
        slow = asyncio.create_task(pools.run(s, {"s": 0.6}, caller=1))
        await asyncio.sleep(0.05)
        with pytest.raises(PoolBusy) as busy:
            await pools.run(s, {"s": 0}, caller=2)
        assert "all 1 workers of this service stayed busy for 0.2 s" in busy.value.message
        assert (await slow).success  # the running request had its own, longer timeout
        await pools.close()

    asyncio.run(scenario())


def test_a_slow_cold_start_is_waited_for_not_charged_to_the_request(tmp_path):
    """The issue's probe in miniature: start 0.3 s, consume timeout 0.1 s: both requests are served."""

    async def scenario() -> None:
        factory = FakeFactory(start_seconds=0.3)
        pools = registry(factory, tmp_path, consume_timeout=0.1, queue_timeout=2.0)
        for round_ in range(3):
            s = spec(key=f"round{round_}")  # a new key: a new pool, a new cold start
            results = await asyncio.gather(*(pools.run(s, {"s": 0}, caller=1) for _ in range(2)))
            assert all(r.success for r in results)
            await asyncio.sleep(0.05)
            assert factory.living() == pools.stats()["workers"]
        await pools.close()

    asyncio.run(scenario())


def test_a_user_at_the_cap_waits_for_its_own_and_then_gets_share_exceeded(tmp_path):
    async def scenario() -> None:
        pools = registry(FakeFactory(), tmp_path, user_max_workers=2, queue_timeout=0.3)
        s = spec(max_size=8)
        hogs = [asyncio.create_task(pools.run(s, {"s": 1.0}, caller=7)) for _ in range(2)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        assert (await pools.run(s, {"s": 0}, caller=8)).success  # another user passes at once
        assert time.monotonic() - started < 0.2
        with pytest.raises(ShareExceeded) as refused:
            await pools.run(s, {"s": 0}, caller=7)
        assert refused.value.limit_name == "user_max_workers"
        await asyncio.gather(*hogs)
        await pools.close()

    asyncio.run(scenario())


def test_too_many_waiting_requests_of_one_user_are_refused_at_once(tmp_path):
    async def scenario() -> None:
        pools = registry(FakeFactory(), tmp_path, pool_max_size=1, user_max_waiting=3, queue_timeout=2)
        s = spec()
        tasks = [asyncio.create_task(pools.run(s, {"s": 0.2}, caller=1))]
        await asyncio.sleep(0.05)  # that one runs; the next three wait
        tasks += [asyncio.create_task(pools.run(s, {"s": 0.01}, caller=1)) for _ in range(3)]
        await asyncio.sleep(0.05)
        with pytest.raises(ShareExceeded) as refused:
            await pools.run(s, {"s": 0}, caller=1)
        assert refused.value.limit_name == "user_max_waiting"
        assert all(r.success for r in await asyncio.gather(*tasks))
        await pools.close()

    asyncio.run(scenario())


def test_too_many_waiting_requests_for_one_service_are_refused_at_once(tmp_path):
    async def scenario() -> None:
        pools = registry(FakeFactory(), tmp_path, pool_max_size=1, service_max_waiting=2, queue_timeout=2)
        s = spec()
        tasks = [asyncio.create_task(pools.run(s, {"s": 0.2}, caller=1))]
        await asyncio.sleep(0.05)
        tasks += [asyncio.create_task(pools.run(s, {"s": 0.01}, caller=user)) for user in (2, 3)]
        await asyncio.sleep(0.05)
        with pytest.raises(ShareExceeded) as refused:
            await pools.run(s, {"s": 0}, caller=4)
        assert refused.value.limit_name == "service_max_waiting"
        assert (await pools.run(spec("Other"), {"s": 0}, caller=4)).success  # other services are not affected
        assert all(r.success for r in await asyncio.gather(*tasks))
        await pools.close()

    asyncio.run(scenario())


def test_a_service_keeps_its_last_warm_worker_when_the_node_is_full(tmp_path):
    """A pool that already has workers queues on them instead of taking another service's last one;
    a pool without any worker may take it (else it could never run)."""

    async def scenario() -> None:
        factory = FakeFactory()
        pools = registry(factory, tmp_path, max_workers=3, user_max_workers=-1, queue_timeout=2)
        neighbour, greedy, newcomer = spec("N"), spec("G", max_size=8), spec("C")
        assert (await pools.run(neighbour, {"s": 0}, caller=1)).success
        hold = [asyncio.create_task(pools.run(greedy, {"s": 0.5}, caller=2)) for _ in range(4)]
        await asyncio.sleep(0.1)
        assert pools.status("N", "v1").size == 1 and pools.status("G", "v1").size == 2
        assert (await pools.run(neighbour, {"s": 0}, caller=1)).success  # still warm
        results = await asyncio.gather(*hold)
        assert all(r.success for r in results)
        assert (await pools.run(newcomer, {"s": 0}, caller=3)).success  # took the longest-idle worker
        assert pools.stats()["workers"] <= 3
        await pools.close()

    asyncio.run(scenario())


def test_a_failing_start_tells_every_waiter_at_once(tmp_path):
    async def scenario() -> None:
        pools = registry(FakeFactory(start_seconds=0.05, init_fails=True), tmp_path, queue_timeout=5)
        started = time.monotonic()
        results = await asyncio.gather(*(pools.run(spec(), {"s": 0}, caller=1) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(r, ServiceInitError) and "boom" in r.message for r in results)
        assert time.monotonic() - started < 1
        assert pools.stats()["workers"] == 0
        await pools.close()

    asyncio.run(scenario())


def test_dropping_a_service_kills_its_busy_workers_now(tmp_path):
    async def scenario() -> None:
        factory = FakeFactory()
        pools = registry(factory, tmp_path)
        running = asyncio.create_task(pools.run(spec(), {"s": 5}, caller=1))
        await asyncio.sleep(0.05)
        pools.drop("S", "v1")
        assert factory.living() == 0 and pools.stats()["workers"] == 0
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pools.close()

    asyncio.run(scenario())


# --- real workers ------------------------------------------------------------------------------
def test_100_acquire_cancel_cycles_with_real_workers_leave_no_stray_process(tmp_path):
    """Cancel at every stage with real sandboxed workers: this process's children == the pools' count."""
    ensure_bwrap()

    others = set(children(os.getpid()))  # e.g. the session's live server, started by other tests

    def workers() -> set[int]:
        return set(children(os.getpid())) - others

    async def scenario() -> None:
        settings = Settings(data_dir=tmp_path, spare_workers=1, pool_max_size=2, max_workers=3, queue_timeout=5,
                            consume_timeout=5)
        runtime = Runtime(settings)
        runtime.start()
        pools, factory = runtime.pools, runtime.factory
        service = spec(code="import time\ntime.sleep(s)\ny = 1")
        rng = random.Random(5)

        async def settle() -> None:
            for _ in range(400):
                if not factory.cleanups and not factory.starting and not pools.stats()["starting"]:
                    return
                await asyncio.sleep(0.025)
            raise AssertionError("the runtime did not settle")

        try:
            for cycle in range(100):
                stage = cycle % 4  # 0: done, 1: cancelled while waiting/starting, 2: while running, 3: burst
                count = 3 if stage == 3 else 1
                tasks = [asyncio.create_task(pools.run(service, {"s": 0.3 if stage == 2 else 0.01}, caller=1)) for _ in range(count)]
                if stage == 0:
                    await asyncio.gather(*tasks)
                else:
                    await asyncio.sleep(rng.random() * (0.4 if stage == 2 else 0.15))
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                await settle()
                stats = pools.stats()
                assert len(workers()) == stats["workers"] + len(factory.spares), (cycle, stats)
                assert stats["workers"] <= 3
        finally:
            await runtime.close()
        assert not workers()

    asyncio.run(scenario())


def test_a_worker_that_dies_while_idle_is_replaced(tmp_path):
    ensure_bwrap()

    async def scenario() -> None:
        runtime = Runtime(Settings(data_dir=tmp_path, spare_workers=0))
        try:
            service = spec(code="y = 1")
            assert (await runtime.pools.run(service, {"s": 0}, caller=1)).success
            slot = runtime.pools.pools[("S", "v1")].idle[0]
            assert slot.client is not None
            slot.client.process.kill()  # e.g. the OOM killer
            assert (await runtime.pools.run(service, {"s": 0}, caller=1)).success
            crashing = spec("C", code="import os\nos._exit(4)")
            with pytest.raises(WorkerError) as died:
                await runtime.pools.run(crashing, {"s": 0}, caller=1)
            assert "exited with code 4" in died.value.message
        finally:
            await runtime.close()

    asyncio.run(scenario())
