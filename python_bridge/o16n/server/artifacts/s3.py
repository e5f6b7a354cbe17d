"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), through boto3.

`s3://bucket/prefix`: blobs at `prefix/blobs/<digest>.zip`, files at `prefix/files/<key>`. Endpoint,
region and credentials come from the usual AWS variables and files (`AWS_ACCESS_KEY_ID`,
`AWS_REGION`, `~/.aws/...`), the endpoint also from `O16N_S3_ENDPOINT_URL` (for MinIO and the like).
Blobs are downloaded once per node into a cache keyed by their digest and checked against it, so
workers always load a complete, verified local file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .store import ArtifactStore, check_digest, check_key, sha256_of


class S3Artifacts(ArtifactStore):
    def __init__(self, url: str, cache: Path, *, endpoint_url: str | None = None) -> None:
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}: expected s3://bucket/prefix")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.cache = cache / "blobs"
        self.cache.mkdir(parents=True, exist_ok=True)
        config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        self.s3: Any = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _blob_key(self, digest: str) -> str:
        return self._key("blobs", f"{check_digest(digest)}.zip")

    # --- blobs -----------------------------------------------------------------------------
    def put_blob(self, source: Path) -> tuple[str, int]:
        digest, size = sha256_of(source), source.stat().st_size
        # Content-addressed: an upload of a blob that is there already changes nothing.
        self.s3.upload_file(str(source), self.bucket, self._blob_key(digest))
        cached = self._cached(digest)
        cached.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, cached)  # this node has it now, no need to download it again
        return digest, size

    def _cached(self, digest: str) -> Path:
        return self.cache / digest[:2] / f"{check_digest(digest)}.zip"

    def blob_path(self, digest: str) -> Path:
        cached = self._cached(digest)
        if cached.is_file():
            return cached
        cached.parent.mkdir(parents=True, exist_ok=True)
        temp = cached.with_name(f".{digest}.{uuid.uuid4().hex}.part")
        try:
            self.s3.download_file(self.bucket, self._blob_key(digest), str(temp))
            if sha256_of(temp) != digest:  # a truncated or altered object is never handed to a worker
                raise OSError(f"blob {digest} from s3://{self.bucket} does not match its digest")
            os.replace(temp, cached)
        finally:
            temp.unlink(missing_ok=True)
        return cached

    def delete_blob(self, digest: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._blob_key(digest))
        self._cached(digest).unlink(missing_ok=True)

    # --- files -----------------------------------------------------------------------------
    def put_file(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key("files", check_key(key)), Body=data)

    def open_file(self, key: str) -> Iterator[bytes] | None:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self._key("files", check_key(key)))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body = answer["Body"]
        return iter(lambda: body.read(1 << 20), b"")

    def _keys(self, prefix: str) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key("files", check_key(prefix)) + "/")
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"]

    def list_files(self, prefix: str) -> list[str]:
        base = self._key("files", check_key(prefix)) + "/"
        return sorted(k[len(base):] for k in self._keys(prefix) if "/" not in k[len(base):])

    def delete_files(self, prefix: str) -> None:
        keys = list(self._keys(prefix))
        for start in range(0, len(keys), 1000):  # the API's batch limit
            self.s3.delete_objects(Bucket=self.bucket,
                                   Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})

    def reachable(self) -> bool:
        try:
            self.s3.head_bucket(Bucket=self.bucket)
            return True
        except (BotoCoreError, ClientError):
            return False
