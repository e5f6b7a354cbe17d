"""The worker process: runs user code for one session or one service pool slot.

Started by the server (inside its sandbox) as `python -m o16n.server.runtime.worker CONFIG`, where
CONFIG is a JSON object (see `WorkerConfig`). It drops privileges and applies its limits before
anything else, then serves requests on the inherited socket one at a time until it closes.
Everything here runs in the worker; the server only ever sees JSON and opaque bytes, and checks
both (user code can rewrite anything in this process, this module included).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import resource
import signal
import socket
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o16n.server.runtime import protocol as p
from o16n.wire.values import coerce_output, to_python

WORKSPACE_DIR = "workspace/"  # inside a snapshot zip: one dill file per object
FILES_DIR = "files/"  # inside a snapshot zip: the working directory's files
EXIT_SETUP_FAILED = 75  # the server reports this exit code as "the worker could not set itself up"


class Cancelled(BaseException):
    """Raised inside user code when the server asks to cancel the running execution."""


@dataclass(frozen=True)
class WorkerConfig:
    sock: int  # the request socket
    side: int  # the socket descriptors arrive on
    console_limit: int  # characters of console output kept per execution
    file_limit: int  # bytes of one output file
    memory_bytes: int = 0  # RLIMIT_AS of each process (0: none)
    max_processes: int = 0  # RLIMIT_NPROC, only when this worker has a uid of its own (0: none)
    uid: int | None = None  # drop to this uid/gid before anything else (the server ran us as root)
    landlock_private: str | None = None  # fallback sandbox: lock this dir away ...
    landlock_writable: tuple[str, ...] = ()  # ... except these
    landlock_readable: tuple[str, ...] = ()  # ... and these, read-only (a service environment under the data dir)


class CappedText(io.TextIOBase):
    """A stdout/stderr stand-in that keeps at most `limit` characters.

    With `live`, what is kept is also written to that descriptor as it comes (from offset 0), so
    the server can show a session's console while its code still runs.
    """

    def __init__(self, limit: int, live: int | None = None) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self.live = live
        self.live_offset = 0
        if live is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(live, 0)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.size += len(piece)
            if self.live is not None:
                data = piece.encode("utf-8", "replace")
                with contextlib.suppress(OSError):
                    os.pwrite(self.live, data, self.live_offset)
                    self.live_offset += len(data)
        if len(text) > max(room, 0):
            self.truncated = True
        return len(text)

    def getvalue(self) -> str:
        value = "".join(self.parts)
        return value + "\n[console output truncated]\n" if self.truncated else value


# --- the working directory ------------------------------------------------------------------
def file_state(root: Path | str, prefix: str = "") -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file under `root` by relative name; symlinks are files, not followed.
    Runs twice per request: scandir and plain strings (pathlib costs more than the walk itself)."""
    state: dict[str, tuple[int, int]] = {}
    try:
        entries = os.scandir(root)
    except OSError:
        return state
    with entries:
        for entry in entries:
            name = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    state.update(file_state(entry.path, name + "/"))
                else:
                    info = entry.stat(follow_symlinks=False)
                    state[name] = (info.st_mtime_ns, info.st_size)
            except OSError:
                continue
    return state


def safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and "\x00" not in name


def read_output_file(name: str, limit: int) -> str | None:
    """Base64 of a declared output file in the working dir; None when the code did not write one."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > limit:
            raise ValueError(f"output file '{name}' is larger than {limit} bytes")
        return base64.b64encode(handle.read(limit + 1)[:limit]).decode()


class Worker:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.sock = socket.socket(fileno=config.sock)
        self.side = socket.socket(fileno=config.side)
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.baseline_files: set[str] = set()  # service mode: files that belong to the snapshot
        self.executing = False
        self.unhealthy = False  # set after a MemoryError: the server replaces this worker
        self.code_cache: dict[str, Any] = {}
        self.role: str | None = None
        self.service: p.LoadService | None = None
        self.console_fd: int | None = None  # session mode: the live console file
        self.handlers: dict[str, Callable[[Any, list[int]], tuple[dict[str, Any], bytes]]] = {
            "ping": self.op_ping,
            "assign_session": self.op_assign_session,
            "load_service": self.op_load_service,
            "run": self.op_run,
            "run_many": self.op_run_many,
            "execute": self.op_execute,
            "list_objects": self.op_list_objects,
            "get_object": self.op_get_object,
            "set_object": self.op_set_object,
            "delete_object": self.op_delete_object,
            "snapshot": self.op_snapshot,
            "load_snapshot": self.op_load_snapshot,
        }
        self.scorer: Any = None  # a model worker's OnnxScorer (realtime services)
        self.watch_seconds = 0.0  # a model worker's watch for the next request, as its last score asked
        # How a model worker reads frames and writes answers: orjson once it loads a model, if it can.
        self.frame_codec: tuple[Callable[[bytes], Any], Callable[[Any], bytes]] = (json.loads, p.dumps)
        self.handlers.update({"load_model": self.op_load_model, "score": self.op_score})

    # The server interrupts with SIGINT; only code that is running may be cancelled.
    def on_sigint(self, _signum: int, _frame: Any) -> None:
        if self.executing:
            raise Cancelled()

    def serve(self) -> None:
        signal.signal(signal.SIGINT, self.on_sigint)
        while True:
            if self.watch_seconds:
                self.watch_socket()
            try:
                meta, request_payload = p.recv_request(self.sock)
            except EOFError:
                return
            seq, request = p.decode_request(meta, request_payload)
            fds = p.recv_fds(self.side, request.fd_count) if request.fd_count else []
            payload = b""
            try:
                fields, payload = self.handlers[request.op](request, fds)
                reply = {"seq": seq, "ok": True, **fields}
            except Cancelled:
                reply = {"seq": seq, "ok": False, "error": "the execution was cancelled"}
            except Exception as exc:  # a failing operation answers; the worker lives on
                reply = {"seq": seq, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    if fd != self.console_fd:
                        with contextlib.suppress(OSError):
                            os.close(fd)
            self.sock.sendall(p.frame(reply, payload, self.frame_codec[1]))

    def watch_socket(self) -> None:
        """A model worker answers in tens of microseconds: look for the next request a moment
        before sleeping, leaving the core to anything else that wants it."""
        p.watch(self.sock.fileno(), self.watch_seconds, os.sched_yield)

    # --- roles ---------------------------------------------------------------------------
    def op_ping(self, _request: p.Ping, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        return {"protocol": p.PROTOCOL_VERSION, "uid": os.getuid()}, b""

    def take_role(self, role: str) -> None:
        if self.role is not None:
            raise RuntimeError(f"this worker is already a {self.role} worker")
        self.role = role

    def op_assign_session(self, _request: p.AssignSession, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        self.take_role("session")
        self.console_fd = fds[0]
        return {}, b""

    def op_load_service(self, request: p.LoadService, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Become a service slot: load its snapshot, run its init code once."""
        self.take_role("service")
        self.service = request
        if request.has_snapshot:
            self.load_zip(fds[0])
        if request.init_code:
            reply = self.run_code(request.init_code, self.namespace, [], {}, live=None)
            if not reply["success"]:
                raise RuntimeError(f"the service's init code failed: {reply['error_message']}")
        self.baseline_files = set(file_state(Path.cwd()))
        return {}, b""

    # --- running code ----------------------------------------------------------------------
    def op_run(self, request: p.RunService, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        return self.run_one(request.inputs)

    def run_one(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """A consume: the service's code in a fresh copy of its namespace, its leftovers removed."""
        service = self.service
        if service is None:
            raise RuntimeError("this worker has no service loaded")
        namespace = dict(self.namespace)
        for name, value in inputs.items():
            namespace[name] = to_python(value, service.input_types.get(name))
        before = self.remove_leftover_files()
        return self.execution_reply(self.run_code(service.code, namespace, list(service.output_types), service.output_types,
                                                  live=None, output_files=service.output_files, before=before))

    def op_run_many(self, request: p.RunMany, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Batch items, each exactly as `run` runs it; one reply with a meta per item and their payloads
        end to end. Stops early when the reply would outgrow its budget (the server sends the rest)."""
        items: list[dict[str, Any]] = []
        payloads: list[bytes] = []
        size = console = 0
        for inputs in request.records:
            try:
                meta, payload = self.run_one(inputs)
            except Exception as exc:  # e.g. an input pandas cannot build: this item's answer, as `run` gives it
                meta, payload = {"success": False, "error_message": f"{type(exc).__name__}: {exc}", "console": "",
                                 "changed_files": [], "unhealthy": self.unhealthy, "outputs_size": 0}, b""
            meta["payload_size"] = len(payload)
            items.append(meta)
            payloads.append(payload)
            size += len(payload)
            console += len(meta["console"]) + sum(len(name) + 4 for name in meta["changed_files"])
            if self.unhealthy or size >= request.reply_budget or console >= self.config.console_limit // 4:
                break
        return {"items": items, "unhealthy": self.unhealthy}, b"".join(payloads)

    def op_execute(self, request: p.Execute, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Session code, in the session's persistent namespace."""
        for name, value in request.inputs.items():
            self.namespace[name] = value
        return self.execution_reply(self.run_code(request.code, self.namespace, request.outputs, {}, live=self.console_fd))

    def run_code(self, source: str, namespace: dict[str, Any], outputs: list[str], output_types: dict[str, str],
                 live: int | None, output_files: list[str] | None = None,
                 before: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
        if before is None:
            before = file_state(Path.cwd())
        console = CappedText(self.config.console_limit, live)
        success, error = True, ""
        try:
            code = self.compiled(source)
            with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
                self.executing = True
                try:
                    exec(code, namespace)
                finally:
                    self.executing = False
        except Cancelled:
            success, error = False, "the execution was cancelled"
        except MemoryError:
            success, error = False, "the code ran out of memory"
            self.unhealthy = True
        except BaseException as exc:  # user code may raise anything, even SystemExit
            success, error = False, self.format_error(exc)
        values: dict[str, Any] = {}
        for name in outputs:
            if not success:
                break
            if name not in namespace:
                success, error = False, f"output '{name}' was not assigned by the code"
                break
            try:
                values[name] = coerce_output(name, namespace[name], output_types.get(name))
            except ValueError as exc:
                success, error = False, str(exc)
        after = file_state(Path.cwd())
        files: dict[str, str | None] = {}
        for name in output_files or []:
            try:
                files[name] = read_output_file(name, self.config.file_limit)
            except ValueError as exc:
                success, error = False, str(exc)
        return {
            "success": success,
            "error_message": error,
            "console": console.getvalue(),
            "changed_files": sorted(name for name, state in after.items() if before.get(name) != state),
            "outputs": values if success else {},
            "files": files,
        }

    def execution_reply(self, result: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        try:
            outputs = p.dumps(result["outputs"])
        except (ValueError, TypeError) as exc:  # e.g. NaN in a nested list
            result["success"], result["error_message"] = False, f"the outputs are not JSON: {exc}"
            outputs = b"{}"
        files = p.dumps(result["files"])
        meta = {key: result[key] for key in ("success", "error_message", "console", "changed_files")}
        return {**meta, "unhealthy": self.unhealthy, "outputs_size": len(outputs)}, outputs + files

    def format_error(self, exc: BaseException) -> str:
        import traceback  # only when user code fails: not on every worker start

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<o16n>"]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(exc), exc)
        return "".join(lines).rstrip()

    def compiled(self, source: str) -> Any:
        """Compile once per distinct source: a service sends the same code with every request."""
        code = self.code_cache.get(source)
        if code is None:
            if len(self.code_cache) > 64:
                self.code_cache.clear()
            code = self.code_cache[source] = compile(source, "<o16n>", "exec")
        return code

    def remove_leftover_files(self) -> dict[str, tuple[int, int]]:
        """Service mode: drop files an earlier request created, so requests don't see each other.
        Returns the state of what is left (one walk of the directory, not two)."""
        kept = {}
        for name, info in file_state(Path.cwd()).items():
            if name in self.baseline_files:
                kept[name] = info
            else:
                with contextlib.suppress(OSError):
                    (Path.cwd() / name).unlink()
        return kept

    # --- objects -------------------------------------------------------------------------
    def user_names(self) -> list[str]:
        return [n for n in self.namespace if not n.startswith("__")]

    def op_list_objects(self, _request: p.ListObjects, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        return {"names": sorted(self.user_names())}, b""

    def op_get_object(self, request: p.GetObject, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        import dill

        name = request.name
        if name not in self.namespace or name.startswith("__"):
            return {"found": False}, b""
        with os.fdopen(os.dup(fds[0]), "wb") as handle:
            dill.dump(self.namespace[name], handle)
        return {"found": True}, b""

    def op_set_object(self, request: p.SetObject, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        import dill

        with os.fdopen(os.dup(fds[0]), "rb") as handle:
            self.namespace[request.name] = dill.load(handle)
        return {}, b""

    def op_delete_object(self, request: p.DeleteObject, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        name = request.name
        found = name in self.namespace and not name.startswith("__")
        if found:
            del self.namespace[name]
        return {"found": found}, b""

    # --- snapshots -----------------------------------------------------------------------
    def op_snapshot(self, _request: p.TakeSnapshot, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Write the workspace (one dill file per object) and the working dir into one zip."""
        import zipfile

        import dill

        skipped = []
        with os.fdopen(os.dup(fds[0]), "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in self.user_names():
                value = self.namespace[name]
                if type(value).__name__ == "module":
                    continue  # imports are code: the service code imports what it needs
                try:
                    data = dill.dumps(value)
                except Exception as exc:
                    skipped.append({"name": name, "reason": f"{type(exc).__name__}: {exc}"})
                    continue
                archive.writestr(WORKSPACE_DIR + name + ".dill", data)
            root = Path.cwd()
            for name in sorted(file_state(root)):
                if (root / name).is_file() and not (root / name).is_symlink():
                    archive.write(root / name, FILES_DIR + name)
        return {"skipped": skipped}, b""

    def op_load_snapshot(self, _request: p.LoadSnapshot, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        self.load_zip(fds[0])
        return {}, b""

    def load_zip(self, fd: int) -> None:
        """Merge a snapshot into the namespace and write its files into the working dir."""
        import zipfile

        import dill

        with os.fdopen(os.dup(fd), "rb") as handle, zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                if not safe_member(info.filename) or info.is_dir():
                    continue
                if info.filename.startswith(WORKSPACE_DIR) and info.filename.endswith(".dill"):
                    name = info.filename[len(WORKSPACE_DIR) : -len(".dill")]
                    self.namespace[name] = dill.loads(archive.read(info))
                elif info.filename.startswith(FILES_DIR):
                    target = Path.cwd() / info.filename[len(FILES_DIR) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(FileNotFoundError):
                        target.unlink()  # never write through a link user code left there
                    target.write_bytes(archive.read(info))


    # --- realtime services: one ONNX model, scored on whole frames -------------------------
    def op_load_model(self, request: p.LoadModel, fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Become a model worker: one ONNX Runtime session for the life of this worker."""
        from o16n.server.runtime.onnx_scorer import OnnxScorer  # numpy + onnxruntime; nothing of the server

        self.take_role("model")
        with os.fdopen(os.dup(fds[0]), "rb") as handle:
            model = handle.read()
        self.scorer = OnnxScorer(model, threads=request.threads)
        try:  # the server's own interpreter runs model workers: orjson is there (the stdlib is the fallback)
            import orjson

            self.frame_codec = (orjson.loads, orjson.dumps)
        except ImportError:
            pass
        return {}, b""

    def op_score(self, request: p.Score, _fds: list[int]) -> tuple[dict[str, Any], bytes]:
        """Score every row of the frame in one run; answered like `run` (parsed by parse_execute)."""
        if self.scorer is None:
            raise RuntimeError("this worker has no model loaded")
        self.watch_seconds = max(0.0, min(request.watch_seconds, 0.01))
        success, error, outputs = True, "", b"{}"
        loads, dumps = self.frame_codec
        try:
            outputs = dumps({"outputData": self.scorer.score(loads(request.frame_json))})
        except MemoryError:
            success, error, self.unhealthy = False, "scoring ran out of memory", True
        except Exception as exc:  # the frame does not fit the model (ScoringError says how), or worse
            success, error = False, str(exc) if type(exc).__name__ == "ScoringError" else f"{type(exc).__name__}: {exc}"
        if not success:
            outputs = b"{}"
        return {"success": success, "error_message": error, "console": "", "changed_files": [],
                "unhealthy": self.unhealthy, "outputs_size": len(outputs)}, outputs + b"{}"


# --- start-up: privileges and limits, before any user code ------------------------------------
def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("could not drop privileges")
    with contextlib.suppress(PermissionError):
        os.setuid(0)
        raise OSError("privileges came back after dropping them")


def set_limit(kind: int, value: int) -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(kind, (value, value))


def set_up(config: WorkerConfig) -> None:
    if config.uid is not None:
        drop_privileges(config.uid)
    set_limit(resource.RLIMIT_CORE, 0)  # no core dumps of user data
    if config.memory_bytes > 0:
        set_limit(resource.RLIMIT_AS, config.memory_bytes)
    if config.max_processes > 0:
        set_limit(resource.RLIMIT_NPROC, config.max_processes)
    if config.landlock_private:
        from o16n.server.runtime.landlock import restrict

        restrict(Path(config.landlock_private), [Path(p) for p in config.landlock_writable],
                 [Path(p) for p in config.landlock_readable])


def main() -> None:
    raw = json.loads(sys.argv[1])
    raw["landlock_writable"] = tuple(raw.get("landlock_writable", ()))
    raw["landlock_readable"] = tuple(raw.get("landlock_readable", ()))
    config = WorkerConfig(**raw)
    try:
        set_up(config)
    except OSError as exc:
        print(f"o16n worker: could not set itself up: {exc}", file=sys.stderr)
        os._exit(EXIT_SETUP_FAILED)
    Worker(config).serve()


if __name__ == "__main__":
    main()
