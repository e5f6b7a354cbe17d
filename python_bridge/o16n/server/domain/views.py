"""What the domain answers with: typed views that the routes render as the 9.1 JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..store.models import Service, SessionRecord, Snapshot
from .access import Caller


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ServiceView:
    """One service version as a caller may see it (code only for its publisher and Owners)."""

    service: Service
    publisher: str
    caller: Caller
    environment: dict[str, Any] | None = None  # {key, python, packages} (o16n extension); None: the server's own
    model: dict[str, Any] | None = None  # a realtime service's model: inputs, outputs, sizeBytes (o16n extension)

    @classmethod
    def of(cls, service: Service, publisher: str, caller: Caller, environment: dict[str, Any] | None = None) -> ServiceView:
        return cls(service, publisher, caller, environment)

    def to_json(self) -> dict[str, Any]:
        service, caller = self.service, self.caller
        shows_code = caller.sees_code_of(service.publisher_id)
        return {
            "name": service.name,
            "version": service.version,
            "versionPublishedBy": self.publisher,
            "creationTime": iso(service.created_at),
            # Declared strings are never null on the wire: validating clients refuse null.
            "snapshotId": service.snapshot_id or "",
            "runtimeType": service.runtime_type,
            "initCode": (service.init_code or "") if shows_code else "",
            "code": service.code if shows_code else "",
            "description": service.description or "",
            "operationId": service.operation_id or "",
            "inputParameterDefinitions": service.inputs,
            "outputParameterDefinitions": service.outputs,
            "outputFileNames": service.output_file_names,
            "myPermissionOnService": "read/write" if caller.may_manage(service.publisher_id) else "read only",
            "environment": self.environment,
            **({"model": self.model} if self.model is not None else {}),
        }


@dataclass(frozen=True)
class PoolStatusView:
    """ML Server 9.3's pool status of a service version on this node."""

    status: str  # Success | Pending | NotFound


@dataclass(frozen=True)
class SessionView:
    record: SessionRecord
    owner: str

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {"id": r.id, "name": r.name or "", "owner": self.owner, "runtimeType": r.runtime_type}


@dataclass(frozen=True)
class SnapshotView:
    snapshot: Snapshot
    owner: str

    def to_json(self) -> dict[str, Any]:
        s = self.snapshot
        return {"id": s.id, "name": s.name or "", "owner": self.owner, "creationTime": iso(s.created_at),
                "contentSize": s.content_size}


@dataclass(frozen=True)
class ExecuteView:
    """The answer of a session execute."""

    success: bool
    error_message: str
    console_output: str
    outputs: dict[str, Any]
    changed_files: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "errorMessage": self.error_message,
            "outputParameters": [{"name": n, "value": v} for n, v in self.outputs.items()],
            "consoleOutput": self.console_output,
            "changedFiles": self.changed_files,
        }


@dataclass(frozen=True)
class BatchStatusView:
    state: str
    completed: int
    total: int
    results: list[dict[str, Any] | None]  # index-aligned with the submitted items; None: not finished

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "completedItemCount": self.completed, "totalItemCount": self.total,
                "batchExecutionResults": self.results}
