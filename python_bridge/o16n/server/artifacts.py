"""Snapshot content: zip files stored once by their sha256, shared by snapshots and services.

A service keeps a reference to the blob it was published with, so deleting the snapshot (as the
Microsoft SDK does right after publishing) leaves the service working. A blob is removed only
when no snapshot and no service refers to it any more.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError("not a blob id")
        return self.root / digest[:2] / f"{digest}.zip"

    def put(self, source: Path) -> tuple[str, int]:
        """Move a finished file into the store durably; return (digest, size)."""
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
            os.fsync(handle.fileno())
        key = digest.hexdigest()
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = source.stat().st_size
        if target.exists():
            source.unlink()
        else:
            os.replace(source, target)
            _fsync_dir(target.parent)
        return key, size

    def reachable(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

    def is_empty(self, digest: str) -> bool:
        """True for a snapshot zip without objects or files (reading the index unpickles nothing)."""
        with zipfile.ZipFile(self.path(digest)) as archive:
            return not archive.namelist()

    def delete(self, digest: str) -> None:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
