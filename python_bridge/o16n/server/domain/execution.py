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

from ..runtime.errors import PoolBusy, SandboxUnavailable, ServiceInitError, ShareExceeded, WorkerError, WorkerTimeout
from ..runtime.pools import PoolRegistry
from ..runtime.replies import ServiceReply
from .realtime import score_model
from .specs import ServiceSpec


async def run_service(pools: PoolRegistry, spec: ServiceSpec, inputs: dict[str, Any], caller: int) -> tuple[int, ServiceReply]:
    """Run one request of `caller` (a user id) on the service's pool: (HTTP status, its reply)."""
    if spec.model is not None:  # a realtime service: the frame is checked here, maybe scored in-process
        answered = await score_model(spec, inputs)
        if answered is not None:
            return answered
    try:
        reply = await pools.run(spec, inputs, caller=caller)
    except ShareExceeded as exc:
        return 429, ServiceReply.failure(exc.message)
    except (PoolBusy, SandboxUnavailable) as exc:
        return 503, ServiceReply.failure(exc.message)
    except WorkerTimeout as exc:
        return 504, ServiceReply.failure(exc.message)
    except ServiceInitError as exc:
        return 500, ServiceReply.failure(exc.message)
    except WorkerError as exc:
        return 500, ServiceReply.failure(f"the service's worker failed: {exc.message}; it has been replaced")
    return 200, reply
