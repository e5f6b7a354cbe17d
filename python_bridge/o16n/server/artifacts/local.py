"""Artifacts in a local directory (the default; on several nodes only if it is shared storage)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .store import CHUNK, ArtifactStore, check_digest, check_key, sha256_of


class LocalArtifacts(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def adopt_batch_files(self, old: Path) -> None:
        """Batch output files were kept in DATA_DIR/batch before they moved into the store."""
        if old.is_dir():
            target = self.root / "files" / "batch"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.replace(old, target)

    def _blob(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / f"{digest}.zip"

    def _file(self, key: str) -> Path:
        return self.root / "files" / check_key(key)

    def put_blob(self, source: Path) -> tuple[str, int]:
        with open(source, "rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_of(source)
        target = self._blob(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = source.stat().st_size
        if target.exists():
            source.unlink()
        else:
            os.replace(source, target)
            _fsync_dir(target.parent)
        return digest, size

    def blob_path(self, digest: str) -> Path:
        return self._blob(digest)

    def delete_blob(self, digest: str) -> None:
        self._blob(digest).unlink(missing_ok=True)

    def put_file(self, key: str, data: bytes) -> None:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_bytes(data)
        os.replace(temp, target)

    def open_file(self, key: str) -> Iterator[bytes] | None:
        path = self._file(key)
        if not path.is_file():
            return None

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as handle:
                yield from iter(lambda: handle.read(CHUNK), b"")

        return chunks()

    def list_files(self, prefix: str) -> list[str]:
        folder = self._file(prefix)
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def delete_files(self, prefix: str) -> None:
        shutil.rmtree(self._file(prefix), ignore_errors=True)

    def reachable(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
