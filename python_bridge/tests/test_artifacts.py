"""The artifact store: the same contract for a local directory and an S3 bucket (a real moto
server), the node-local blob cache, and a node with an empty data dir serving what another made."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from s3_server import use_credentials
from server_process import LiveServer

from o16n.server.artifacts import ArtifactStore, LocalArtifacts


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_server) -> ArtifactStore:
    if request.param == "local":
        return LocalArtifacts(tmp_path / "artifacts")
    from o16n.server.artifacts.s3 import S3Artifacts

    use_credentials()
    bucket = s3_server.bucket(f"o16n-{uuid.uuid4().hex[:12]}")
    return S3Artifacts(f"s3://{bucket}/some/prefix", tmp_path / "cache", endpoint_url=s3_server.url)


def temp_file(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload-{uuid.uuid4().hex}"
    path.write_bytes(data)
    return path


def test_blobs(store, tmp_path):
    content = zip_bytes({"workspace/x.dill": b"\x80\x04K\x05."})
    digest, size = store.put_blob(temp_file(tmp_path / "in", content))
    assert size == len(content) and len(digest) == 64
    assert store.blob_path(digest).read_bytes() == content
    assert not store.blob_is_empty(digest)
    again, _ = store.put_blob(temp_file(tmp_path / "in", content))  # stored once by content
    assert again == digest
    empty, _ = store.put_blob(temp_file(tmp_path / "in", zip_bytes({})))
    assert store.blob_is_empty(empty)
    store.delete_blob(digest)
    with pytest.raises(Exception):  # noqa: B017 - FileNotFoundError locally, a ClientError from S3
        store.blob_path(digest).read_bytes()
    with pytest.raises(ValueError):
        store.blob_path("../../etc/passwd")
    assert store.reachable()


def test_files(store):
    store.put_file("batch/e1/0/out.txt", b"zero")
    store.put_file("batch/e1/0/plot.png", b"\x89PNG")
    store.put_file("batch/e1/1/out.txt", b"one")
    assert store.list_files("batch/e1/0") == ["out.txt", "plot.png"]
    assert b"".join(store.open_file("batch/e1/1/out.txt") or []) == b"one"
    assert store.open_file("batch/e1/1/missing.txt") is None
    store.delete_files("batch/e1")
    assert store.list_files("batch/e1/0") == [] and store.open_file("batch/e1/0/out.txt") is None
    for bad in ("../x", "a//b", "a/./b", "a\x00b"):
        with pytest.raises(ValueError):
            store.put_file(bad, b"")


def test_s3_blobs_come_once_and_are_checked(tmp_path, s3_server):
    from o16n.server.artifacts.s3 import S3Artifacts

    use_credentials()
    bucket = s3_server.bucket(f"o16n-{uuid.uuid4().hex[:12]}")
    writer = S3Artifacts(f"s3://{bucket}/p", tmp_path / "node-a", endpoint_url=s3_server.url)
    reader = S3Artifacts(f"s3://{bucket}/p", tmp_path / "node-b", endpoint_url=s3_server.url)
    content = zip_bytes({"files/a.txt": b"a" * 1000})
    digest, _ = writer.put_blob(temp_file(tmp_path / "in", content))
    first = reader.blob_path(digest)
    assert first.read_bytes() == content
    s3_server.client().delete_object(Bucket=bucket, Key=f"p/blobs/{digest}.zip")
    assert reader.blob_path(digest) == first  # from this node's cache: downloaded once
    # An object that does not match its digest is never handed out.
    fake = zip_bytes({"files/a.txt": b"tampered"})
    other = "0" * 64
    s3_server.client().put_object(Bucket=bucket, Key=f"p/blobs/{other}.zip", Body=fake)
    with pytest.raises(OSError, match="does not match"):
        reader.blob_path(other)
    assert not list((tmp_path / "node-b" / "blobs").glob("**/*.part"))


def test_a_node_with_an_empty_data_dir_serves_what_another_made(tmp_path, s3_server):
    """Two nodes, one database (SQLite in the first node's dir), one bucket, two data dirs."""
    use_credentials()
    bucket = s3_server.bucket(f"o16n-{uuid.uuid4().hex[:12]}")
    settings = {"artifact_url": f"s3://{bucket}/o16n", "s3_endpoint_url": s3_server.url}
    env = s3_server.environment()
    os.environ.update(env)
    first = LiveServer(tmp_path / "a", **settings).start()
    second = None
    try:
        second = LiveServer(tmp_path / "b", database_url=f"sqlite:///{tmp_path / 'a' / 'o16n.db'}", **settings).start()
        with first.client() as a:
            session = a.post("/sessions", json={}).json()["sessionId"]
            a.post(f"/sessions/{session}/execute", json={"code": "table = {'x': 7}\nopen('note.txt','w').write('hi')"})
            snapshot = a.post(f"/sessions/{session}/snapshot", json={}).json()["snapshotId"]
            a.delete(f"/sessions/{session}")
            body = {"code": "y = table[k]\nopen('out.txt', 'w').write(str(y))", "snapshotId": snapshot,
                    "inputParameterDefinitions": [{"name": "k", "type": "character"}],
                    "outputParameterDefinitions": [{"name": "y", "type": "integer"}], "outputFileNames": ["out.txt"]}
            assert a.post("/services/Table/v1", json=body).status_code == 201
            started = a.post("/api/Table/v1/batch", json=[{"k": "x"}, {"k": "x"}]).json()["batchExecutionId"]
        assert not (tmp_path / "b" / "artifacts").exists() or not any((tmp_path / "b" / "artifacts").iterdir())
        tokens = first.login()  # a token of one node is accepted by the other: keys are in the database
        with httpx.Client(base_url=second.url, headers={"Authorization": f"Bearer {tokens['access_token']}"},
                          timeout=120) as b:
            assert b.post("/api/Table/v1", json={"k": "x"}).json()["outputParameters"] == {"y": 7}
            assert b.get(f"/snapshots/{snapshot}").content[:2] == b"PK"
            for _ in range(600):
                status = b.get(f"/api/Table/v1/batch/{started}").json()
                if status["state"] == "Complete":
                    break
                import time

                time.sleep(0.1)
            assert status["state"] == "Complete", status
            assert b.get(f"/api/Table/v1/batch/{started}/1/files").json() == ["out.txt"]
            assert b.get(f"/api/Table/v1/batch/{started}/1/files/out.txt").content == b"7"
    finally:
        for node in (first, second):
            if node is not None:
                node.stop()
        for key in env:
            os.environ.pop(key, None)
