"""One service request, as consume and batch both run it: the pool, the failure modes, the reply.

What each failure means for the caller (the errors of `server/errors.py`, as a WebServiceResult):
429 a fair-share cap of the caller or the service (the setting named), 503 no worker became free
in time, 504 the code ran past `consume_timeout` (its worker was stopped), 500 the service could not
load, or its worker died (it has been replaced: the next request works). User-code errors are
answers: 200 with success false. A realtime service (docs/realtime.md) answers 400 first for a
frame that does not fit its model, and is scored here when `realtime_in_process` is on.
"""

from __future__ import annotations

from typing import Any

from ..runtime.errors import (
    PoolBusy,
    RuntimeFailure,
    SandboxUnavailable,
    ServiceInitError,
    ShareExceeded,
    WorkerError,
    WorkerTimeout,
)
from ..runtime.pools import PoolRegistry
from ..runtime.replies import ServiceReply
from .grouping import run_grouped
from .realtime import merge_frames, score_model, split_reply
from .specs import ServiceSpec


async def run_service(pools: PoolRegistry, spec: ServiceSpec, inputs: dict[str, Any], caller: int) -> tuple[int, ServiceReply]:
    """Run one request of `caller` (a user id) on the service's pool: (HTTP status, its reply)."""
    try:
        if spec.model is not None:  # a realtime service: the frame is checked here, maybe scored in-process
            answered = await score_model(spec, inputs)
            if answered is not None:
                return answered
            return 200, await run_grouped(pools, spec, inputs["inputData"], caller)  # sandboxed
        return 200, await pools.run(spec, inputs, caller=caller)
    except FAILURES as exc:
        return failure(exc)


async def run_service_many(pools: PoolRegistry, spec: ServiceSpec, records: list[dict[str, Any]],
                           caller: int) -> tuple[int, list[ServiceReply]]:
    """Batch items on one worker in one round trip: (200, the replies of the first 1..N items), or
    (the status `run_service` would give, one failure reply) when the chunk as a whole failed.
    A realtime service scores the chunk's frames as one frame, in one run of the model."""
    if spec.model is not None:
        return await _score_many(pools, spec, records, caller)
    try:
        return 200, await pools.run_many(spec, records, caller=caller)
    except FAILURES as exc:
        status, reply = failure(exc)
        return status, [reply]


async def _score_many(pools: PoolRegistry, spec: ServiceSpec, records: list[dict[str, Any]],
                      caller: int) -> tuple[int, list[ServiceReply]]:
    merged = merge_frames(spec, records) if len(records) > 1 else None
    if merged is None:  # one record, or records that do not merge: the first one alone
        status, reply = await run_service(pools, spec, records[0], caller)
        return (200 if status == 400 else status), [reply]  # a frame that does not fit is that item's answer
    frame, counts = merged
    status, reply = await run_service(pools, spec, {"inputData": frame}, caller)
    replies = split_reply(reply, counts) if status == 200 else None
    if replies is None:
        return (status if status != 200 else 500), [reply]  # the chunk goes again record by record
    return 200, replies


FAILURES = (ShareExceeded, PoolBusy, SandboxUnavailable, WorkerTimeout, ServiceInitError, WorkerError)


def failure(exc: RuntimeFailure) -> tuple[int, ServiceReply]:
    """The HTTP status and reply of a request the runtime could not run (the table above)."""
    if isinstance(exc, ShareExceeded):
        return 429, ServiceReply.failure(exc.message)
    if isinstance(exc, (PoolBusy, SandboxUnavailable)):
        return 503, ServiceReply.failure(exc.message)
    if isinstance(exc, WorkerTimeout):  # before WorkerError: it is one
        return 504, ServiceReply.failure(exc.message)
    if isinstance(exc, ServiceInitError):
        return 500, ServiceReply.failure(exc.message)
    return 500, ServiceReply.failure(f"the service's worker failed: {exc.message}; it has been replaced")
