"""Unprivileged uids for workers when the server runs as root: one uid (and gid) of its own per worker.

With a uid of its own, a worker's user code cannot signal or trace another worker's processes,
read files another worker created, or count against another worker's RLIMIT_NPROC. The uids need
no /etc/passwd entry. They are handed out in rotation, so a uid comes back only after all others
in the range were used, long after its previous worker's tree was killed and its files removed.
"""

from __future__ import annotations

UID_RANGE = 10_000  # uids per server, from `worker_uid_base`


class UidAllocator:
    def __init__(self, base: int, count: int = UID_RANGE) -> None:
        self.base = base
        self.count = count
        self.in_use: set[int] = set()
        self._next = 0

    def take(self) -> int:
        for _ in range(self.count):
            uid = self.base + self._next
            self._next = (self._next + 1) % self.count
            if uid not in self.in_use:
                self.in_use.add(uid)
                return uid
        raise OSError(f"all {self.count} worker uids from {self.base} are in use")

    def release(self, uid: int) -> None:
        self.in_use.discard(uid)

    def describe(self) -> str:
        return f"a uid of its own per worker ({self.base}-{self.base + self.count - 1})"
