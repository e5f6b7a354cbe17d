"""Slow down password guessing: a client that fails to log in too often waits before trying again."""

from __future__ import annotations

import time
from collections import deque

from .errors import ApiError


class LoginThrottle:
    """At most `limit` failed logins per (user name, client address) in `window` seconds.

    Keyed by both so that a guesser elsewhere cannot lock the real user out from their own machine.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[tuple[str, str], deque[float]] = {}

    def check(self, username: str, client: str) -> None:
        recent = self._recent((username, client))
        if self.limit and len(recent) >= self.limit:
            wait = int(recent[0] + self.window - time.monotonic()) + 1
            raise ApiError(429, f"too many failed logins for '{username}': try again in {wait} s", field="username")

    def failed(self, username: str, client: str) -> None:
        if len(self.failures) > 100_000:
            self.failures.clear()
        self._recent((username, client)).append(time.monotonic())

    def succeeded(self, username: str, client: str) -> None:
        self.failures.pop((username, client), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        times = self.failures.setdefault(key, deque())
        while times and times[0] < time.monotonic() - self.window:
            times.popleft()
        return times
