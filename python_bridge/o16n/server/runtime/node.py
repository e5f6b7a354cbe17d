"""The runtime of one server node, built once at start-up: sandbox plan, cgroups, factory, pools, sessions.

The domain uses `runtime.pools` (PoolRegistry), `runtime.sessions` (SessionWorkers) and the
WorkerClient / WorkerDir / WorkerFile those hand out; `/status` shows `runtime.sandbox_report()`.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .cgroups import Cgroups
from .factory import WorkerFactory
from .pools import PoolRegistry
from .sandbox import SandboxPlan
from .sessions import SessionWorkers


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plan = SandboxPlan.probe(settings)
        self.cgroups = Cgroups.probe()  # limits apply whatever the sandbox setting
        self.factory = WorkerFactory(settings, self.plan, self.cgroups)
        self.sessions = SessionWorkers(settings, self.factory)
        self.pools = PoolRegistry(settings, self.factory)

    def start(self) -> None:
        """Once the event loop runs: start the spare workers."""
        self.factory.refill()

    def sandbox_report(self) -> dict[str, Any]:
        """What isolation and limits apply to workers on this node, for /status (no paths in it)."""
        report = self.plan.describe()
        cg = self.cgroups
        uids = self.factory.uids
        report["uid"] = uids.describe() if uids is not None else "the server's own uid"
        rlimit_nproc = uids is not None
        report["limits"] = {
            "memory": cg.memory.describe("memory") if cg.memory else "rlimit (address space of each process)",
            "processes": cg.pids.describe("pids") if cg.pids else
            ("rlimit nproc (per worker uid)" if rlimit_nproc else "none"),
            "memoryMb": self.settings.worker_memory_mb,
            "maxProcesses": self.settings.worker_max_processes,
        }
        kills = ["pid namespace"] if self.plan.applied == "namespaces" else ["process group"]
        if cg.killer is not None:
            kills.append("cgroup v2 cgroup.kill")
        elif cg.hierarchies:
            kills.append(f"cgroup v{cg.hierarchies[0].version} (every listed process)")
        report["treeKill"] = " + ".join(kills)
        warnings = list(self.plan.warnings)
        if not cg.memory:
            warnings.append("no memory cgroup: the memory limit applies to each process, not to a worker's whole tree")
        warnings += cg.problems
        report["warnings"] = warnings
        return report

    async def close(self) -> None:
        await self.sessions.close_all()
        await self.pools.close()
        await self.factory.close()
