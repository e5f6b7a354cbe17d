"""Confine user-supplied file names to one directory (sessions' working dirs, batch results)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BadRequest


def confined_path(root: Path, name: str, field: str = "fileName") -> Path:
    """The path of `name` directly inside `root`, or a 400 naming the field.

    Only plain names are allowed: no separators, no `..`, no NUL or control characters; the
    resolved result must still be inside `root` (a symlink planted in the dir cannot lead out).
    """
    if not name or name in (".", "..") or len(name) > 255:
        raise BadRequest(f"'{field}' must be a plain file name", field=field)
    if "/" in name or "\\" in name or any(ord(c) < 32 for c in name):
        raise BadRequest(f"'{field}' must be a plain file name without path separators", field=field)
    root = root.resolve()
    path = root / name
    if os.path.commonpath([root, path.resolve()]) != str(root):
        raise BadRequest(f"'{field}' points outside its directory", field=field)
    return path


def open_confined(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open that refuses to follow a symlink at the last step."""
    return os.open(path, flags | os.O_NOFOLLOW, mode)
