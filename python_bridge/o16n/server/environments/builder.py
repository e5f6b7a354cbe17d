"""Builds environments with uv on this node, and keeps its directory of them. No database here.

Layout of `environments_root` (per node, default `<data_dir>/environments`):

    <key>/                      a complete environment (renamed into place when its build succeeded)
    <key>/o16n-environment.json what was built: spec, Python, base prefix, size, build time
    .build-<key16>-<host>-<pid>-<n>/   a build in progress (removed at start if its process is gone)
    .trash-<key16>-<host>-<pid>-<n>/   an environment being removed
    .worker-<hash16>/o16n/...   the worker's own modules (see `worker_lib`)

A build: `uv venv --relocatable --python X` into a fresh `.build-*` dir, `uv pip install` of the
pins plus what the worker needs (dill, at the server's version unless pinned), a check that the
interpreter starts and imports dill, then one `rename` into `<key>`. A process killed at any point
leaves at most a `.build-*` dir, which nothing uses; `<key>` exists only complete.

How the worker module reaches an environment: the server copies the few modules the worker
imports (`o16n/__init__.py`, `o16n/wire/`, and `worker.py`, `protocol.py`, `landlock.py` of
`o16n/server/runtime/`; standard library only) into `.worker-<hash of their content>/`, and starts
environment workers with that directory on PYTHONPATH (bound read-only into the sandbox at
/o16n/lib). Nothing of the server's own site-packages is visible there, so the environment's
packages are the only ones its services import, and a server upgrade brings its worker along
without rebuilding environments.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import itertools
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..domain.specs import EnvironmentRef
from .spec import EnvironmentSpec, requirement_name

log = logging.getLogger("o16n.environments")
METADATA = "o16n-environment.json"
WORKER_MODULES = ("__init__.py", "wire/*.py", "server/runtime/__init__.py", "server/runtime/worker.py",
                  "server/runtime/protocol.py", "server/runtime/landlock.py")
_names = itertools.count(1)


class BuildFailed(Exception):
    """uv (or the check after it) failed; `message` is what it said, for the publisher."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Built:
    python_version: str
    size_bytes: int
    build_seconds: float


def uv_binary() -> str:
    import uv

    return str(uv.find_uv_bin())


def _split(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,]+", value) if v]


class Builder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.environments_root
        self.cache = settings.uv_cache
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = "".join(c for c in socket.gethostname() if c.isalnum() or c == ".")
        self._pythons: tuple[float, list[tuple[str, str]]] | None = None
        self._lib: Path | None = None
        self.running: set[subprocess.Popen[str]] = set()
        self.aborted = False

    # --- uv ------------------------------------------------------------------------------
    def uv_environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("O16N_", "UV_", "PIP_", "VIRTUAL_ENV", "CONDA_"))}
        env.update(UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=str(self.cache), UV_NO_CONFIG="1", NO_COLOR="1",
                   UV_NO_PROGRESS="1")
        return env

    def index_options(self) -> list[str]:
        s = self.settings
        options: list[str] = []
        if s.environments_no_index:
            options.append("--no-index")
        elif s.environments_index_url:
            options += ["--default-index", s.environments_index_url]
        if not s.environments_no_index:
            for url in _split(s.environments_extra_index_url):
                options += ["--index", url]
        for place in _split(s.environments_find_links):
            options += ["--find-links", place]
        return options

    def _uv(self, args: list[str], timeout: float) -> str:
        if self.aborted:
            raise BuildFailed("the server is stopping")
        try:
            process = subprocess.Popen([uv_binary(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=self.uv_environment(), stdin=subprocess.DEVNULL, cwd=str(self.root),
                                       start_new_session=True)
        except OSError as exc:
            raise BuildFailed(f"uv could not be run: {exc}") from None
        self.running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BuildFailed(f"building the environment took longer than {timeout:g} s (environments_build_timeout)") from None
        finally:
            self.running.discard(process)
        if process.returncode != 0:
            if self.aborted:
                raise BuildFailed("the server is stopping")
            raise BuildFailed(_message(stderr) or f"uv exited with code {process.returncode}")
        return stdout

    def abort(self) -> None:
        """Kill the uv processes of builds in progress (the server is stopping)."""
        self.aborted = True
        for process in list(self.running):
            with contextlib.suppress(OSError):
                process.kill()

    def pythons(self) -> list[tuple[str, str]]:
        """(version, path) of the interpreters uv finds here (no downloads), cached for a minute."""
        if self._pythons is not None and time.monotonic() - self._pythons[0] < 60:
            return self._pythons[1]
        found: list[tuple[str, str]] = []
        with contextlib.suppress(BuildFailed, ValueError, TypeError):
            listed = json.loads(self._uv(["python", "list", "--only-installed", "--output-format", "json"], 60))
            found = [(str(p["version"]), str(p["path"])) for p in listed if p.get("implementation", "cpython") == "cpython"]
        here = ".".join(map(str, sys.version_info[:3]))
        if not any(v == here for v, _ in found):
            found.append((here, sys.executable))
        self._pythons = (time.monotonic(), found)
        return found

    def check_python(self, python: str) -> None:
        """BuildFailed naming the Pythons this server has when none matches `python` (X.Y or X.Y.Z)."""
        versions = sorted({v for v, _ in self.pythons()}, key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")])
        if not any(v == python or v.startswith(python + ".") for v in versions):
            raise BuildFailed(f"Python {python} is not available on this server (it has {', '.join(versions) or 'none'}; "
                              "interpreters are not downloaded)")

    # --- building ------------------------------------------------------------------------------
    def build(self, spec: EnvironmentSpec, progress: Callable[[str], None]) -> Built:
        """Build `spec` into `<root>/<key>` (synchronous: run it in a thread). BuildFailed on failure."""
        started = time.monotonic()
        key = spec.key
        final = self.root / key
        if self.complete(key):
            return self.describe(key)
        self.check_python(spec.python)
        temp = self.root / f".build-{key[:16]}-{self.host}-{os.getpid()}-{next(_names)}"
        timeout = self.settings.environments_build_timeout
        try:
            progress(f"building environment: {len(spec.packages)} packages")
            self._uv(["venv", "--relocatable", "--no-project", "--quiet", "--python", spec.python, str(temp)], 300)
            python = temp / "bin" / "python"
            extras = [] if any(requirement_name(p) == "dill" for p in spec.packages) else [f"dill=={_dill_version()}"]
            wanted = [*spec.packages, *extras]
            left = max(30.0, timeout - (time.monotonic() - started))
            self._uv(["pip", "install", "--python", str(python), "--quiet", *self.index_options(), *wanted], left)
            check = "import sys, dill; print('.'.join(map(str, sys.version_info[:3]))); print(sys.base_prefix)"
            try:
                done = subprocess.run([str(python), "-I", "-c", check], capture_output=True, text=True, timeout=120,
                                      stdin=subprocess.DEVNULL, cwd=str(temp))
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise BuildFailed(f"the environment's Python does not start: {exc}") from None
            if done.returncode != 0:
                raise BuildFailed(f"the environment's Python does not start: {_message(done.stderr)}")
            version, base = done.stdout.split()[:2]
            size = tree_size(temp)
            seconds = round(time.monotonic() - started, 2)
            meta = {"key": key, **spec.to_json(), "pythonVersion": version, "basePrefix": os.path.realpath(base),
                    "sizeBytes": size, "buildSeconds": seconds}
            (temp / METADATA).write_text(json.dumps(meta, indent=1))
            os.chmod(temp, 0o755)
            try:
                os.rename(temp, final)
            except OSError:
                if not self.complete(key):  # not another process finishing the same build first
                    raise
            return Built(version, size, seconds)
        except OSError as exc:
            raise BuildFailed(f"the environment could not be written: {exc}") from None
        finally:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)

    # --- this node's directory -----------------------------------------------------------
    def complete(self, key: str) -> bool:
        return (self.root / key / METADATA).is_file()

    def metadata(self, key: str) -> dict[str, object]:
        try:
            data = json.loads((self.root / key / METADATA).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def describe(self, key: str) -> Built:
        meta = self.metadata(key)
        return Built(str(meta.get("pythonVersion") or ""), int(str(meta.get("sizeBytes") or 0)),
                     float(str(meta.get("buildSeconds") or 0.0)))

    def ref(self, key: str) -> EnvironmentRef:
        """What the runtime needs to start a worker from this (complete) environment."""
        meta = self.metadata(key)
        base = str(meta.get("basePrefix") or "")
        return EnvironmentRef(key=key, path=str(self.root / key), lib=str(self.worker_lib()),
                              base_dirs=(base,) if base else ())

    def local_keys(self) -> list[str]:
        with contextlib.suppress(OSError):
            return sorted(e.name for e in self.root.iterdir() if not e.name.startswith(".") and self.complete(e.name))
        return []

    def remove(self, key: str) -> None:
        """Take `<key>` out of use at once (a rename), then delete it."""
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            return
        final = self.root / key
        trash = self.root / f".trash-{key[:16]}-{self.host}-{os.getpid()}-{next(_names)}"
        try:
            os.rename(final, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def remove_stale(self) -> None:
        """Builds and removals of processes of this host that are gone (killed mid-build)."""
        prefix = f"-{self.host}-"
        with contextlib.suppress(OSError):
            for entry in self.root.iterdir():
                if not entry.name.startswith((".build-", ".trash-")) or prefix not in entry.name:
                    continue
                pid = entry.name.split(prefix, 1)[1].split("-")[0]
                if pid.isdigit() and (int(pid) != os.getpid()) and not Path(f"/proc/{pid}").exists():
                    shutil.rmtree(entry, ignore_errors=True)

    def worker_lib(self) -> Path:
        """The worker's own modules, copied once per content (see the module docstring)."""
        if self._lib is not None:
            return self._lib
        package = Path(__file__).resolve().parents[2]  # .../o16n
        files = sorted({f for pattern in WORKER_MODULES for f in package.glob(pattern)})
        digest = hashlib.sha256()
        for f in files:
            digest.update(str(f.relative_to(package)).encode() + b"\0" + f.read_bytes() + b"\0")
        lib = self.root / f".worker-{digest.hexdigest()[:16]}"
        if not lib.is_dir():
            temp = self.root / f".build-worker-{self.host}-{os.getpid()}-{next(_names)}"
            for f in files:
                target = temp / "o16n" / f.relative_to(package)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
            for d in [temp, *temp.rglob("*")]:
                os.chmod(d, 0o755 if d.is_dir() else 0o644)
            try:
                os.rename(temp, lib)
            except OSError:
                shutil.rmtree(temp, ignore_errors=True)
                if not lib.is_dir():
                    raise
        self._lib = lib
        return lib


def tree_size(path: Path) -> int:
    """Bytes of the regular files under `path`, each inode once, symlinks not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(directory, name))
                if (st.st_dev, st.st_ino) not in seen and not os.path.islink(os.path.join(directory, name)):
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


def _dill_version() -> str:
    try:
        return importlib.metadata.version("dill")
    except importlib.metadata.PackageNotFoundError:
        return "0.3.9"


def _message(stderr: str) -> str:
    """uv's error without colour codes, its `Using Python ...` lines and interpreter-search warnings."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", stderr or "")
    lines, skipping = [], False
    for line in text.splitlines():
        if line.startswith("warning: Failed to inspect Python interpreter"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        if line.startswith(("Using Python", "Using CPython")) or not line.strip():
            continue
        lines.append(line.rstrip())
    return "\n".join(lines)[-4000:].strip()
