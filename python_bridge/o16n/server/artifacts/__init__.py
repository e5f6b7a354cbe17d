"""Everything durable that is not a row: snapshot blobs and batch output files.

Two kinds of things are stored:
- **blobs**: snapshot zips, stored once by their sha256 and shared by snapshots and the services
  published from them. A service keeps a reference to its blob, so deleting the snapshot (as the
  Microsoft SDK does right after publishing) leaves the service working; a blob is deleted when no
  snapshot and no service refers to it any more (`domain/blobs.py`).
- **files**: named bytes under a key, for batch items' output files (`batch/<execution>/<index>/<name>`).

`LocalArtifacts` keeps them in a directory (the default: the data dir's `artifacts/`); `S3Artifacts`
in an S3-compatible bucket, with a node-local cache of blobs keyed by their digest, so that a node
downloads a blob once and hands its workers a local file. `open_store` picks one from the settings.
"""

from __future__ import annotations

from ..config import Settings
from .local import LocalArtifacts
from .store import ArtifactStore, is_digest

__all__ = ["ArtifactStore", "LocalArtifacts", "is_digest", "open_store"]


def open_store(settings: Settings) -> ArtifactStore:
    url = settings.artifact_url
    if not url:
        store = LocalArtifacts(settings.data_dir / "artifacts")
        store.adopt_batch_files(settings.data_dir / "batch")
        return store
    if url.startswith("s3://"):
        from .s3 import S3Artifacts

        return S3Artifacts(url, settings.data_dir / "cache", endpoint_url=settings.s3_endpoint_url or None)
    if url.startswith("file://"):
        from pathlib import Path

        return LocalArtifacts(Path(url[len("file://"):]))
    from ..config import ConfigError

    raise ConfigError("O16N_ARTIFACT_URL", f"expected s3://bucket/prefix or file:///path, got {url!r}")
