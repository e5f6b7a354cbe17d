"""Grouped realtime consumes: under load, one model run for the frames of many requests.

A sandboxed consume of a realtime service that has to wait for a model worker opens a group; the
consumes of the same service version by the same caller that arrive while it waits join it (up to
GROUP_MAX_RECORDS requests, GROUP_MAX_ROWS rows, the same columns in the same order). Once a worker
is held the group closes, its frames are scored as one frame in one round trip, and each request
gets its own rows back. At c=8 a request then costs the server one share of a worker hop instead
of one hop, which is what bounds the sandboxed mode's throughput. A lone consume finds an idle
worker, never waits, and is scored alone on its own path (no group, no task).

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



@dataclass(eq=False)
class _Group:
    columns: list[str]
    frames: list[dict[str, list[Any]]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    closed: bool = False
    scored: asyncio.Task[list[ServiceReply | BaseException]] | None = None  # the model run, once it starts

    def fits(self, frame: dict[str, list[Any]], rows: int) -> bool:
        return (not self.closed and len(self.frames) < GROUP_MAX_RECORDS and sum(self.rows) + rows <= GROUP_MAX_ROWS
                and list(frame) == self.columns)

    def add(self, frame: dict[str, list[Any]], rows: int) -> int:
        self.frames.append(frame)
        self.rows.append(rows)
        return len(self.frames) - 1

    def merged(self) -> dict[str, Any]:
        """Close the group (a worker is held): the inputs of one consume with every frame's rows."""
        self.closed = True
        return {"inputData": concat_frames(self.frames)}


# Groups that are still open, per node (PoolRegistry), service version (spec.key) and caller. A group
# leaves as soon as it closes, so this holds only requests that are waiting for a worker right now.
_open: dict[tuple[int, str, int], _Group] = {}


async def run_grouped(pools: PoolRegistry, spec: ServiceSpec, frame: dict[str, list[Any]], caller: int) -> ServiceReply:
    """One checked frame of a sandboxed realtime consume, scored alone or with the group it joins.
    Raises what PoolRegistry.run raises, for this request (or for its whole group)."""
    rows = len(next(iter(frame.values())))
    key = (id(pools), spec.key, caller)
    group = _open.get(key)
    if group is None and pools.has_idle(spec):  # it will not wait: no group, no task (the c=1 path)
        return await pools.run(spec, {"inputData": frame}, caller=caller)
    if group is not None and group.fits(frame, rows):
        index = group.add(frame, rows)
    else:
        group = _open[key] = _Group(list(frame))
        index = group.add(frame, rows)
        group.scored = asyncio.create_task(_score(pools, spec, group, key, caller))
        group.scored.add_done_callback(_retrieved)
    assert group.scored is not None
    # shielded: a request that goes away (its client hung up) leaves the others' model run alone
    answer = (await asyncio.shield(group.scored))[index]
    if isinstance(answer, BaseException):
        raise answer
    return answer


async def _score(pools: PoolRegistry, spec: ServiceSpec, group: _Group, key: tuple[int, str, int],
                 caller: int) -> list[ServiceReply | BaseException]:
    def close() -> dict[str, Any]:
        if _open.get(key) is group:
            del _open[key]
        return group.merged()

    try:
        reply = await pools.run(spec, close, caller=caller)
    finally:
        if _open.get(key) is group:  # it failed before a worker was held
            del _open[key]
    if len(group.frames) == 1:
        return [reply]
    replies = split_reply(reply, group.rows)
    if replies is not None:
        return list(replies)
    # the merged answer failed or does not split: every request alone, each with its own answer
    alone = [pools.run(spec, {"inputData": frame}, caller=caller) for frame in group.frames]
    return list(await asyncio.gather(*alone, return_exceptions=True))


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Every request of the group may have gone away: the task's failure is theirs, not an error."""
    if not task.cancelled():
        task.exception()
