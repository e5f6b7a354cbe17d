"""Unit tests of what the server reads from workers: WorkerDir / WorkerFile and reply parsing."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from o16n.server.runtime import replies
from o16n.server.runtime.errors import TooLarge, UserCodeError
from o16n.server.runtime.files import WorkerDir, WorkerFile, check_name, spool_file


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, Path, WorkerDir]:
    secret = tmp_path / "secret"
    secret.write_bytes(b"SIGNING KEY")
    work = tmp_path / "work"
    work.mkdir()
    (work / "plain.txt").write_bytes(b"plain")
    os.symlink(secret, work / "symlink")
    os.link(secret, work / "hardlink")
    os.mkfifo(work / "fifo")
    (work / "subdir").mkdir()
    return secret, work, WorkerDir(os.open(work, os.O_RDONLY | os.O_DIRECTORY), None, file_limit=1000)


def test_only_plain_files_are_listed_opened_or_deleted(workdir):
    secret, work, files = workdir

    async def scenario() -> None:
        assert await files.list() == ["plain.txt"]
        opened = await files.open("plain.txt")
        assert opened is not None and opened.size == 5 and opened.read() == b"plain"
        opened.close()
        started = time.monotonic()
        for name in ("symlink", "hardlink", "fifo", "subdir", "missing"):
            assert await files.open(name) is None, name
            assert await files.delete(name) is False, name
        assert time.monotonic() - started < 1  # the FIFO did not block
        assert secret.read_bytes() == b"SIGNING KEY" and (work / "symlink").is_symlink()

    asyncio.run(scenario())


def test_writes_replace_planted_entries_and_respect_the_limit(workdir):
    secret, work, files = workdir

    async def scenario() -> None:
        for name in ("symlink", "hardlink", "fifo"):
            assert await files.write(name, chunks(b"up", b"loaded"), limit=100) == 8
            assert (work / name).read_bytes() == b"uploaded" and not (work / name).is_symlink()
        assert secret.read_bytes() == b"SIGNING KEY"
        with pytest.raises(TooLarge):
            await files.write("big", chunks(b"x" * 60, b"x" * 60), limit=100)
        assert not (work / "big").exists() and not [n for n in os.listdir(work) if n.startswith(".o16n-")]

    asyncio.run(scenario())


def test_oversized_files_and_bad_names_are_refused(workdir, tmp_path):
    _secret, work, files = workdir
    (work / "large").write_bytes(b"x" * 2000)

    async def scenario() -> None:
        with pytest.raises(UserCodeError):
            await files.open("large")
        for name in ("", ".", "..", "a/b", "a\\b", "a\x00b", "x" * 300):
            with pytest.raises(ValueError):
                check_name(name)

    asyncio.run(scenario())


def test_spool_files_are_anonymous_and_read_back_within_their_size(tmp_path):
    async def scenario() -> None:
        received = await WorkerFile.receive(chunks(b"a" * 10, b"b" * 10), limit=100, directory=tmp_path)
        assert received.size == 20 and os.listdir(tmp_path) == []
        assert b"".join([c async for c in received.chunks(7)]) == b"a" * 10 + b"b" * 10
        fd = spool_file(tmp_path)
        os.write(fd, b"12345")
        checked = WorkerFile.checked(fd, 10, "it", single_link=False)
        os.write(fd, b"678")  # a worker writing on after the check: readers get the checked size
        assert checked.read() == b"12345"
        with checked.open() as reader:
            assert reader.read(5) == b"12345"
        checked.close()

    asyncio.run(scenario())


# --- replies ------------------------------------------------------------------------------------
def execute_meta(**changes: object) -> dict:
    meta = {"seq": 1, "ok": True, "success": True, "error_message": "", "console": "hi", "changed_files": ["a.txt"],
            "unhealthy": False, "outputs_size": 7}
    meta.update(changes)
    return meta


def test_a_good_reply_is_passed_through_unchanged():
    payload = b'{"y":2}{"f.txt":"eA=="}'
    reply = replies.parse_execute(execute_meta(), payload, 100, ("f.txt",))
    result = reply
    assert result.outputs == {"y": 2} and result.output_files == {"f.txt": "eA=="}
    body = result.to_json()
    assert b'"outputParameters":{"y":2}' in body and json.loads(body) == result.to_result()


@pytest.mark.parametrize("meta, payload", [
    (execute_meta(), b'{"y":2},"x":{'),  # breaks out of the envelope
    (execute_meta(outputs_size=9), b'{"y":NaN}'),
    (execute_meta(outputs_size=6), b'{"y":2}'),  # sizes do not add up to one object
    (execute_meta(outputs_size=99), b"{}"),
    (execute_meta(success="yes"), b'{"y":2}'),
    (execute_meta(changed_files=[1]), b'{"y":2}'),
    (execute_meta(outputs_size=2), b'[]{"../x":"eA=="}'),
    (execute_meta(outputs_size=2), b'{}{"f.txt":5}'),
])
def test_bad_replies_are_protocol_violations(meta, payload):
    with pytest.raises(replies.ProtocolViolation):
        replies.parse_execute(meta, payload, 100, ("f.txt",))


def test_reply_headers_must_answer_the_request():
    assert replies.parse_header({"seq": 3, "ok": False, "error": "no"}, 3) == (False, "no")
    for meta in ({"seq": 4, "ok": True}, {"seq": "3", "ok": True}, {"seq": 3, "ok": 1}, {"seq": True, "ok": True}):
        with pytest.raises(replies.ProtocolViolation):
            replies.parse_header(meta, 3)
    assert len(replies.parse_execute(execute_meta(console="x" * 500), b'{"y":2}', 100).console_output) < 120


def test_a_held_descriptor_closed_behind_our_back_is_not_closed_again(tmp_path):
    """If a library closed our console file by mistake and the number now holds another file, the
    runtime must leave that other file open (and say so), not close it as if it were ours."""
    from o16n.server.runtime.client import close_own, file_identity

    ours = os.open(tmp_path / "console", os.O_RDWR | os.O_CREAT, 0o600)
    identity = file_identity(ours)
    os.close(ours)  # the mistake
    theirs = os.open(tmp_path / "theirs", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        close_own(theirs if theirs == ours else ours, identity, "a test file")
        os.fstat(theirs)  # still open
    finally:
        os.close(theirs)
    kept = os.open(tmp_path / "console", os.O_RDWR)
    close_own(kept, file_identity(kept), "a test file")
    with pytest.raises(OSError):
        os.fstat(kept)  # its own file it does close


def test_a_worker_output_pipe_is_closed_once_under_uvloop(tmp_path):
    """uvloop's connect_read_pipe closes a pipe's descriptor twice (MagicStack/uvloop#763); the
    second close hit whatever file had the number by then (a session's console, a worker socket),
    so the server read workers' output with that and lost files at random. The output buffer owns
    its descriptor and closes it once."""
    import gc

    import uvloop

    from o16n.server.runtime.process import OutputBuffer

    async def scenario() -> bytes:
        read_end, write_end = os.pipe()
        output = OutputBuffer(1 << 16, read_end)
        os.write(write_end, b"hello from a worker")
        os.close(write_end)
        for _ in range(100):
            if output.fd < 0:
                break
            await asyncio.sleep(0.01)
        assert output.fd < 0, "the buffer did not see the end of the pipe"
        reused = os.open(tmp_path / "reused", os.O_RDWR | os.O_CREAT, 0o600)  # likely the freed number
        del output
        gc.collect()
        await asyncio.sleep(0.05)
        os.fstat(reused)  # still open: nothing closed the number a second time
        os.close(reused)
        return b"ok"

    assert uvloop.run(scenario()) == b"ok"
