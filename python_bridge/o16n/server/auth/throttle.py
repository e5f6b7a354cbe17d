"""Slow down password guessing: a client that fails to log in too often waits before trying again.

Two limits, both over a sliding window: failures per (user name, client address), so that a guesser
elsewhere cannot lock the real user out from their own machine; and failures per client address
across all names, against spraying one password over many names. Memory is bounded: names are
hashed (an 8 MB user name costs 32 bytes here) and the tables hold at most `MAX_KEYS` entries.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque

from ..errors import TooManyRequests

MAX_KEYS = 50_000


class _Window:
    """Failure times per key, oldest keys dropped first when the table is full."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.failures: OrderedDict[bytes, deque[float]] = OrderedDict()

    def recent(self, key: bytes) -> int:
        times = self.failures.get(key)
        if times is None:
            return 0
        horizon = time.monotonic() - self.window
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            del self.failures[key]
            return 0
        return len(times)

    def retry_after(self, key: bytes) -> int:
        times = self.failures.get(key)
        return int(times[0] + self.window - time.monotonic()) + 1 if times else 0

    def add(self, key: bytes) -> None:
        times = self.failures.get(key)
        if times is None:
            while len(self.failures) >= MAX_KEYS:
                self.failures.popitem(last=False)
            times = self.failures[key] = deque(maxlen=1024)
        else:
            self.failures.move_to_end(key)
        times.append(time.monotonic())

    def clear(self, key: bytes) -> None:
        self.failures.pop(key, None)


def _key(*parts: str) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.digest()


class LoginThrottle:
    def __init__(self, per_name: int, per_address: int, window: float) -> None:
        self.per_name, self.per_address = per_name, per_address
        self.by_name = _Window(window)
        self.by_address = _Window(window)

    def check(self, username: str, client: str) -> None:
        """Raise 429 if this name from this address, or this address at all, failed too often."""
        pair, address = _key(username, client), _key(client)
        if self.per_name and self.by_name.recent(pair) >= self.per_name:
            wait = self.by_name.retry_after(pair)
            raise TooManyRequests(f"too many failed logins for this user name: try again in {wait} s",
                                  limit="login_attempts", field="username")
        if self.per_address and self.by_address.recent(address) >= self.per_address:
            wait = self.by_address.retry_after(address)
            raise TooManyRequests(f"too many failed logins from your address: try again in {wait} s",
                                  limit="login_attempts_per_address", field="username")

    def failed(self, username: str, client: str) -> None:
        self.by_name.add(_key(username, client))
        self.by_address.add(_key(client))

    def succeeded(self, username: str, client: str) -> None:
        self.by_name.clear(_key(username, client))
