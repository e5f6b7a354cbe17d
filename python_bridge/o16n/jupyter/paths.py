"""Confine a file path from a request to Jupyter's root directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .errors import RelayError


def confine(root_dir: str, relative: str, allow_hidden: bool = False) -> Path:
    """The real path of ``relative`` inside ``root_dir``; 400 naming 'files' when it is not.

    Refused: absolute paths, ``..``, backslashes, NUL, hidden parts (unless Jupyter allows hidden
    files), anything whose real path (symlinks resolved) leaves the root, and non-regular files.
    """
    def bad(why: str) -> RelayError:
        return RelayError(400, f"file {relative!r}: {why}", "files")

    if not isinstance(relative, str) or not relative or "\x00" in relative or "\\" in relative:
        raise bad("not a usable path")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or relative.startswith("~"):
        raise bad("must be relative to the Jupyter root directory")
    if any(part == ".." for part in pure.parts):
        raise bad("must not contain '..'")
    if not allow_hidden and any(part.startswith(".") and part != "." for part in pure.parts):
        raise bad("hidden files are not served by this Jupyter server")
    root = os.path.realpath(root_dir)
    real = os.path.realpath(os.path.join(root, *pure.parts))
    if os.path.commonpath([root, real]) != root:  # also catches a sibling like /root-other
        raise bad("is outside the Jupyter root directory")
    if not os.path.isfile(real):
        raise bad("no such file")
    return Path(real)
