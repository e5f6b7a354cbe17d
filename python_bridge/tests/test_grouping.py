"""Unit tests of grouped realtime consumes (domain/grouping.py) with a stand-in for the pools: who
shares a model run, when a group closes, and what each request gets back. The real server and
worker side is test_realtime.py::test_concurrent_consumes_on_one_model_worker_each_get_their_own_rows."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from o16n.server.domain import grouping
from o16n.server.runtime.errors import WorkerError
from o16n.server.runtime.replies import ServiceReply


class StandInPools:
    """Holds every `run` until released; records the frames each model run got."""

    def __init__(self, idle: bool = False, answer: Any = None, stepwise: bool = False) -> None:
        self.idle = idle
        self.turns = asyncio.Semaphore(0) if stepwise else None  # stepwise: one run ends per turn given
        self.answer = answer  # a function (frame -> reply), or an exception to raise
        self.runs: list[dict[str, list[Any]]] = []
        self.started = 0  # runs that asked for a worker
        self.release = asyncio.Event()

    def has_idle(self, spec: Any) -> bool:
        return self.idle

    async def run(self, spec: Any, inputs: Any, *, caller: int) -> ServiceReply:
        self.started += 1
        if self.turns is not None:
            await self.turns.acquire()
        else:
            await self.release.wait()  # waiting for a worker
        frame = (inputs() if callable(inputs) else inputs)["inputData"]
        self.runs.append(frame)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return (self.answer or doubled)(frame)


def doubled(frame: dict[str, list[Any]]) -> ServiceReply:
    """A model that answers y = 2x, one row per input row."""
    return ServiceReply(True, "", "", outputs={"outputData": {"y": [2 * v for v in frame["x"]]}})


SPEC = SimpleNamespace(key="digest-1")


async def consume_together(pools: StandInPools, frames: list[tuple[dict[str, list[Any]], int]],
                           spec: Any = SPEC) -> list[Any]:
    tasks = [asyncio.create_task(grouping.run_grouped(pools, spec, frame, caller)) for frame, caller in frames]  # type: ignore[arg-type]
    await asyncio.sleep(0)  # all of them arrive while the first waits for a worker
    pools.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_waiting_consumes_of_one_caller_share_one_run_and_get_their_own_rows():
    pools = StandInPools()
    replies = asyncio.run(consume_together(pools, [({"x": [1]}, 7), ({"x": [2, 3]}, 7), ({"x": [4]}, 7)]))
    assert pools.runs == [{"x": [1, 2, 3, 4]}]
    assert [r.outputs["outputData"]["y"] for r in replies] == [[2], [4, 6], [8]]
    assert not grouping._lanes


def test_other_callers_columns_and_models_never_share_a_run():
    pools = StandInPools()
    other_model = SimpleNamespace(key="digest-2")

    async def scenario() -> list[Any]:
        first = await consume_together(pools, [({"x": [1]}, 7), ({"x": [2]}, 8), ({"x": [3], "z": [0]}, 7)])
        pools.release.clear()
        tasks = [asyncio.create_task(grouping.run_grouped(pools, spec, {"x": [v]}, 7))  # type: ignore[arg-type]
                 for spec, v in ((SPEC, 4), (other_model, 5))]
        await asyncio.sleep(0)
        pools.release.set()
        return first + list(await asyncio.gather(*tasks))

    replies = asyncio.run(scenario())
    assert sorted(map(str, pools.runs)) == sorted(map(str, [{"x": [1]}, {"x": [2]}, {"x": [3], "z": [0]}, {"x": [4]}, {"x": [5]}]))
    assert [r.outputs["outputData"]["y"] for r in replies] == [[2], [4], [6], [8], [10]]


def test_a_lone_consume_with_an_idle_worker_runs_alone_at_once():
    pools = StandInPools(idle=True)
    pools.release.set()
    reply = asyncio.run(grouping.run_grouped(pools, SPEC, {"x": [5]}, 7))  # type: ignore[arg-type]
    assert reply.outputs["outputData"]["y"] == [10] and pools.runs == [{"x": [5]}]


def test_small_frames_wait_for_the_run_under_way_and_then_share_one():
    pools = StandInPools(idle=True)  # a worker is free all along

    async def scenario() -> list[Any]:
        first = asyncio.create_task(grouping.run_grouped(pools, SPEC, {"x": [1]}, 7))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        later = [asyncio.create_task(grouping.run_grouped(pools, SPEC, {"x": [v]}, 7)) for v in (2, 3, 4)]  # type: ignore[arg-type]
        for _ in range(3):
            await asyncio.sleep(0)
        assert pools.started == 1  # they wait for the first one's run, not for a worker
        pools.release.set()
        return list(await asyncio.gather(first, *later))

    replies = asyncio.run(scenario())
    assert pools.runs == [{"x": [1]}, {"x": [2, 3, 4]}]
    assert [r.outputs["outputData"]["y"] for r in replies] == [[2], [4], [6], [8]]
    assert not grouping._lanes


def test_a_large_frame_takes_another_worker_at_once():
    pools = StandInPools(idle=True)
    large = {"x": list(range(grouping.GROUP_PARALLEL_ROWS))}

    async def scenario() -> list[Any]:
        first = asyncio.create_task(grouping.run_grouped(pools, SPEC, {"x": [1]}, 7))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        second = asyncio.create_task(grouping.run_grouped(pools, SPEC, large, 7))  # type: ignore[arg-type]
        for _ in range(3):
            await asyncio.sleep(0)
        assert pools.started == 2  # side by side
        pools.release.set()
        return list(await asyncio.gather(first, second))

    replies = asyncio.run(scenario())
    assert replies[1].outputs["outputData"]["y"] == [2 * v for v in large["x"]]
    assert not grouping._lanes


def test_a_stream_of_large_frames_does_not_hold_small_ones_back():
    pools = StandInPools(idle=True, stepwise=True)
    large = {"x": list(range(grouping.GROUP_PARALLEL_ROWS))}

    async def settle() -> None:
        for _ in range(5):
            await asyncio.sleep(0)

    async def scenario() -> list[Any]:
        tasks = [asyncio.create_task(grouping.run_grouped(pools, SPEC, large, 7))]  # type: ignore[arg-type]
        await settle()
        tasks.append(asyncio.create_task(grouping.run_grouped(pools, SPEC, {"x": [1]}, 7)))  # type: ignore[arg-type]
        await settle()
        other_columns = {**large, "z": large["x"]}  # so that it cannot join the small frame's group
        tasks.append(asyncio.create_task(grouping.run_grouped(pools, SPEC, other_columns, 7)))  # type: ignore[arg-type]
        await settle()
        assert pools.started == 2  # the two large runs; the small frame waits
        pools.turns.release()  # the first large run ends while the second is still under way
        await settle()
        assert pools.started == 3  # the small frame went
        pools.turns.release()
        pools.turns.release()
        return list(await asyncio.gather(*tasks))

    replies = asyncio.run(scenario())
    assert replies[1].outputs["outputData"]["y"] == [2]
    assert not grouping._lanes


def test_groups_are_capped_in_requests_and_rows():
    pools = StandInPools()
    frames = [({"x": [i]}, 7) for i in range(grouping.GROUP_MAX_RECORDS + 1)]
    frames.append(({"x": list(range(grouping.GROUP_MAX_ROWS))}, 7))
    replies = asyncio.run(consume_together(pools, frames))
    # 64 one-row requests fill a group; the 65th opens the next, which the 1,024-row frame would overfill
    assert sorted(len(run["x"]) for run in pools.runs) == [1, grouping.GROUP_MAX_RECORDS, grouping.GROUP_MAX_ROWS]
    assert all(r.outputs["outputData"]["y"] == [2 * v for v in f["x"]] for r, (f, _) in zip(replies, frames))


def test_a_merged_answer_that_does_not_split_is_scored_again_request_by_request():
    def by_length(frame: dict[str, list[Any]]) -> ServiceReply:
        if len(frame["x"]) > 1:  # the merged frame fails (one bad row, say): each request alone
            return ServiceReply.failure("ScoringError: a row does not fit")
        return doubled(frame) if frame["x"] != [2] else ServiceReply.failure("ScoringError: 2 does not fit")

    pools = StandInPools(answer=by_length)
    replies = asyncio.run(consume_together(pools, [({"x": [1]}, 7), ({"x": [2]}, 7), ({"x": [3]}, 7)]))
    assert pools.runs[0] == {"x": [1, 2, 3]} and sorted(map(str, pools.runs[1:])) == ["{'x': [1]}", "{'x': [2]}", "{'x': [3]}"]
    assert [r.success for r in replies] == [True, False, True]
    assert "2 does not fit" in replies[1].error_message


def test_a_failure_before_the_model_run_reaches_every_request_of_the_group():
    pools = StandInPools(answer=WorkerError("the worker died"))
    replies = asyncio.run(consume_together(pools, [({"x": [1]}, 7), ({"x": [2]}, 7)]))
    assert all(isinstance(r, WorkerError) for r in replies) and not grouping._lanes


def test_a_request_that_goes_away_leaves_the_others_of_its_group_alone():
    pools = StandInPools()

    async def scenario() -> list[Any]:
        tasks = [asyncio.create_task(grouping.run_grouped(pools, SPEC, {"x": [v]}, 7)) for v in (1, 2, 3)]  # type: ignore[arg-type]
        await asyncio.sleep(0)
        tasks[0].cancel()  # the group's first request: its client hung up
        await asyncio.sleep(0)
        pools.release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    replies = asyncio.run(scenario())
    assert isinstance(replies[0], asyncio.CancelledError)
    assert [r.outputs["outputData"]["y"] for r in replies[1:]] == [[4], [6]]
    assert pools.runs == [{"x": [1, 2, 3]}]


@pytest.fixture(autouse=True)
def no_open_groups():
    yield
    grouping._lanes.clear()
