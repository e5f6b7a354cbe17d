"""The artifact store's interface, and what every implementation shares."""

from __future__ import annotations

import hashlib
import os
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def check_digest(value: str) -> str:
    if not is_digest(value):
        raise ValueError("not a blob id")
    return value


def check_key(key: str) -> str:
    """A file key: '/'-separated plain parts, no '.', '..' or empty parts, no control characters."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p or any(ord(c) < 32 for c in p) for p in parts):
        raise ValueError(f"not a usable key: {key!r}")
    return key


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashing(source: BinaryIO, target: Path) -> tuple[str, int]:
    """Copy a stream into a new file, fsynced; return (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest(), size


def zip_is_empty(path: Path) -> bool:
    """True for a snapshot zip without objects or files (reading the index unpickles nothing)."""
    with zipfile.ZipFile(path) as archive:
        return not archive.namelist()


class ArtifactStore(ABC):
    # --- blobs -----------------------------------------------------------------------------
    @abstractmethod
    def put_blob(self, source: Path) -> tuple[str, int]:
        """Store a finished file (the server's own temp file, consumed) durably; return (digest, size)."""

    @abstractmethod
    def blob_path(self, digest: str) -> Path:
        """A complete local copy of the blob (downloaded into this node's cache first if needed)."""

    def blob_is_empty(self, digest: str) -> bool:
        return zip_is_empty(self.blob_path(digest))

    @abstractmethod
    def delete_blob(self, digest: str) -> None: ...

    # --- files -----------------------------------------------------------------------------
    @abstractmethod
    def put_file(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def open_file(self, key: str) -> Iterator[bytes] | None:
        """The file's content in chunks, or None if there is no such file."""

    @abstractmethod
    def list_files(self, prefix: str) -> list[str]:
        """Names (the last key part) of the files directly under `prefix`."""

    @abstractmethod
    def delete_files(self, prefix: str) -> None:
        """Every file under `prefix`."""

    @abstractmethod
    def reachable(self) -> bool: ...
