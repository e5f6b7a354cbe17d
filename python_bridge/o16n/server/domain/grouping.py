"""Grouped realtime consumes: under load, one model run for the frames of many requests.

Each caller's sandboxed consumes of one service version form a *lane*. A consume that finds its
lane empty and an idle worker is scored alone at once (the c=1 path: no group, no task). Otherwise
it joins the lane's waiting group (up to GROUP_MAX_RECORDS requests, GROUP_MAX_ROWS rows, the same
columns in the same order). A waiting group of small frames goes once a model run of the lane that
is under way has finished, so that the requests arriving meanwhile share its worker hop; a group of
GROUP_PARALLEL_ROWS rows or more goes at once, on another worker, since its model work outweighs
the hop. A group that goes closes when a worker is held, its frames are scored as one frame in
one round trip, and each request gets its own rows back.

Why wait while a worker may be idle: a hop to a worker costs the node about as much as scoring a
hundred rows; one caller's small frames gain more from sharing hops than from running side by
side on a node whose cores are busy with that very traffic (bench/README.md: c=8 on 2 cores).

Only one caller's requests share a group: a worker held for them counts against that caller's
fair share, and a model run that fails or crashes costs only that caller's requests (a group whose
answer does not split is scored again request by request).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..runtime.pools import PoolRegistry
from ..runtime.replies import ServiceReply
from .realtime import concat_frames, split_reply
from .specs import ServiceSpec

GROUP_MAX_RECORDS = 64
GROUP_MAX_ROWS = 1024
GROUP_PARALLEL_ROWS = 128  # a group this large does not wait for the lane's run under way

LaneKey = tuple[int, str, int]  # the node's PoolRegistry, the service version (spec.key), the caller


@dataclass(eq=False)
class _Group:
    columns: list[str]
    frames: list[dict[str, list[Any]]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    total_rows: int = 0
    closed: bool = False
    scored: asyncio.Task[list[ServiceReply | BaseException]] | None = None  # the group's model run
    wake: asyncio.Future[None] | None = None  # set while it waits for the lane's run under way

    def fits(self, frame: dict[str, list[Any]], rows: int) -> bool:
        return (not self.closed and len(self.frames) < GROUP_MAX_RECORDS and self.total_rows + rows <= GROUP_MAX_ROWS
                and list(frame) == self.columns)

    def add(self, frame: dict[str, list[Any]], rows: int) -> int:
        self.frames.append(frame)
        self.rows.append(rows)
        self.total_rows += rows
        if self.goes_now():
            self.stop_waiting()
        return len(self.frames) - 1

    def goes_now(self) -> bool:
        """Large enough to take a worker of its own rather than wait for the lane's run."""
        return self.total_rows >= GROUP_PARALLEL_ROWS or len(self.frames) >= GROUP_MAX_RECORDS

    def stop_waiting(self) -> None:
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def merged(self) -> dict[str, Any]:
        """Close the group (a worker is held): the inputs of one consume with every frame's rows."""
        self.closed = True
        return {"inputData": concat_frames(self.frames)}


@dataclass(eq=False)
class _Lane:
    """One caller's consumes of one service version on this node: runs under way, groups waiting."""

    running: int = 0
    waiting: list[_Group] = field(default_factory=list)

    def joinable(self, frame: dict[str, list[Any]], rows: int) -> _Group | None:
        return next((g for g in reversed(self.waiting) if g.fits(frame, rows)), None)


# Lanes with a run under way or a group waiting, per node, service version and caller; a lane
# leaves when both are over, so this holds only what is happening right now.
_lanes: dict[LaneKey, _Lane] = {}


async def run_grouped(pools: PoolRegistry, spec: ServiceSpec, frame: dict[str, list[Any]], caller: int) -> ServiceReply:
    """One checked frame of a sandboxed realtime consume, scored alone or with the group it joins.
    Raises what PoolRegistry.run raises, for this request (or for its whole group)."""
    rows = len(next(iter(frame.values())))
    key = (id(pools), spec.key, caller)
    lane = _lanes.get(key)
    if lane is None and pools.has_idle(spec):  # nothing under way and a worker free: alone, at once
        lane = _lanes[key] = _Lane(running=1)
        try:
            return await pools.run(spec, {"inputData": frame}, caller=caller)
        finally:
            _run_over(key, lane)
    if lane is None:
        lane = _lanes[key] = _Lane()
    group = lane.joinable(frame, rows)
    if group is None:
        group = _Group(list(frame))
        lane.waiting.append(group)
        group.scored = asyncio.create_task(_score(pools, spec, key, lane, group, caller))
        group.scored.add_done_callback(_retrieved)
    index = group.add(frame, rows)
    assert group.scored is not None
    # shielded: a request that goes away (its client hung up) leaves the others' model run alone
    answer = (await asyncio.shield(group.scored))[index]
    if isinstance(answer, BaseException):
        raise answer
    return answer


async def _score(pools: PoolRegistry, spec: ServiceSpec, key: LaneKey, lane: _Lane, group: _Group,
                 caller: int) -> list[ServiceReply | BaseException]:
    under_way = False
    try:
        if lane.running and not group.goes_now():  # until one of the runs under way ends (or it grows large)
            group.wake = asyncio.get_running_loop().create_future()
            await group.wake
            group.wake = None
        lane.running += 1
        under_way = True

        def close() -> dict[str, Any]:
            _leave(lane, group)
            return group.merged()

        reply = await pools.run(spec, close, caller=caller)
        if len(group.frames) == 1:
            return [reply]
        replies = split_reply(reply, group.rows)
        if replies is not None:
            return list(replies)
        # the merged answer failed or does not split: every request alone, each with its own answer
        alone = [pools.run(spec, {"inputData": frame}, caller=caller) for frame in group.frames]
        return list(await asyncio.gather(*alone, return_exceptions=True))
    finally:
        _leave(lane, group)  # when it failed before a worker was held
        if under_way:
            _run_over(key, lane)
        elif not lane.running and not lane.waiting:
            _lanes.pop(key, None)


def _leave(lane: _Lane, group: _Group) -> None:
    if group in lane.waiting:
        lane.waiting.remove(group)


def _run_over(key: LaneKey, lane: _Lane) -> None:
    """A run of the lane is over: the groups that waited go (also while other runs are under way,
    so that a stream of large frames never holds small ones back); an idle lane leaves."""
    lane.running -= 1
    for group in lane.waiting:
        group.stop_waiting()
    if not lane.running and not lane.waiting and _lanes.get(key) is lane:
        del _lanes[key]


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Every request of the group may have gone away: the task's failure is theirs, not an error."""
    if not task.cancelled():
        task.exception()
