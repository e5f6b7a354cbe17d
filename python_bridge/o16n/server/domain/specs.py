"""What the runtime needs to know about one service version, built by the catalog from its row.

The domain owns this type; the runtime (pools, workers) imports it, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...wire.types import Parameter

if TYPE_CHECKING:
    from .models import ModelRef


@dataclass(frozen=True)
class EnvironmentRef:
    """A built environment on this node, as the runtime starts workers from it (docs/environments.md)."""

    key: str
    path: str  # the environment's directory (bin/python inside); bound read-only at /o16n/env in the sandbox
    lib: str  # the worker's own modules, put on PYTHONPATH (/o16n/lib in the sandbox)
    base_dirs: tuple[str, ...] = ()  # the base interpreter's prefix, bound read-only where it is hidden


@dataclass(frozen=True)
class ServiceSpec:
    """What a worker needs to serve one service version (no database objects on the hot path)."""

    key: str  # digest of everything a worker loads: a new key means new workers
    name: str
    version: str
    code: str
    init_code: str | None
    inputs: tuple[Parameter, ...]  # in declared order: validation and swagger use it
    outputs: dict[str, str]
    output_files: tuple[str, ...]
    snapshot_path: str | None
    initial_size: int = 0
    max_size: int | None = None
    operation_id: str | None = None
    description: str | None = None
    environment: EnvironmentRef | None = None  # None: the server's own interpreter
    model: ModelRef | None = None  # a realtime service's ONNX model (then code is ""): workers score it

    @property
    def input_types(self) -> dict[str, str]:
        return {p.name: p.type for p in self.inputs}
