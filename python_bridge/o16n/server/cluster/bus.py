"""Announcing changes to every node: PostgreSQL LISTEN/NOTIFY, or in-process on SQLite's one node.

An event is a small JSON object (`{"kind": "service", "name": ..., "version": ...}`,
`{"kind": "batch-cancelled", "id": ...}`). `publish` runs the handlers of this node at once and
sends the event to the others with `pg_notify`; a listener thread per node hands what arrives to
the event loop. A node that lost its listening connection reconnects and asks its handlers to
`resync` (events may have been missed meanwhile): the catalog then forgets every cached definition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from ..store.db import Database

log = logging.getLogger("o16n.cluster")
CHANNEL = "o16n_events"
Event = dict[str, Any]
Handler = Callable[[Event], Awaitable[None]]


class EventBus:
    def __init__(self, db: Database, node_id: str) -> None:
        self.db = db
        self.node_id = node_id
        self.handlers: list[Handler] = []
        self.resync: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def shared(self) -> bool:
        """Several nodes can share this database (SQLite serves one node)."""
        return self.db.dialect == "postgresql"

    def subscribe(self, handler: Handler) -> None:
        self.handlers.append(handler)

    async def publish(self, event: Event) -> None:
        """This node's handlers now; the other nodes' as soon as PostgreSQL delivers it."""
        await self._dispatch(event)
        if self.shared:
            payload = json.dumps({**event, "from": self.node_id})
            await self.db.run(lambda db: db.execute(text("SELECT pg_notify(:channel, :payload)"),
                                                     {"channel": CHANNEL, "payload": payload}))

    async def _dispatch(self, event: Event) -> None:
        for handler in self.handlers:
            try:
                await handler(event)
            except Exception:
                log.exception("handling %s failed", event)

    def start(self) -> None:
        if not self.shared:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._listen, name="o16n-events", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    if not first:  # events may have been missed while we were away
                        self._call(self._resync)
                    first = False
                    while not self._stop.is_set():  # wake up every second to notice a stop
                        for notify in connection.notifies(timeout=1.0):
                            self._arrived(notify.payload)
            except Exception as exc:  # the database went away: listen again in a moment
                if self._stop.is_set():
                    return
                log.warning("lost the event connection (%s): reconnecting", exc)
                self._stop.wait(1.0)

    def _arrived(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        if event.get("from") != self.node_id:  # this node handled its own already
            self._call(lambda: self._dispatch(event))

    def _resync(self) -> Awaitable[None]:
        for callback in self.resync:
            callback()
        return asyncio.sleep(0)

    def _call(self, make: Callable[[], Awaitable[None]]) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                asyncio.run_coroutine_threadsafe(_await(make), self._loop)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)


async def _await(make: Callable[[], Awaitable[None]]) -> None:
    await make()
