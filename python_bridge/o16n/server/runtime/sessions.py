"""Session workers: one sandboxed worker per live Python session, started for its owner.

The domain keeps what a session is (its id, name, history, records); this module only starts
and counts the worker processes, within the node's `max_sessions`.
"""

from __future__ import annotations

from ..config import Settings
from ..domain.specs import EnvironmentRef
from .client import WorkerClient
from .errors import SessionLimitReached
from .factory import WorkerFactory
from .shares import OwnerId


class SessionWorkers:
    def __init__(self, settings: Settings, factory: WorkerFactory) -> None:
        self.settings = settings
        self.factory = factory
        self.clients: dict[str, WorkerClient] = {}
        self._starting = 0

    async def start(self, session_id: str, owner: OwnerId, environment: EnvironmentRef | None = None) -> WorkerClient:
        """A new session worker of `owner`; SessionLimitReached when the node runs max_sessions."""
        if len(self.clients) + self._starting >= self.settings.max_sessions:
            raise SessionLimitReached(f"this server already runs {self.settings.max_sessions} sessions: close one first")
        self._starting += 1
        try:
            client = await (self.factory.take(environment) if environment is not None else self.factory.take())
            try:
                await client.assign_session()
            except BaseException:
                client.kill()
                raise
        finally:
            self._starting -= 1
        client.owner = owner
        self.clients[session_id] = client
        client.on_close.append(lambda _closed: self._forget(session_id))
        return client

    def _forget(self, session_id: str) -> None:
        self.clients.pop(session_id, None)

    def counts(self) -> dict[str, int]:
        return {"sessions": len(self.clients), "busy": sum(1 for c in self.clients.values() if c.busy)}

    async def close_all(self) -> None:
        for client in list(self.clients.values()):
            await client.close(force=True)
