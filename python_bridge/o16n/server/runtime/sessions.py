"""Live Python sessions: one worker process each, owned by the user who created it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from .factory import WorkerFactory
from .placement import Placement, assign
from .process import WorkerProcess


@dataclass
class LiveSession:
    id: str
    name: str | None
    owner_id: int
    worker: WorkerProcess
    placement: Placement
    history: list[str] = field(default_factory=list)
    last_console: str = ""

    @property
    def workdir(self) -> Path:
        return self.placement.workdir

    @property
    def live_console(self) -> Path:
        """Where the worker writes the console of a running execution as it comes."""
        return self.placement.exchange / "console.txt"


class SessionLimitReached(Exception):
    pass


class SessionManager:
    def __init__(self, settings: Settings, factory: WorkerFactory) -> None:
        self.settings = settings
        self.factory = factory
        self.sessions: dict[str, LiveSession] = {}
        self._starting = 0

    async def create(self, name: str | None, owner_id: int) -> LiveSession:
        if len(self.sessions) + self._starting >= self.settings.max_sessions:
            raise SessionLimitReached(
                f"this server already runs {self.settings.max_sessions} sessions: close one first"
            )
        self._starting += 1
        try:
            worker = await self.factory.take()
        finally:
            self._starting -= 1
        session_id = uuid.uuid4().hex
        placement = Placement.new(self.settings, "sessions", session_id)
        try:
            await assign(worker, self.settings, placement)
        except BaseException:
            worker.kill()
            placement.remove()
            raise
        session = LiveSession(session_id, name, owner_id, worker, placement)
        self.sessions[session_id] = session
        return session

    def get(self, session_id: str) -> LiveSession | None:
        return self.sessions.get(session_id)

    async def close(self, session_id: str, force: bool = False) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        if force:
            session.worker.kill()
        else:
            await session.worker.close()
        await asyncio.to_thread(session.placement.remove)

    def counts(self) -> dict:
        return {
            "sessions": len(self.sessions),
            "busy": sum(1 for s in self.sessions.values() if s.worker.busy),
        }

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id, force=True)
