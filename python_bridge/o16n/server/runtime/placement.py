"""Where a worker lives on disk: `DATA_DIR/workers/<name>/{work,tmp}`.

`work` is the working directory (the user's files, what a snapshot captures); a sandboxed worker
sees it as /o16n/work and nothing else of the data dir. `tmp` is the scratch dir of a worker
without the namespace sandbox (a sandboxed one has a private /tmp). Files cross between server
and worker as descriptors (files.py), so no exchange directory is needed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Placement:
    root: Path
    owner: int | None  # the worker's uid when it has one of its own

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def scratch(self) -> Path:
        return self.root / "tmp"

    @classmethod
    def create(cls, data_dir: Path, name: str, owner: int | None) -> Placement:
        parent = data_dir / "workers"
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        placement = cls(parent / name, owner)
        placement.root.mkdir(mode=0o700)
        for path in (placement.workdir, placement.scratch):
            path.mkdir(mode=0o700)
            if owner is not None:
                os.chown(path, owner, owner)
        return placement

    def open_workdir(self) -> int:
        """A descriptor of the working dir, for WorkerDir (taken before any user code ran)."""
        return os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
