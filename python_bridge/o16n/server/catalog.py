"""Service definitions: validation of publish requests, JSON views, and the consume-path cache."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ..wire import names
from ..wire.errors import InputError, WireError
from ..wire.types import Parameter, parse_definitions
from .auth import Caller
from .domain.specs import ServiceSpec
from .errors import bad_request
from .http import Fields
from .paths import confined_path
from .store.models import Service, User


def check_name(value: str, field: str) -> str:
    try:
        return names.check_name(value, field)
    except WireError as exc:
        raise bad_request(exc.message, field) from None


def check_code(source: str, field: str) -> None:
    """Compile (never run) the code so a syntax error is a 400 at publish time, not at consume."""
    try:
        compile(source, f"<{field}>", "exec")
    except SyntaxError as exc:
        raise bad_request(f"'{field}' has a syntax error on line {exc.lineno}: {exc.msg}", field) from None
    except ValueError as exc:
        raise bad_request(f"'{field}' cannot be compiled: {exc}", field) from None


def parse_publish(body: Fields, *, partial: bool) -> dict[str, Any]:
    """Validated column values from a PublishWebServiceRequest; only the fields sent when partial."""
    values: dict[str, Any] = {}
    runtime = body.text("runtimeType")
    if runtime is not None and runtime.lower() != "python":
        raise bad_request(f"runtimeType '{runtime}' is not available: this server publishes Python services", "runtimeType")
    code = body.text("code", required=not partial)
    if code is not None:
        if not code.strip():
            raise bad_request("'code' must not be empty", "code")
        check_code(code, "code")
        values["code"] = code
    if "initCode" in body:
        init = body.text("initCode")
        if init:
            check_code(init, "initCode")
        values["init_code"] = init or None
    if "description" in body:
        values["description"] = body.text("description")
    if "operationId" in body:
        operation = body.text("operationId")
        if operation and not operation.isidentifier():
            raise bad_request("'operationId' must be an identifier (letters, digits, '_')", "operationId")
        values["operation_id"] = operation or None
    for field, column in (("inputParameterDefinitions", "inputs"), ("outputParameterDefinitions", "outputs")):
        if field in body or not partial:
            try:
                values[column] = [p.to_json() for p in parse_definitions(body.get(field), field)]
            except InputError as exc:
                raise bad_request(str(exc), exc.field) from None
    if "outputFileNames" in body or not partial:
        names = body.strings("outputFileNames") or []
        for name in names:
            confined_path(Path("/"), name, "outputFileNames")
        values["output_file_names"] = names
    return values


def permission(service: Service, caller: Caller) -> str:
    return "read/write" if may_manage(service, caller) else "read only"


def may_manage(service: Service, caller: Caller) -> bool:
    if caller.is_owner:
        return True
    return caller.role == "Contributor" and service.publisher_id == caller.user_id


def service_json(service: Service, publisher: str, caller: Caller) -> dict[str, Any]:
    shows_code = caller.is_owner or service.publisher_id == caller.user_id
    return {
        "name": service.name,
        "version": service.version,
        "versionPublishedBy": publisher,
        "creationTime": service.created_at.isoformat(timespec="microseconds"),
        "snapshotId": service.snapshot_id,
        "runtimeType": service.runtime_type,
        "initCode": service.init_code if shows_code else None,
        "code": service.code if shows_code else None,
        "description": service.description,
        "operationId": service.operation_id,
        "inputParameterDefinitions": service.inputs,
        "outputParameterDefinitions": service.outputs,
        "outputFileNames": service.output_file_names,
        "myPermissionOnService": permission(service, caller),
    }


def with_publishers(db: Session, query: Select) -> list[tuple[Service, str]]:
    """Run a `select(Service)` query and pair each service with its publisher's user name."""
    rows = db.execute(query.add_columns(User.username).join(User, User.id == Service.publisher_id)).all()
    return [(row[0], row[1]) for row in rows]


class SpecCache:
    """Service definitions for the consume path, kept a few seconds so consume skips the database.

    A PATCH or DELETE on this node forgets the entry at once; other nodes see it within `ttl` s.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[tuple[str, str], tuple[float, ServiceSpec | None]] = {}

    def get(self, name: str, version: str) -> ServiceSpec | None | bool:
        """The cached spec, None if known missing, False if not cached."""
        hit = self.entries.get((name, version))
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return False

    def put(self, name: str, version: str, spec: ServiceSpec | None) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[(name, version)] = (time.monotonic(), spec)

    def forget(self, name: str, version: str) -> None:
        self.entries.pop((name, version), None)


def spec_of(service: Service, snapshot_path: str | None) -> ServiceSpec:
    loaded = [service.id, service.code, service.init_code, service.blob, service.inputs, service.outputs,
              service.output_file_names]
    return ServiceSpec(
        key=hashlib.sha256(json.dumps(loaded).encode()).hexdigest(),
        name=service.name,
        version=service.version,
        code=service.code,
        init_code=service.init_code,
        inputs=tuple(Parameter(p["name"], p["type"]) for p in service.inputs),
        outputs={p["name"]: p["type"] for p in service.outputs},
        output_files=tuple(service.output_file_names),
        snapshot_path=snapshot_path,
        initial_size=service.pool_initial_size or 0,
        max_size=service.pool_max_size,
        operation_id=service.operation_id,
        description=service.description,
    )
