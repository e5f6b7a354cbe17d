"""Which wall a worker gets, decided once per server from what the machine offers.

The sandbox is built from the kernel's own namespaces by bubblewrap (`bwrap`, Debian package
`bubblewrap`): a small, audited, maintained tool (it is what Flatpak runs every app in) that does
exactly the unshare/mount/pivot_root dance this needs, so the server does not reimplement it in
ctypes. docs/isolation.md says why in more detail. Each worker gets:

- its own PID namespace (it sees only its own processes; the server and other workers do not
  exist for it), mount namespace, IPC namespace, UTS namespace and, where possible, cgroup
  namespace; with `worker_network = none` also its own (empty) network namespace;
- a read-only view of the system, a private /tmp and /dev/shm, its own /proc, its working dir
  at /o16n/work, and no data dir (an empty directory nobody may enter stands in its place);
- no new privileges (bwrap sets PR_SET_NO_NEW_PRIVS), and when the server runs as root a uid of
  its own: bwrap runs privileged, lets the worker keep only CAP_SETUID/CAP_SETGID, and the worker
  drops to its uid before anything else (worker.py `drop_privileges`); as a normal user bwrap
  builds the namespaces inside a user namespace of its own and further user namespaces are denied.

Where bubblewrap or the namespaces are missing: `worker_sandbox = required` refuses to start
workers (SandboxUnavailable, with the reason); `auto` falls back to Landlock (landlock.py) and
says so in the report; `off` runs workers without either.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..domain.specs import EnvironmentRef
from .errors import SandboxUnavailable
from .landlock import landlock_abi

WORKDIR = "/o16n/work"  # where a sandboxed worker sees its working dir
ENV_DIR = "/o16n/env"  # where a sandboxed worker of a service environment sees it (read-only)
LIB_DIR = "/o16n/lib"  # ... and the worker's own modules (read-only)
NOT_MOUNTED = {"proc", "dev", "tmp", "run", "lost+found"}  # top-level entries the sandbox makes its own
NAMESPACES = ["pid", "mount", "ipc", "uts", "cgroup"]


@dataclass(frozen=True)
class SandboxPlan:
    mode: str  # the setting: auto | required | off
    applied: str  # what workers get: "namespaces" | "landlock" | "none"
    network: str  # host | none
    bwrap: str | None = None  # bubblewrap's path when namespaces apply
    tool: str | None = None  # e.g. "bubblewrap 0.8.0"
    as_root: bool = False  # the server is root: privileged bwrap, a uid per worker
    system: tuple[str, ...] = ()  # bwrap arguments for the read-only system view
    problem: str | None = None  # why namespaces are not available
    landlock: int = 0  # the kernel's Landlock ABI (0: none)

    @property
    def warnings(self) -> list[str]:
        notes = []
        if self.applied != "namespaces" and self.mode != "off":
            notes.append(f"the namespace sandbox is not available ({self.problem})")
        if self.applied == "landlock":
            notes.append("workers fall back to Landlock: they run as the server's user, see its processes and share /dev/shm")
        if self.applied == "none" and self.mode != "off":
            notes.append("workers run without any sandbox: user code can read the data dir (signing key, database)")
        if self.network == "none" and self.applied != "namespaces":
            notes.append("worker_network=none needs the namespace sandbox: workers have the host's network")
        return notes

    def check(self) -> None:
        """Raise SandboxUnavailable where user code must not run (worker_sandbox=required)."""
        if self.mode == "required" and self.applied != "namespaces":
            raise SandboxUnavailable(f"the worker sandbox is required but cannot be set up here: {self.problem}")

    def describe(self) -> dict[str, object]:
        namespaces = NAMESPACES + (["net"] if self.network == "none" else []) if self.applied == "namespaces" else []
        return {
            "sandbox": self.applied,
            "setting": self.mode,
            "tool": self.tool if self.applied == "namespaces" else None,
            "namespaces": namespaces,
            "network": self.network if self.applied == "namespaces" else "host",
            "noNewPrivileges": self.applied != "none",
            "landlock": self.landlock if self.applied == "landlock" else None,
        }

    # --- the command line --------------------------------------------------------------------
    def command(self, workdir: Path, inner: list[str], environment: EnvironmentRef | None = None) -> list[str]:
        """bwrap's command line running `inner` in a sandbox whose working dir is `workdir` (and, with
        `environment`, that environment bound read-only at ENV_DIR and the worker's modules at LIB_DIR)."""
        assert self.bwrap is not None
        args = [self.bwrap, *self.system, "--perms", "0755", "--dir", "/o16n", "--bind", str(workdir), WORKDIR,
                *(environment_binds(environment) if environment is not None else []),
                "--chdir", WORKDIR, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "o16n-worker",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if self.network == "none":
            args.append("--unshare-net")
        if self.as_root:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # only to drop to the worker's uid
        else:
            args += ["--unshare-user", "--disable-userns"]
        return [*args, "--", *inner]

    @classmethod
    def probe(cls, settings: Settings) -> SandboxPlan:
        """Find out what this machine offers, by starting one sandboxed interpreter."""
        network = settings.worker_network if settings.worker_network in ("host", "none") else "host"
        abi = landlock_abi()
        if settings.worker_sandbox == "off":
            return cls(settings.worker_sandbox, "none", network, landlock=abi)
        bwrap = shutil.which(settings.worker_bwrap)
        problem = None
        if bwrap is None:
            problem = f"bubblewrap ('{settings.worker_bwrap}') is not installed: apt-get install bubblewrap"
        else:
            plan = cls(settings.worker_sandbox, "namespaces", network, bwrap, _version(bwrap), os.geteuid() == 0,
                       tuple(system_view(settings.data_dir)), landlock=abi)
            problem = plan._try(settings.worker_uid_base)
            if problem is None:
                return plan
        fallback = "landlock" if settings.worker_sandbox == "auto" and abi > 0 else "none"
        return cls(settings.worker_sandbox, fallback, network, problem=problem, landlock=abi)

    def _try(self, uid: int) -> str | None:
        """None if a sandboxed interpreter starts, drops to `uid` (as root) and imports the worker."""
        drop = f"import os; os.setgroups([]); os.setresgid({uid},{uid},{uid}); os.setresuid({uid},{uid},{uid}); " if self.as_root else ""
        code = drop + "import o16n.server.runtime.worker"
        with tempfile.TemporaryDirectory(prefix="o16n-probe-") as workdir:
            try:
                done = subprocess.run(self.command(Path(workdir), [sys.executable, "-c", code]), stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=60, env=worker_environment(), cwd=workdir)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"bubblewrap failed to start: {exc}"
        if done.returncode != 0:
            last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
            return f"a sandboxed worker could not start: {last[:300]}"
        return None


def _version(bwrap: str) -> str:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, timeout=10).stdout.decode().strip()
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"
    return out or "bubblewrap"


def worker_environment() -> dict[str, str]:
    """The server's environment without its own settings (database URL, admin password, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("O16N_")}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # many workers share few cores
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def system_view(data_dir: Path) -> list[str]:
    """bwrap arguments for what a worker sees of the machine: the system read-only, no secrets.

    Hidden behind empty tmpfs: root's home and the server user's home (other people's keys and
    configs), with the interpreter's own directories bound back read-only where they live there
    (e.g. a pyenv Python in /root); and the data dir, replaced by a directory of mode 0000.
    """
    args: list[str] = []
    for entry in sorted(os.listdir("/")):
        path = "/" + entry
        if entry in NOT_MOUNTED:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777",
             "--tmpfs", "/dev/shm", "--tmpfs", "/run"]
    tmpfs = ["/tmp", "/run", "/dev/shm"]
    resolv = Path("/etc/resolv.conf")
    if resolv.is_symlink() and os.path.realpath(resolv).startswith("/run/"):  # systemd-resolved and the like
        args += _mkdirs(Path(os.path.realpath(resolv)).parent, tmpfs) + ["--ro-bind", os.path.realpath(resolv)] * 2
    homes = sorted({p for p in ("/root", str(Path.home())) if p != "/" and os.path.isdir(p)})
    for home in homes:
        args += ["--tmpfs", home]
    tmpfs += homes
    for needed in interpreter_paths():
        if _covering(needed, homes) is not None:
            args += _mkdirs(Path(needed).parent, tmpfs) + ["--ro-bind", needed, needed]
    private = os.path.realpath(data_dir)
    return args + _mkdirs(Path(private).parent, tmpfs) + ["--perms", "0000", "--tmpfs", private]


def environment_binds(environment: EnvironmentRef) -> list[str]:
    """bwrap arguments binding a service environment read-only (docs/environments.md): the
    environment at ENV_DIR (a relocatable venv: its interpreter finds its packages from there), the
    worker's modules at LIB_DIR, and its base interpreter's prefix where a hidden home covers it."""
    args = ["--ro-bind", environment.path, ENV_DIR, "--ro-bind", environment.lib, LIB_DIR]
    homes = sorted({p for p in ("/root", str(Path.home())) if p != "/" and os.path.isdir(p)})
    tmpfs = ["/tmp", "/run", "/dev/shm", *homes]
    for base in environment.base_dirs:
        if base and os.path.isdir(base) and _covering(base, homes) is not None:
            args += _mkdirs(Path(base).parent, tmpfs) + ["--ro-bind", base, base]
    return args


def interpreter_paths() -> list[str]:
    """Directories the worker's interpreter needs: its prefixes and the server's sys.path."""
    here = os.getcwd()  # sys.path holds the server's start dir, which the worker does not need
    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *(p for p in sys.path if p not in ("", here))}
    real = {os.path.realpath(p) for p in paths if p and os.path.exists(p)}
    return sorted(p for p in real if not any(p.startswith(q + "/") for q in real))  # outermost only


def _covering(path: str, roots: list[str]) -> str | None:
    return next((r for r in roots if path.startswith(r + "/")), None)


def _mkdirs(directory: Path, tmpfs: list[str]) -> list[str]:
    """`--dir` (mode 0755) for each ancestor bwrap must create inside one of the sandbox's tmpfs."""
    root = _covering(str(directory) + "/", tmpfs)
    if root is None:
        return []
    missing = [d for d in [directory, *directory.parents] if str(d).startswith(root + "/")]
    return [arg for d in reversed(missing) for arg in ("--perms", "0755", "--dir", str(d))]
