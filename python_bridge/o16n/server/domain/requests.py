"""Typed requests of the domain, parsed from the 9.1 JSON bodies. A field that does not fit is a
BadRequest naming it; nothing here touches the database, a worker or user code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...wire import names
from ...wire.errors import WireError
from ...wire.types import Parameter, parse_definitions
from ..environments.spec import EnvironmentSpec
from ..errors import BadRequest
from ..http import Fields

MAX_POOL_SIZE = 64


def check_name(value: str, field_name: str) -> str:
    """A service name or version (the wire's one name rule), or a 400 naming the field."""
    try:
        return names.check_name(value, field_name)
    except WireError as exc:
        raise BadRequest(exc.message, field=field_name) from None


def check_code(source: str, field_name: str) -> None:
    """Compile (never run) the code so a syntax error is a 400 at publish time, not at consume."""
    try:
        compile(source, f"<{field_name}>", "exec")
    except SyntaxError as exc:
        raise BadRequest(f"'{field_name}' has a syntax error on line {exc.lineno}: {exc.msg}", field=field_name) from None
    except ValueError as exc:
        raise BadRequest(f"'{field_name}' cannot be compiled: {exc}", field=field_name) from None


def check_file_name(name: str, field_name: str) -> str:
    """A plain file name: no separators, no `..`, no control characters, at most 255 characters."""
    if not name or name in (".", "..") or len(name) > 255 or "/" in name or "\\" in name \
            or any(ord(c) < 32 for c in name):
        raise BadRequest(f"'{field_name}' must hold plain file names without path separators", field=field_name)
    return name


@dataclass(frozen=True)
class ServiceDefinition:
    """What a publish (all of it) or a patch (only `given`) says about a service version."""

    code: str | None = None
    init_code: str | None = None
    description: str | None = None
    operation_id: str | None = None
    inputs: tuple[Parameter, ...] = ()
    outputs: tuple[Parameter, ...] = ()
    output_file_names: tuple[str, ...] = ()
    snapshot_id: str | None = None
    environment: EnvironmentSpec | None = None  # o16n extension; None: the server's own environment
    given: frozenset[str] = field(default_factory=frozenset)  # the fields the body carried

    @classmethod
    def parse(cls, body: Fields, *, partial: bool) -> ServiceDefinition:
        runtime = body.text("runtimeType")
        if runtime is not None and runtime.lower() != "python":
            raise BadRequest(f"runtimeType '{runtime}' is not available: this server publishes Python services",
                             field="runtimeType")
        values: dict[str, Any] = {}
        code = body.text("code", required=not partial)
        if code is not None:
            if not code.strip():
                raise BadRequest("'code' must not be empty", field="code")
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
                raise BadRequest("'operationId' must be an identifier (letters, digits, '_')", field="operationId")
            values["operation_id"] = operation or None
        for wire_name, attribute in (("inputParameterDefinitions", "inputs"), ("outputParameterDefinitions", "outputs")):
            if wire_name in body or not partial:
                try:
                    values[attribute] = tuple(parse_definitions(body.get(wire_name), wire_name))
                except WireError as exc:
                    raise BadRequest(exc.message, field=exc.field) from None
        if "outputFileNames" in body or not partial:
            values["output_file_names"] = tuple(check_file_name(n, "outputFileNames")
                                                for n in body.strings("outputFileNames") or [])
        snapshot_id = body.text("snapshotId")
        if snapshot_id:
            values["snapshot_id"] = snapshot_id
        if "environment" in body:
            values["environment"] = EnvironmentSpec.parse(body.get("environment"))
        return cls(**values, given=frozenset(values))


@dataclass(frozen=True)
class PoolSizes:
    """ML Server 9.3's dedicated pool of a service version."""

    initial: int
    maximum: int

    @classmethod
    def parse(cls, body: Fields) -> PoolSizes:
        initial = _pool_size(body, "InitialPoolSize", 0)
        maximum = _pool_size(body, "MaxPoolSize", max(initial, 1))
        if maximum < max(initial, 1):
            raise BadRequest("'MaxPoolSize' must be at least 1 and at least 'InitialPoolSize'", field="MaxPoolSize")
        return cls(initial, maximum)


def _pool_size(body: Fields, name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POOL_SIZE:
        raise BadRequest(f"'{name}' must be an integer between 0 and {MAX_POOL_SIZE}", field=name)
    return value


@dataclass(frozen=True)
class ExecuteRequest:
    """`POST /sessions/{id}/execute`: code, named input values, names of outputs to read back."""

    code: str
    inputs: dict[str, Any]
    outputs: list[str]

    @classmethod
    def parse(cls, body: Fields) -> ExecuteRequest:
        code = body.text("code", required=True) or ""
        inputs: dict[str, Any] = {}
        raw_inputs = body.get("inputParameters") or []
        if not isinstance(raw_inputs, list):
            raise BadRequest("'inputParameters' must be an array of {name, value}", field="inputParameters")
        for index, raw in enumerate(raw_inputs):
            item = Fields(raw, f"inputParameters[{index}]")
            name = item.text("name", required=True) or ""
            if not name.isidentifier():
                raise BadRequest(f"inputParameters[{index}].name must be a Python identifier", field="inputParameters")
            inputs[name] = item.get("value")
        outputs = body.strings("outputParameters") or []
        for name in outputs:
            if not name.isidentifier():
                raise BadRequest("'outputParameters' must hold Python identifiers", field="outputParameters")
        return cls(code, inputs, outputs)


def object_name(value: str) -> str:
    """A workspace object's name (a Python identifier), or a 400 naming `objectName`."""
    if not value.isidentifier():
        raise BadRequest("objectName must be a Python identifier", field="objectName")
    return value
