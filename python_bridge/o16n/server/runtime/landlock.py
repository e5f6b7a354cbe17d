"""The fallback sandbox: keep user code out of the server's files with Linux Landlock.

Used only where the namespace sandbox (sandbox.py) cannot be set up and worker_sandbox=auto. The
worker then runs as the server's own OS user, so without this its user code could read the token
signing key, the database and every user's snapshots. Before running any user code the worker
restricts itself, irreversibly: it may read and run everything on the machine except the server's
data dir, and write only in its own directories (plus /dev/shm and the devices every program
needs). Landlock cannot say "all but X", so the rules grant every sibling of each directory on the
way from / down to the data dir.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on x86_64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# ABI 1 knows 13 rights, ABI 2 adds REFER, ABI 3 TRUNCATE, ABI 5 IOCTL_DEV.
_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # rights a file rule may hold
READ = EXECUTE | READ_FILE | READ_DIR


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # the kernel's struct landlock_path_beneath_attr is packed
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    try:
        version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def readable_roots(private: Path) -> list[Path]:
    """Every path beside the way from / to `private`: together they are all but `private`."""
    roots: list[Path] = []
    current = Path("/")
    for part in private.resolve().parts[1:]:
        with os.scandir(current) as entries:
            # A symlink is skipped: a rule would follow it, and it may point back into `private`
            # (its target, wherever it is, gets its own rule as somebody's sibling).
            roots.extend(Path(e.path) for e in entries if e.name != part and not e.is_symlink())
        current = current / part
    return roots


def restrict(private: Path, writable: list[Path], readable: list[Path] | None = None) -> None:
    """Forbid this process (and its children) to touch `private` except `writable` (and to read
    `readable`); raise OSError if it can't."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    handled = _RIGHTS_BY_ABI.get(abi, _RIGHTS_BY_ABI[4] | (1 << 15))
    libc = _libc()
    handled_attr = ctypes.c_uint64(handled)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(handled_attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for root in readable_roots(private):
            _allow(libc, ruleset, root, READ & handled)
        for device_dir in ("/dev", "/proc"):
            _allow(libc, ruleset, Path(device_dir), (READ | WRITE_FILE | (1 << 15)) & handled)
        for path in [*writable, Path("/dev/shm")]:
            _allow(libc, ruleset, path, handled)
        for path in readable or []:
            _allow(libc, ruleset, path, READ & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, ruleset: int, path: Path, access: int) -> None:
    if path.is_symlink():
        return  # see readable_roots
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return  # vanished or unreadable: nothing to grant
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            access &= _FILE_RIGHTS
        rule = _PathBeneath(access, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
