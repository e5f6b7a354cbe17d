"""The worker process: runs user code for one session or one service pool slot.

Started by the server as `python -m o16n.server.runtime.worker FD`, it serves requests on the
inherited socket FD one at a time until the socket closes. Everything here runs in the worker;
the server only ever sees JSON and opaque bytes.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import resource
import signal
import socket
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path
from typing import Any

from o16n.server.runtime.protocol import encode, recv_frame
from o16n.wire.values import coerce_output, to_python

WORKSPACE_DIR = "workspace/"  # inside a snapshot zip: one dill file per object
FILES_DIR = "files/"  # inside a snapshot zip: the working directory's files


class Cancelled(BaseException):
    """Raised inside user code when the server asks to cancel the running execution."""


class CappedText(io.TextIOBase):
    """A stdout/stderr stand-in that keeps at most `limit` characters.

    With `live`, what is kept is also appended to that file as it comes, so the server can show
    a session's console while its code still runs.
    """

    def __init__(self, limit: int, live: Path | None = None) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self.live = open(live, "w", encoding="utf-8") if live else None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.size += len(piece)
            if self.live is not None:
                self.live.write(piece)
                self.live.flush()
        if len(text) > max(room, 0):
            self.truncated = True
        return len(text)

    def close(self) -> None:
        if self.live is not None:
            self.live.close()
        super().close()

    def getvalue(self) -> str:
        value = "".join(self.parts)
        return value + "\n[console output truncated]\n" if self.truncated else value


# --- the working directory ------------------------------------------------------------------
def file_state(root: Path) -> dict[str, tuple[int, int]]:
    state: dict[str, tuple[int, int]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            try:
                info = path.stat()
            except OSError:
                continue
            state[str(path.relative_to(root))] = (info.st_mtime_ns, info.st_size)
    return state


def safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and "\x00" not in name


class Worker:
    def __init__(self, sock: socket.socket, console_limit: int) -> None:
        self.sock = sock
        self.console_limit = console_limit
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.baseline_files: set[str] = set()  # service mode: files that belong to the snapshot
        self.executing = False
        self.unhealthy = False  # set after a MemoryError: the server replaces this worker
        self.code_cache: dict[str, Any] = {}
        self.assigned = False
        self.console = ""

    # The server interrupts with SIGINT; only code that is running may be cancelled.
    def on_sigint(self, _signum, _frame) -> None:
        if self.executing:
            raise Cancelled()

    def serve(self) -> None:
        signal.signal(signal.SIGINT, self.on_sigint)
        while True:
            try:
                message = recv_frame(self.sock)
            except EOFError:
                return
            op = message.get("op")
            handler = getattr(self, f"op_{op}", None)
            try:
                if handler is None:
                    raise ValueError(f"unknown worker operation {op!r}")
                reply = {"ok": True, **(handler(message) or {})}
            except Cancelled:
                reply = {"ok": False, "error": "the execution was cancelled"}
            except Exception as exc:  # a failing operation answers; the worker lives on
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.sock.sendall(encode(reply))

    # --- operations ----------------------------------------------------------------------
    def op_ping(self, message):
        return {"pid": os.getpid()}

    def op_assign(self, message):
        """Settle in the given working dir, then (if asked) lock the server's data dir away."""
        if self.assigned:
            raise RuntimeError("this worker already has a place")
        workdir, exchange = Path(message["workdir"]), Path(message["exchange"])
        os.chdir(workdir)
        scratch = str(exchange / "tmp")
        for variable in ("TMPDIR", "MPLCONFIGDIR", "JOBLIB_TEMP_FOLDER"):
            os.environ[variable] = scratch  # libraries' temp and cache files stay out of the workdir
        tempfile.tempdir = None
        sandbox, problem = "none", None
        if message.get("sandbox") != "off":
            try:
                from o16n.server.runtime.sandbox import restrict

                restrict(Path(message["private"]), [workdir, exchange])
                sandbox = "landlock"
            except OSError as exc:
                if message.get("sandbox") == "required":
                    raise RuntimeError(f"the worker sandbox is required but failed: {exc}") from None
                problem = str(exc)
        self.assigned = True
        return {"sandbox": sandbox, "problem": problem}

    def op_execute(self, message):
        """Run code. Session mode keeps its namespace; service mode runs in a copy of the base."""
        service_mode = message.get("mode") == "service"
        namespace = dict(self.namespace) if service_mode else self.namespace
        types = message.get("input_types") or {}
        for name, value in (message.get("inputs") or {}).items():
            namespace[name] = to_python(value, types.get(name))
        before = file_state(Path.cwd())
        if service_mode:
            before = self.remove_leftover_files(before)
        live = Path(message["live_console"]) if message.get("live_console") else None
        console = CappedText(self.console_limit, live)
        success, error = True, ""
        try:
            code = self.compiled(message.get("code") or "")
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
        self.console = console.getvalue()
        console.close()
        outputs: dict[str, Any] = {}
        output_types = message.get("output_types") or {}
        for name in message.get("outputs") or []:
            if not success:
                break
            if name not in namespace:
                success, error = False, f"output '{name}' was not assigned by the code"
                break
            try:
                outputs[name] = coerce_output(name, namespace[name], output_types.get(name))
            except ValueError as exc:
                success, error = False, str(exc)
        after = file_state(Path.cwd())
        changed = sorted(name for name, state in after.items() if before.get(name) != state)
        files = {}
        for name in message.get("output_files") or []:
            path = Path.cwd() / name
            files[name] = base64.b64encode(path.read_bytes()).decode() if path.is_file() else None
        return {
            "success": success,
            "errorMessage": error,
            "consoleOutput": self.console,
            "outputs": outputs,
            "changedFiles": changed,
            "outputFiles": files,
            "unhealthy": self.unhealthy,
        }

    def format_error(self, exc: BaseException) -> str:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<o16n>"]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(exc), exc)
        return "".join(lines).rstrip()

    def compiled(self, source: str):
        """Compile once per distinct source: a service sends the same code with every request."""
        code = self.code_cache.get(source)
        if code is None:
            if len(self.code_cache) > 64:
                self.code_cache.clear()
            code = self.code_cache[source] = compile(source, "<o16n>", "exec")
        return code

    def remove_leftover_files(self, state: dict) -> dict:
        """Service mode: drop files an earlier request created, so requests don't see each other."""
        kept = {}
        for name, info in state.items():
            if name in self.baseline_files:
                kept[name] = info
            else:
                with contextlib.suppress(OSError):
                    (Path.cwd() / name).unlink()
        return kept

    def op_console(self, _message):
        return {"consoleOutput": self.console}

    def op_list_objects(self, _message):
        return {"names": sorted(self.user_names())}

    def user_names(self) -> list[str]:
        return [n for n in self.namespace if not n.startswith("__")]

    def op_get_object(self, message):
        import dill

        name = message["name"]
        if name not in self.namespace or name.startswith("__"):
            return {"found": False}
        with open(message["path"], "wb") as handle:
            dill.dump(self.namespace[name], handle)
        return {"found": True}

    def op_set_object(self, message):
        import dill

        with open(message["path"], "rb") as handle:
            self.namespace[message["name"]] = dill.load(handle)
        return {}

    def op_delete_object(self, message):
        name = message["name"]
        found = name in self.namespace and not name.startswith("__")
        if found:
            del self.namespace[name]
        return {"found": found}

    def op_snapshot(self, message):
        """Write the workspace (one dill file per object) and the working dir into one zip."""
        import dill

        skipped = []
        with zipfile.ZipFile(message["path"], "w", zipfile.ZIP_DEFLATED) as archive:
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
                archive.write(root / name, FILES_DIR + name)
        return {"skipped": skipped}

    def op_load_snapshot(self, message):
        """Merge a snapshot into the namespace and write its files into the working dir."""
        import dill

        loaded = []
        with zipfile.ZipFile(message["path"]) as archive:
            for info in archive.infolist():
                if not safe_member(info.filename) or info.is_dir():
                    continue
                if info.filename.startswith(WORKSPACE_DIR) and info.filename.endswith(".dill"):
                    name = info.filename[len(WORKSPACE_DIR) : -len(".dill")]
                    self.namespace[name] = dill.loads(archive.read(info))
                    loaded.append(name)
                elif info.filename.startswith(FILES_DIR):
                    target = Path.cwd() / info.filename[len(FILES_DIR) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
        return {"objects": loaded}

    def op_load_service(self, message):
        """Become a service slot: load its snapshot, run its init code once."""
        if message.get("path"):
            self.op_load_snapshot(message)
        init = message.get("init_code")
        if init:
            result = self.op_execute({"code": init})
            if not result["success"]:
                raise RuntimeError(f"the service's init code failed: {result['errorMessage']}")
        self.baseline_files = set(file_state(Path.cwd()))
        return {}


def limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    fd = int(sys.argv[1])
    limit_memory(int(os.environ.get("O16N_WORKER_MEMORY_MB", "0")))
    console_limit = int(os.environ.get("O16N_WORKER_CONSOLE_LIMIT", str(1024 * 1024)))
    sock = socket.socket(fileno=fd)
    Worker(sock, console_limit).serve()


if __name__ == "__main__":
    main()
