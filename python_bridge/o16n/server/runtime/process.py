"""One worker's process tree, as the operating system sees it: start it sandboxed, watch it, kill it.

Start-up chain (each step `exec`s the next, so it is one process until bwrap forks):

    /bin/sh -c JOIN ...    joins the worker's cgroups (as root, before anything else runs)
    bwrap ...              builds the namespaces (sandbox.py)
    python -m o16n.server.runtime.worker CONFIG
                           drops to the worker's uid, sets rlimits, serves the socket

Its stdout and stderr go to a pipe the server reads into a small ring buffer (`OutputBuffer`):
user code writing 100 MB to fd 2 costs the server a read, never a line in its log. Killing the
tree is complete: cgroup.kill (or SIGKILL to each listed pid), and killing bwrap takes the PID
namespace with it (its init dies, the kernel kills every process in the namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from ..config import Settings
from ..domain.specs import EnvironmentRef
from .cgroups import WorkerGroup
from .channel import Channel
from .placement import Placement
from .sandbox import ENV_DIR, LIB_DIR, WORKDIR, SandboxPlan, worker_environment
from .worker import EXIT_SETUP_FAILED, WorkerConfig

log = logging.getLogger("o16n.workers")
EXIT_JOIN_FAILED = 111  # the shell could not join the cgroups
# Join every cgroup named before "--", then become the rest of the command line.
JOIN = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'


class OutputBuffer:
    """What the worker's processes wrote to stdout/stderr: the last `limit` bytes, and a count.

    It reads the pipe itself (add_reader, os.read) and owns its descriptor: uvloop's
    connect_read_pipe closes a pipe's descriptor twice (MagicStack/uvloop#763), which can close
    an unrelated file that got the same number in between (a session's console, a worker socket).
    """

    def __init__(self, limit: int, fd: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.total = 0
        self.fd = fd
        os.set_blocking(fd, False)
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # every writer is gone
            self.close()
            return
        self.total += len(data)
        self.kept += data
        if len(self.kept) > 2 * self.limit:
            del self.kept[: len(self.kept) - self.limit]

    def tail(self, characters: int = 2000) -> str:
        return bytes(self.kept[-self.limit:]).decode("utf-8", "replace")[-characters:]

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


class WorkerProcess:
    """A started worker tree. `pid` is the worker interpreter's pid (for SIGINT) in the server's view."""

    def __init__(self, popen: subprocess.Popen[bytes], channel: Channel, output: OutputBuffer, placement: Placement,
                 group: WorkerGroup | None, settings: Settings, sandboxed: bool) -> None:
        self.popen = popen
        self.channel = channel
        self.output = output
        self.placement = placement
        self.group = group
        self.settings = settings
        self.sandboxed = sandboxed
        self.pid = popen.pid
        self.killed = False
        self.exited = asyncio.get_running_loop().create_future()
        self._pidfd = os.pidfd_open(popen.pid)
        asyncio.get_running_loop().add_reader(self._pidfd, self._on_exit)

    @classmethod
    async def spawn(cls, settings: Settings, plan: SandboxPlan, placement: Placement, group: WorkerGroup | None,
                    uid: int | None, environment: EnvironmentRef | None = None) -> WorkerProcess:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        side_parent, side_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sandboxed = plan.applied == "namespaces"
        config = WorkerConfig(
            sock=child.fileno(),
            side=side_child.fileno(),
            console_limit=settings.max_console_bytes,
            file_limit=settings.max_reply_bytes,
            memory_bytes=settings.worker_memory_mb * 1024 * 1024,
            # RLIMIT_NPROC counts per uid: a limit only where this worker has a uid of its own and
            # no pids cgroup does the job for the whole tree.
            max_processes=settings.worker_max_processes if uid is not None and (group is None or group.cgroups.pids is None) else 0,
            uid=uid,
            landlock_private=str(settings.data_dir) if plan.applied == "landlock" else None,
            landlock_writable=(str(placement.workdir), str(placement.scratch)) if plan.applied == "landlock" else (),
            landlock_readable=(environment.path, environment.lib) if plan.applied == "landlock" and environment else (),
        )
        python, env = interpreter(environment, sandboxed)
        inner = [python, "-m", "o16n.server.runtime.worker", json.dumps(asdict(config))]
        if sandboxed:
            command = plan.command(placement.workdir, inner, environment)
            env.update(HOME="/tmp", TMPDIR="/tmp", USER="o16n", LOGNAME="o16n", PWD=WORKDIR)
        else:
            command = inner
            env.update(TMPDIR=str(placement.scratch), MPLCONFIGDIR=str(placement.scratch), JOBLIB_TEMP_FOLDER=str(placement.scratch))
        if group is not None:
            command = ["/bin/sh", "-c", JOIN, "o16n-worker", *map(str, group.procs_files), "--", *command]
        read_end, write_end = os.pipe()
        try:
            popen = subprocess.Popen(command, pass_fds=[child.fileno(), side_child.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=write_end, stderr=write_end, cwd=str(placement.workdir), env=env,
                                     start_new_session=True)  # its own process group: killpg reaches its children
        except BaseException:
            for s in (parent, side_parent):
                s.close()
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
            child.close()
            side_child.close()
        output = OutputBuffer(settings.worker_output_bytes, read_end)
        try:
            channel = await Channel.open(parent, side_parent, meta_limit=8 * settings.max_console_bytes + (4 << 20),
                                         payload_limit=settings.max_reply_bytes)
        except BaseException:
            output.close()
            raise
        return cls(popen, channel, output, placement, group, settings, sandboxed)

    def find_interpreter(self) -> None:
        """In the sandbox, the interpreter is bwrap's grandchild: signals for it go there."""
        if not self.sandboxed:
            return
        pid = self.popen.pid
        for _ in range(2):  # bwrap -> the namespace's init -> python
            children = _children(pid)
            if len(children) != 1:
                return
            pid = children[0]
        self.pid = pid

    @property
    def alive(self) -> bool:
        return not self.killed and not self.exited.done()

    def _on_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self._pidfd)
        self.popen.poll()  # reap it
        if not self.exited.done():
            self.exited.set_result(None)

    def interrupt(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL the whole tree now (synchronous: safe in any clean-up, even a cancelled one)."""
        if self.killed:
            return
        self.killed = True
        if self.group is not None:
            self.group.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        self.channel.close()

    async def finish(self) -> None:
        """After kill(): wait until the tree is gone, then remove its groups and its directories."""
        self.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.shield(self.exited)
        if not self.exited.done():
            log.warning("worker %s did not exit after SIGKILL", self.popen.pid)
        if self.group is not None:
            for _ in range(200):  # the kernel needs a moment to reap a killed tree
                if self.group.empty() and self.group.remove():
                    break
                self.group.kill()
                await asyncio.sleep(0.025)
            else:
                log.warning("the cgroups of worker %s could not be removed", self.popen.pid)
        self._close_fds()
        await asyncio.to_thread(self.placement.remove)

    def _close_fds(self) -> None:
        loop = asyncio.get_running_loop()
        if self._pidfd >= 0:
            loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        self.output.close()

    def death_reason(self, starting: bool = False) -> str:
        """Why the process is gone, as a sentence (with its own output while it was starting up)."""
        code = self.popen.returncode
        if code is None:
            return "the worker stopped answering"
        oom = self.group.oom_kills() if self.group is not None else 0
        if oom:
            return (f"the worker was killed for using more than its memory limit of {self.settings.worker_memory_mb} MB "
                    "(all its processes together)")
        if self.sandboxed and 128 < code < 128 + 65:
            code = -(code - 128)  # bwrap reports a signal as 128 + its number
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
            hint = " (killed: most likely it ran out of memory)" if name == "SIGKILL" else ""
            reason = f"the worker process died from {name}{hint}"
        elif code == EXIT_SETUP_FAILED:
            reason = "the worker could not set itself up"
        elif code == EXIT_JOIN_FAILED and self.group is not None:
            reason = "the worker could not join its cgroups"
        else:
            reason = f"the worker process exited with code {code}"
        if starting:  # no user code has run yet: its output is the sandbox's or Python's own
            tail = self.output.tail(500).strip()
            reason += f": {tail}" if tail else ""
        return reason


def interpreter(environment: EnvironmentRef | None, sandboxed: bool) -> tuple[str, dict[str, str]]:
    """The worker's interpreter and process environment: the server's own, or a service
    environment's (its venv Python, the worker's modules on PYTHONPATH; docs/environments.md)."""
    env = worker_environment()
    if environment is None:
        return sys.executable, env
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        env.pop(name, None)
    root, lib = (ENV_DIR, LIB_DIR) if sandboxed else (environment.path, environment.lib)
    env.update(PYTHONPATH=lib, VIRTUAL_ENV=root, PYTHONNOUSERSITE="1")
    return f"{root}/bin/python", env


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):  # a kernel without CONFIG_PROC_CHILDREN: look at every process
        pass
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found
