"""Fair shares of a node's service workers between users.

Two caps, both per user and per node:
- `user_max_workers`: service workers one user's consumes may hold at once. A request over it
  waits for one of the user's own to finish (FIFO with everybody else's); when the queue timeout
  passes first, it gets ShareExceeded naming the setting.
- `user_max_waiting`: consumes one user may have waiting for a worker. Past it a request is
  refused at once (ShareExceeded), so one user's flood cannot fill everybody's queues.
Per service: the workers it holds are capped by its pool's maximum (pool_max_size, or MaxPoolSize),
and `service_max_waiting` caps the requests waiting for them (past it ShareExceeded at once; see
pools.py). A service at its cap never takes another service's last warm worker.
"""

from __future__ import annotations

from collections import Counter

from ..config import Settings
from .errors import ShareExceeded

OwnerId = int  # the user id of whoever owns a session or calls a service


class Shares:
    def __init__(self, settings: Settings) -> None:
        configured = settings.user_max_workers
        self.max_workers = None if configured < 0 else configured or max(1, settings.max_workers // 2)
        self.max_waiting = settings.user_max_waiting or None
        self.held: Counter[OwnerId] = Counter()
        self.waiting: Counter[OwnerId] = Counter()

    def allows(self, user: OwnerId) -> bool:
        """May `user` take one more worker now?"""
        return self.max_workers is None or self.held[user] < self.max_workers

    def room(self, user: OwnerId) -> int | None:
        """How many more workers `user` may take now (None: no cap)."""
        return None if self.max_workers is None else max(0, self.max_workers - self.held[user])

    def take(self, user: OwnerId) -> None:
        self.held[user] += 1

    def give_back(self, user: OwnerId) -> None:
        self.held[user] -= 1
        if self.held[user] <= 0:
            del self.held[user]

    def start_waiting(self, user: OwnerId) -> None:
        """Count one more waiting request of `user`, or refuse it (ShareExceeded) past the cap."""
        if self.max_waiting is not None and self.waiting[user] >= self.max_waiting:
            raise ShareExceeded("user_max_waiting", f"you already have {self.max_waiting} requests waiting for a worker "
                                "on this node (the per-user limit user_max_waiting): wait for some to finish")
        self.waiting[user] += 1

    def stop_waiting(self, user: OwnerId) -> None:
        self.waiting[user] -= 1
        if self.waiting[user] <= 0:
            del self.waiting[user]

    def over_workers(self) -> ShareExceeded:
        return ShareExceeded("user_max_workers", f"you already hold {self.max_workers} workers of this node (the per-user "
                             "limit user_max_workers) and none of them became free in time: try again when your other "
                             "requests have finished")
