"""WorkerClient: the server's typed handle on one sandboxed worker (the only way to talk to one).

The interface is contracts.md "Seam 1", with these refinements:
- `execute(code, inputs, outputs, *, timeout)` returns replies.ExecuteReply (success,
  error_message, console_output, outputs, changed_files, ...; the same class as ServiceReply);
  failing user code is an answer (success False), not an exception.
- `snapshot()` returns `(WorkerFile, list[SkippedObject])`; `load_snapshot(blob)` takes a path in
  the artifact store, which the server opens (never the worker).
- `get_object` / `snapshot` return spool files: the worker wrote them through a descriptor, the
  server checks them (regular, size-capped) before handing them out. A worker may keep that
  descriptor and write on: read a WorkerFile once, and copy it (never link or move its inode)
  into anything that must stay as it was read, such as the artifact store.
- Every method but `console`, `interrupt` and `kill` takes an optional `timeout`; the defaults
  are `worker_call_timeout`, or `execute_timeout` for code and snapshots. `console()` needs no
  round trip (the server holds the console file), so it answers while an execution runs.
- Also here: `owner` (set by SessionWorkers), `on_close` callbacks, `files` (WorkerDir).
- Service workers are driven by the pools through `load_service(spec)` and `run(inputs)`.
- `kill()` (synchronous) kills the tree at once, for clean-ups that must not wait; `close()`
  awaits the tree's end and the removal of its directories and cgroups.

Errors: WorkerTimeout / WorkerError (the worker is gone: killed with its whole tree), UserCodeError
(the operation failed because of user data or code; the worker lives on), ServiceInitError.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...wire import jsonio
from ..config import Settings
from ..domain.specs import ServiceSpec
from . import protocol as p
from . import replies as r
from .channel import ChannelClosed
from .errors import ServiceInitError, UserCodeError, WorkerError, WorkerTimeout
from .files import WorkerDir, WorkerFile, spool_file
from .process import WorkerProcess

log = logging.getLogger("o16n.workers")


class WorkerClient:
    def __init__(self, process: WorkerProcess, settings: Settings, spool: Path, files: WorkerDir,
                 track: Callable[[asyncio.Task[None]], None]) -> None:
        self.process = process
        self.settings = settings
        self.spool = spool
        self.files = files
        self.owner: int | None = None  # who uses it (a session's owner), for accounting
        self.busy = False
        self._track = track  # the runtime keeps clean-up tasks, so shutdown can wait for them
        self._lock = asyncio.Lock()  # one request at a time
        self._seq = 0
        self._console_fd: int | None = None
        self._console_id: tuple[int, int] | None = None
        self._executing = False
        self._last_console = ""
        self._output_files: tuple[str, ...] = ()
        self._scoring = False  # a model worker (realtime service): `run` scores the frame
        self._finishing: asyncio.Task[None] | None = None
        self.on_close: list[Callable[[WorkerClient], None]] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.alive

    # --- one round trip ------------------------------------------------------------------
    async def _call(self, request: p.Request, timeout: float, fds: Sequence[int] = (),
                    spin: float = 0.0) -> tuple[dict[str, Any], bytes]:
        async with self._lock:
            if not self.alive:
                raise WorkerError(self.process.death_reason())
            self.busy = True
            self._seq += 1
            seq = self._seq
            try:
                async with asyncio.timeout(timeout):
                    meta, payload = await self.process.channel.exchange(p.frame(request.meta(seq), request.payload), fds, spin)
                ok, error = r.parse_header(meta, seq)
            except TimeoutError:
                self.kill()
                raise WorkerTimeout(f"the worker did not answer within {timeout:g} s and was stopped") from None
            except (ChannelClosed, OSError):
                try:
                    reason = await self._death_reason()
                finally:
                    self.kill()
                raise WorkerError(reason) from None
            except r.ProtocolViolation as exc:
                self.kill()
                raise WorkerError(f"the worker broke the protocol ({exc}) and was stopped") from None
            except BaseException:
                self.kill()  # cancelled halfway through a request: the channel is out of step
                raise
            finally:
                self.busy = False
        if not ok:
            raise UserCodeError(error)
        return meta, payload

    async def _death_reason(self) -> str:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await asyncio.shield(self.process.exited)
        return self.process.death_reason()

    # --- start-up and roles --------------------------------------------------------------
    async def start(self, timeout: float) -> None:
        """Wait until the fresh worker answers (its sandbox, uid and limits are in place by then)."""
        try:
            meta, _ = await self._call(p.Ping(), timeout)
            pong = r.parse_pong(meta)
        except (WorkerError, UserCodeError) as exc:
            raise WorkerError(self.process.death_reason(starting=True) if not self.alive else exc.message) from None
        except r.ProtocolViolation as exc:
            self.kill()
            raise WorkerError(f"the worker did not start properly: {exc}") from None
        if pong.protocol != p.PROTOCOL_VERSION:
            self.kill()
            raise WorkerError(f"the worker speaks protocol {pong.protocol}, the server {p.PROTOCOL_VERSION}")
        self.process.find_interpreter()

    async def assign_session(self, timeout: float = 30) -> None:
        """Make this worker a session worker; its live console goes to a spool file the server holds."""
        fd = spool_file(self.spool)
        try:
            await self._call(p.AssignSession(), timeout, [fd])
        except BaseException:
            os.close(fd)
            raise
        self._console_fd = fd
        self._console_id = file_identity(fd)

    async def load_service(self, spec: ServiceSpec, timeout: float) -> None:
        """Make this worker a slot of `spec`: snapshot loaded, initCode run. ServiceInitError if that fails."""
        if spec.model is not None:
            await self._load_model(spec.model.path, timeout)
            return
        fds = [os.open(spec.snapshot_path, os.O_RDONLY | os.O_CLOEXEC)] if spec.snapshot_path else []
        request = p.LoadService(spec.code, spec.init_code, spec.input_types, dict(spec.outputs), list(spec.output_files),
                                has_snapshot=bool(fds))
        try:
            await self._call(request, timeout, fds)
        except UserCodeError as exc:
            raise ServiceInitError(exc.message) from None
        finally:
            for fd in fds:
                os.close(fd)
        self._output_files = tuple(spec.output_files)

    async def _load_model(self, path: str, timeout: float) -> None:
        """Make this worker a model worker of a realtime service (its ONNX session built once)."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            await self._call(p.LoadModel(max(1, self.settings.realtime_threads)), timeout, [fd])
        except UserCodeError as exc:
            raise ServiceInitError(f"the model did not load: {exc.message}") from None
        finally:
            os.close(fd)
        self._scoring = True

    # --- running code ----------------------------------------------------------------------
    async def run(self, inputs: dict[str, Any], timeout: float, *, alone: bool = False) -> r.ServiceReply:
        """One consume of the service this worker loaded. `alone`: no other consume is under way
        on this node, so a model worker's score may watch its socket (realtime_spin_microseconds):
        a single steady stream is answered without waking from sleep, while under load a watch
        would only take the core from the server."""
        if self._scoring:
            spin = max(0, self.settings.realtime_spin_microseconds) / 1e6 if alone else 0.0
            score = p.Score(jsonio.dumps(inputs["inputData"]), watch_seconds=spin)
            meta, payload = await self._call(score, timeout, spin=spin)
            return self._parse_execution(meta, payload)
        meta, payload = await self._call(p.RunService(inputs), timeout)
        return self._parse_execution(meta, payload)

    async def run_many(self, records: list[dict[str, Any]], timeout: float) -> list[r.ServiceReply]:
        """Batch items in one round trip: the replies of the first 1..len(records), in order (the
        worker stops early when the answer grows large; the caller sends the rest again)."""
        meta, payload = await self._call(p.RunMany(records, self.settings.max_reply_bytes // 2), timeout)
        try:
            return r.parse_execute_many(meta, payload, len(records), self.settings.max_console_bytes + 64,
                                        self._output_files)
        except r.ProtocolViolation as exc:
            self.kill()
            raise WorkerError(f"the worker broke the protocol ({exc}) and was stopped") from None

    async def execute(self, code: str, inputs: dict[str, Any], outputs: list[str], *, timeout: float | None = None) -> r.ExecuteReply:
        """Session code in the persistent namespace; its console is readable meanwhile (`console()`)."""
        self._executing = True
        try:
            meta, payload = await self._call(p.Execute(code, inputs, outputs), timeout or self.settings.execute_timeout)
        finally:
            self._executing = False
        reply = self._parse_execution(meta, payload)
        self._last_console = reply.console_output
        return reply

    def _parse_execution(self, meta: dict[str, Any], payload: bytes) -> r.ExecuteReply:
        try:
            return r.parse_execute(meta, payload, self.settings.max_console_bytes + 64, self._output_files)
        except r.ProtocolViolation as exc:
            self.kill()
            raise WorkerError(f"the worker broke the protocol ({exc}) and was stopped") from None

    async def console(self) -> str:
        """The running execution's console so far, else the last execution's (no round trip: the
        server reads the console file it gave the worker)."""
        if self._executing and self._console_fd is not None:
            limit = 4 * self.settings.max_console_bytes  # UTF-8: up to 4 bytes a character
            return os.pread(self._console_fd, limit, 0).decode("utf-8", "replace")[: self.settings.max_console_bytes]
        return self._last_console

    def interrupt(self) -> None:
        """Ask the running execution to stop (it gets KeyboardInterrupt-like cancellation)."""
        self.process.interrupt()

    # --- objects -----------------------------------------------------------------------------
    async def list_objects(self, *, timeout: float | None = None) -> list[str]:
        meta, _ = await self._call(p.ListObjects(), timeout or self.settings.worker_call_timeout)
        return self._parsed(r.parse_names, meta)

    async def get_object(self, name: str, *, timeout: float | None = None) -> WorkerFile | None:
        """The dill bytes of one object; None if there is no such object."""
        fd = spool_file(self.spool)
        try:
            meta, _ = await self._call(p.GetObject(name), timeout or self.settings.worker_call_timeout, [fd])
            if not self._parsed(r.parse_found, meta):
                os.close(fd)
                return None
        except BaseException:
            os.close(fd)
            raise
        return WorkerFile.checked(fd, self.settings.max_body_bytes, f"object '{name}'", single_link=False)

    async def set_object(self, name: str, data: WorkerFile, *, timeout: float | None = None) -> None:
        """Load one object from dill bytes; UserCodeError if they do not load."""
        fd = data.read_descriptor()
        try:
            await self._call(p.SetObject(name), timeout or self.settings.worker_call_timeout, [fd])
        finally:
            os.close(fd)

    async def delete_object(self, name: str, *, timeout: float | None = None) -> bool:
        meta, _ = await self._call(p.DeleteObject(name), timeout or self.settings.worker_call_timeout)
        return self._parsed(r.parse_found, meta)

    # --- snapshots ---------------------------------------------------------------------------
    async def snapshot(self, *, timeout: float | None = None) -> tuple[WorkerFile, list[r.SkippedObject]]:
        """The session's objects and working dir as a zip, and the objects that could not be taken."""
        fd = spool_file(self.spool)
        try:
            meta, _ = await self._call(p.TakeSnapshot(), timeout or self.settings.execute_timeout, [fd])
            skipped = self._parsed(r.parse_skipped, meta)
        except BaseException:
            os.close(fd)
            raise
        return WorkerFile.checked(fd, self.settings.max_snapshot_bytes, "the snapshot", single_link=False), skipped

    async def load_snapshot(self, blob: Path, *, timeout: float | None = None) -> None:
        """Merge a snapshot (a file of the artifact store) into the namespace and working dir."""
        fd = os.open(blob, os.O_RDONLY | os.O_CLOEXEC)
        try:
            await self._call(p.LoadSnapshot(), timeout or self.settings.execute_timeout, [fd])
        finally:
            os.close(fd)

    def _parsed(self, parse: Callable[[dict[str, Any]], Any], meta: dict[str, Any]) -> Any:
        try:
            return parse(meta)
        except r.ProtocolViolation as exc:
            self.kill()
            raise WorkerError(f"the worker broke the protocol ({exc}) and was stopped") from None

    # --- the end ------------------------------------------------------------------------------
    def kill(self) -> None:
        """Kill the whole tree now; its directories and cgroups go in the background."""
        if self._finishing is not None:
            return
        self.process.kill()
        self._finishing = asyncio.get_running_loop().create_task(self._finish())
        self._track(self._finishing)
        for callback in self.on_close:
            callback(self)

    async def close(self, *, force: bool = False) -> None:
        """End the worker; the whole process tree is gone afterwards."""
        if not force and self._finishing is None and self.alive:
            self.process.channel.close()  # a polite end: the worker sees EOF and exits
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await asyncio.shield(self.process.exited)
        self.kill()
        assert self._finishing is not None
        await asyncio.shield(self._finishing)

    async def _finish(self) -> None:
        try:
            await self.process.finish()
        finally:
            self.files.close()
            if self._console_fd is not None:
                close_own(self._console_fd, self._console_id, "a session's console file")
                self._console_fd = None


def file_identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def close_own(fd: int, identity: tuple[int, int] | None, what: str) -> None:
    """Close a long-held descriptor only if it is still the file we opened: when a library in this
    process closed the number by mistake, it may now be somebody else's file, which must stay open."""
    try:
        current = file_identity(fd)
    except OSError:
        log.error("%s was closed behind the server's back (descriptor %d)", what, fd)
        return
    if current != identity:
        log.error("%s was closed behind the server's back; descriptor %d is another file now", what, fd)
        return
    os.close(fd)
