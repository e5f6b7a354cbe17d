"""One service request, as consume and batch both run it: the pool, the failure modes, the result."""

from __future__ import annotations

from typing import Any

from .domain.specs import ServiceSpec
from .runtime.errors import PoolBusy, SandboxUnavailable, ServiceInitError, ShareExceeded, WorkerError, WorkerTimeout
from .runtime.pools import PoolRegistry
from .runtime.replies import ServiceReply


def web_service_result(result: dict[str, Any]) -> dict[str, Any]:
    """The six keys every client reads; all always present."""
    return {
        "success": result.get("success", False),
        "errorMessage": result.get("errorMessage", ""),
        "consoleOutput": result.get("consoleOutput", ""),
        "changedFiles": result.get("changedFiles", []),
        "outputFiles": result.get("outputFiles", {}),
        "outputParameters": result.get("outputs", {}),
    }


def failed_result(message: str) -> dict[str, Any]:
    return web_service_result({"success": False, "errorMessage": message})


async def run_service(pools: PoolRegistry, spec: ServiceSpec, inputs: dict[str, Any], caller: int) -> tuple[int, ServiceReply]:
    """Run one request on the service's pool: (HTTP status, its reply)."""
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
    # User-code errors are answers (success false), not server faults.
    return 200, reply
