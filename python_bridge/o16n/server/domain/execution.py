"""One service request, as consume and batch both run it: the pool, the failure modes, the result."""

from __future__ import annotations

from typing import Any

from ..runtime.pools import PoolBusy, PoolRegistry, ServiceInitError
from ..runtime.process import WorkerError, WorkerTimeout
from .specs import ServiceSpec


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


async def run_service(pools: PoolRegistry, spec: ServiceSpec, inputs: dict[str, Any],
                      timeout: float) -> tuple[int, dict[str, Any]]:
    """Run one request on the service's pool: (HTTP status, WebServiceResult)."""
    pool = pools.pool_for(spec)
    try:
        result = await pool.run(inputs, timeout)
    except PoolBusy as exc:
        return 503, failed_result(str(exc))
    except WorkerTimeout:
        return 504, failed_result(f"the service did not finish within {timeout:g} s; its worker was stopped")
    except ServiceInitError as exc:
        return 500, failed_result(str(exc))
    except WorkerError as exc:
        return 500, failed_result(f"the service's worker failed: {exc}; it has been replaced")
    # User-code errors are answers (success false), not server faults.
    return 200, web_service_result(result)
