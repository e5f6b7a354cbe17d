"""Files between the server and a worker, handled so that the server never follows a worker's path.

User code can plant anything in its working dir: a symlink to the signing key, a hard link to
the database, a FIFO that blocks whoever opens it. So every file the server reads from a worker's
directory is opened relative to a directory descriptor with O_NOFOLLOW | O_NONBLOCK, then checked
on the open descriptor (a regular file, one link, not too large) before a byte is read; a file the
server writes there is created under a fresh name and renamed into place (a rename replaces a
planted link, it never writes through it).

Everything else (objects, snapshots, the live console) travels through spool files: anonymous
files the server creates in its own directory and hands to the worker as a descriptor. They have
no name anybody could point at.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from .errors import TooLarge, UserCodeError

CHUNK = 1 << 20
MAX_LISTED = 10_000  # names one listing returns at most
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def check_name(name: str) -> str:
    """A plain file name (no separators, not even `\\`, no `.`/`..`, NUL or control characters);
    ValueError otherwise.
    The domain checks names first with a 400 naming the field: this is the runtime's own guard."""
    if not name or name in (".", "..") or len(name) > 255 or "/" in name or "\\" in name or any(ord(c) < 32 for c in name):
        raise ValueError(f"'{name[:80]}' is not a plain file name")
    return name


def spool_file(directory: Path | None = None) -> int:
    """A new anonymous read-write file (no name, mode 0600) in `directory` (default: the temp dir)."""
    where = str(directory or tempfile.gettempdir())
    try:
        return os.open(where, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here: a named file, unlinked at once
        fd, name = tempfile.mkstemp(dir=where)
        os.unlink(name)
        return fd


def reopen_readonly(fd: int) -> int:
    """A new read-only descriptor (own offset) on the file behind `fd`: safe to give a worker."""
    return os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)


class WorkerFile:
    """A regular file the server may read safely: an open descriptor, checked before it was handed out.

    `size` is what was checked; readers never read past it. Close it (or read it to the end with
    `chunks()`) to release the descriptor; a spool file disappears with its last descriptor.
    """

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size

    @classmethod
    def checked(cls, fd: int, limit: int, what: str, *, single_link: bool = True) -> WorkerFile:
        """Take ownership of `fd` if it is a regular file (with one link) of at most `limit` bytes."""
        try:
            info = os.fstat(fd)
            if not _is_plain_file(info, single_link):
                raise UserCodeError(f"{what} is not a regular file")
            if info.st_size > limit:
                raise UserCodeError(f"{what} is larger than the limit of {limit} bytes")
            os.set_blocking(fd, True)  # opened O_NONBLOCK only so that a FIFO could not hang the open
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, info.st_size)

    @classmethod
    async def receive(cls, chunks: AsyncIterator[bytes], limit: int, directory: Path | None = None) -> WorkerFile:
        """Spool bytes (an upload) into a new anonymous file; TooLarge past `limit` bytes."""
        fd = spool_file(directory)
        try:
            size = await _write_all(fd, chunks, limit)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, size)

    def fileno(self) -> int:
        return self._fd

    def read_descriptor(self) -> int:
        """A fresh read-only descriptor for a worker (the caller closes it after sending)."""
        return reopen_readonly(self._fd)

    def open(self) -> BinaryIO:
        """A binary reader from the start of the file, with a descriptor of its own."""
        return os.fdopen(reopen_readonly(self._fd), "rb")

    def read(self) -> bytes:
        """All `size` bytes (for small files: consoles, tests)."""
        return os.pread(self._fd, self.size, 0)

    async def chunks(self, size: int = CHUNK) -> AsyncIterator[bytes]:
        """The file's bytes in chunks, at most `self.size` of them; closes the file at the end."""
        offset = 0
        try:
            while offset < self.size:
                chunk = await asyncio.to_thread(os.pread, self._fd, min(size, self.size - offset), offset)
                if not chunk:
                    return  # it shrank meanwhile: the reader gets less, never something else
                offset += len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> WorkerFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _is_plain_file(info: os.stat_result, single_link: bool) -> bool:
    """A regular file (not a FIFO, device, socket or directory), and with one link if asked: a hard
    link user code made to a file it may not write would have two."""
    return stat.S_ISREG(info.st_mode) and (not single_link or info.st_nlink == 1)


async def _write_all(fd: int, chunks: AsyncIterator[bytes], limit: int) -> int:
    """Write an async stream into `fd` in ~1 MB batches (one thread hop each); TooLarge past `limit`."""
    size, pending = 0, bytearray()
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit, f"the body is larger than the limit of {limit} bytes")
        pending += chunk
        if len(pending) >= CHUNK:
            await asyncio.to_thread(_write_fully, fd, bytes(pending))
            pending.clear()
    if pending:
        await asyncio.to_thread(_write_fully, fd, bytes(pending))
    return size


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class WorkerDir:
    """A session's working directory, as the server sees it: every call safe against links and FIFOs.

    It holds a descriptor of the directory, opened when the worker was placed, so a directory
    renamed or replaced later by user code changes nothing. `owner` (a uid) gets the files the
    server writes, so that user code running as that uid can use them.
    """

    def __init__(self, fd: int, owner: int | None, file_limit: int) -> None:
        self._fd = fd
        self.owner = owner
        self.file_limit = file_limit

    async def list(self) -> list[str]:
        """Regular files (one link each) at the top level, sorted."""
        return await asyncio.to_thread(self._list)

    def _list(self) -> builtins.list[str]:
        names = []
        with os.scandir(self._fd) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if _is_plain_file(info, True) and not entry.name.startswith(".o16n-"):
                        names.append(entry.name)
                if len(names) >= MAX_LISTED:
                    break
        return sorted(names)

    async def open(self, name: str) -> WorkerFile | None:
        """The file `name` if it is a regular file with one link; None if there is none (or it is not).
        UserCodeError if it is larger than the file limit."""
        check_name(name)
        return await asyncio.to_thread(self._open, name)

    def _open(self, name: str) -> WorkerFile | None:
        try:
            fd = os.open(name, _READ, dir_fd=self._fd)
        except OSError:  # missing, a symlink (ELOOP), a directory we may not read...
            return None
        try:
            plain = _is_plain_file(os.fstat(fd), True)
        except OSError:
            plain = False
        if not plain:
            os.close(fd)
            return None
        return WorkerFile.checked(fd, self.file_limit, f"file '{name}'")

    async def write(self, name: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Create or replace `name` with the stream's bytes; returns the size. TooLarge past `limit`."""
        check_name(name)
        temp = f".o16n-upload-{secrets.token_hex(8)}"
        fd = await asyncio.to_thread(os.open, temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                     0o600, dir_fd=self._fd)
        try:
            try:
                size = await _write_all(fd, chunks, limit)
                if self.owner is not None:
                    os.fchown(fd, self.owner, self.owner)
                os.fchmod(fd, 0o644)
            finally:
                os.close(fd)
            await asyncio.to_thread(os.rename, temp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self._fd)
            raise
        return size

    async def delete(self, name: str) -> bool:
        """Remove the file `name`; False if there is none. As in `list` and `open`, only a regular file
        with one link counts: symlinks, hard links and FIFOs are none."""
        check_name(name)
        return await asyncio.to_thread(self._delete, name)

    def _delete(self, name: str) -> bool:
        try:
            if not _is_plain_file(os.stat(name, dir_fd=self._fd, follow_symlinks=False), True):
                return False
            os.unlink(name, dir_fd=self._fd)  # unlink never follows a link
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
