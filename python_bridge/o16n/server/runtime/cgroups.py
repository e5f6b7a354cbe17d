"""Limits on a worker's whole process tree, and a complete kill of it, through cgroups.

An rlimit applies per process: three children of one worker could each use the worker's memory
limit. A cgroup holds the worker and everything it starts, so its memory and process-count limits
apply to the tree, and killing every process in it leaves nothing behind.

The server creates its groups below the cgroup it runs in (so it stays inside whatever limits its
own administrator set): `<own cgroup>/o16n-<server pid>/w-<worker>`, in each hierarchy it may
write to. cgroup v2 is used where it offers the controllers (memory, pids) and `cgroup.kill`;
cgroup v1 `memory` and `pids` hierarchies fill in what v2 does not offer (hybrid machines). A
worker joins its groups before bubblewrap or Python start (see process.py), so no process of it
ever runs outside them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("o16n.workers")
CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class Hierarchy:
    version: int  # 1 or 2
    root: Path  # this server's directory in it: <own cgroup>/o16n-<pid>
    controllers: frozenset[str]  # the limits groups here can apply
    can_kill: bool  # cgroup v2 cgroup.kill (kernel 5.14+)

    def describe(self, controller: str) -> str:
        return f"cgroup v{self.version} {controller} (whole tree)"


def _mounts(mountinfo: str) -> list[tuple[Path, str, str, set[str]]]:
    """(mount point, mount root, fs type, super options) of every cgroup mount."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        parts, fs = left.split(), right.split()
        if len(parts) >= 5 and len(fs) >= 3 and fs[0] in ("cgroup", "cgroup2"):
            found.append((Path(parts[4]), parts[3], fs[0], set(fs[2].split(","))))
    return found


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """The cgroup path this process is in, per v1 controller name, and under "" for v2."""
    paths = {}
    for line in proc_cgroup.splitlines():
        _id, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _inside(mount: Path, mount_root: str, path: str) -> Path:
    relative = path[len(mount_root):] if mount_root != "/" and path.startswith(mount_root) else path
    return mount / relative.lstrip("/")


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


class Cgroups:
    """This server's cgroup subtrees: found and created at start-up, one group per worker."""

    def __init__(self, hierarchies: list[Hierarchy], problems: list[str]) -> None:
        self.hierarchies = hierarchies
        self.problems = problems
        self.memory = next((h for h in hierarchies if "memory" in h.controllers), None)
        self.pids = next((h for h in hierarchies if "pids" in h.controllers), None)
        self.killer = next((h for h in hierarchies if h.can_kill), None)

    @classmethod
    def probe(cls, pid: int | None = None) -> Cgroups:
        """Whatever this server may use; never raises (an empty result means rlimits only)."""
        pid = pid or os.getpid()
        try:
            mounts = _mounts(Path("/proc/self/mountinfo").read_text())
            own = _own_paths(Path("/proc/self/cgroup").read_text())
        except OSError as exc:
            return cls([], [f"cannot read this process's cgroups: {exc}"])
        hierarchies: list[Hierarchy] = []
        problems: list[str] = []
        for mount, mount_root, fs, options in mounts:
            if fs == "cgroup2" and "" in own:
                made = _make_v2(_inside(mount, mount_root, own[""]), pid, problems)
            elif fs == "cgroup" and (wanted := [c for c in CONTROLLERS if c in options and c in own]):
                made = _make_v1(_inside(mount, mount_root, own[wanted[0]]), pid, frozenset(wanted), problems)
            else:
                continue
            if made is not None:
                hierarchies.append(made)
        # v2 first: it offers the kill; v1 fills in controllers v2 lacks (hybrid machines).
        hierarchies.sort(key=lambda h: -h.version)
        used: list[Hierarchy] = []
        covered: set[str] = set()
        for h in hierarchies:
            if h.can_kill and not any(u.can_kill for u in used) or h.controllers - covered:
                used.append(h)
                covered |= h.controllers
            else:
                _remove_tree(h.root)
        return cls(used, problems)

    def create(self, name: str, memory_bytes: int, max_pids: int) -> WorkerGroup:
        """A group for one worker with its limits set; OSError if the kernel refuses."""
        group = WorkerGroup(self)
        try:
            for h in self.hierarchies:
                path = h.root / name
                path.mkdir()
                group.members.append((h, path))
                if h is self.memory and memory_bytes > 0:
                    _set_memory(h, path, memory_bytes)
                if h is self.pids and max_pids > 0:
                    _write(path / "pids.max", str(max_pids))
        except OSError:
            group.remove()
            raise
        return group

    def close(self) -> None:
        for h in self.hierarchies:
            _remove_tree(h.root)


def _make_v2(own: Path, pid: int, problems: list[str]) -> Hierarchy | None:
    if not (own / "cgroup.procs").exists():
        return None
    _clean_stale(own)
    controllers = _delegate_v2(own, problems)
    root = own / f"o16n-{pid}"
    try:
        root.mkdir(exist_ok=True)
        if controllers:
            _write(root / "cgroup.subtree_control", " ".join(f"+{c}" for c in controllers))
    except OSError as exc:
        problems.append(f"cgroup v2: cannot create {root.name} in the server's cgroup ({exc.strerror})")
        return None
    return Hierarchy(2, root, frozenset(controllers), (root / "cgroup.kill").exists())


def _delegate_v2(own: Path, problems: list[str]) -> list[str]:
    """The v2 controllers this server may hand to its workers' groups (enabled below `own`)."""
    try:
        available = set((own / "cgroup.controllers").read_text().split())
    except OSError:
        return []
    wanted = [c for c in CONTROLLERS if c in available]
    if not wanted:
        return []
    enabled = set((own / "cgroup.subtree_control").read_text().split())
    if set(wanted) <= enabled:
        return wanted
    try:
        _write(own / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            problems.append(f"cgroup v2: cannot enable {', '.join(wanted)} for workers ({exc.strerror})")
            return []
        # A cgroup with processes cannot hand controllers down ("no internal processes"): move
        # this server into a leaf of its own cgroup (as a systemd unit with Delegate=yes would).
        leaf = own / f"o16n-server-{os.getpid()}"
        try:
            leaf.mkdir(exist_ok=True)
            _write(leaf / "cgroup.procs", str(os.getpid()))
            _write(own / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        except OSError as again:
            problems.append(f"cgroup v2: {', '.join(wanted)} not delegated to this server ({again.strerror})")
            return []
    return wanted


def _make_v1(own: Path, pid: int, controllers: frozenset[str], problems: list[str]) -> Hierarchy | None:
    _clean_stale(own)
    root = own / f"o16n-{pid}"
    try:
        root.mkdir(exist_ok=True)
    except OSError as exc:
        problems.append(f"cgroup v1 {'+'.join(sorted(controllers))}: cannot create a group ({exc.strerror})")
        return None
    return Hierarchy(1, root, controllers, False)


def _set_memory(h: Hierarchy, path: Path, limit: int) -> None:
    # The swap files exist only where the kernel accounts swap (a missing one cannot be created).
    if h.version == 2:
        _write(path / "memory.max", str(limit))
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")  # the limit is on memory, not memory + swap
    else:
        _write(path / "memory.limit_in_bytes", str(limit))
        if (path / "memory.memsw.limit_in_bytes").exists():
            _write(path / "memory.memsw.limit_in_bytes", str(limit))


def _clean_stale(own: Path) -> None:
    """Groups left by servers that died without cleaning up: kill what is in them, remove them."""
    try:
        entries = [p for p in own.iterdir() if p.is_dir() and p.name.startswith("o16n-")]
    except OSError:
        return
    for entry in entries:
        pid = entry.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove_tree(entry, kill=True)


def _remove_tree(root: Path, kill: bool = False) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda w: -len(w[0])):  # leaves first
        if kill:
            _kill_listed(Path(dirpath))
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _listed(path: Path) -> list[int]:
    try:
        return [int(line) for line in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill_listed(path: Path) -> None:
    for _ in range(100):  # new processes may appear while we kill: look again
        pids = _listed(path)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class WorkerGroup:
    """One worker's groups: one per hierarchy in use."""

    cgroups: Cgroups
    members: list[tuple[Hierarchy, Path]] = field(default_factory=list)

    @property
    def procs_files(self) -> list[Path]:
        """Where a process writes its pid to join (every hierarchy)."""
        return [path / "cgroup.procs" for _h, path in self.members]

    def kill(self) -> None:
        """SIGKILL every process in the group: cgroup.kill in v2, else each listed pid in turn."""
        for h, path in self.members:
            if h.can_kill:
                with contextlib.suppress(OSError):
                    _write(path / "cgroup.kill", "1")
                return
        for _h, path in self.members:
            _kill_listed(path)

    def empty(self) -> bool:
        return not any(_listed(path) for _h, path in self.members)

    def oom_kills(self) -> int:
        """How often the kernel killed a process of this tree for going over the memory limit."""
        for h, path in self.members:
            if h is not self.cgroups.memory:
                continue
            name = "memory.events" if h.version == 2 else "memory.oom_control"
            try:
                for line in (path / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
            except (OSError, ValueError):
                pass
        return 0

    def remove(self) -> bool:
        """Remove the groups; False while some process is still in one (try again later)."""
        for member in list(self.members):
            try:
                member[1].rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                continue
            self.members.remove(member)
        return not self.members
