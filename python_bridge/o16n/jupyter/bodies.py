"""The relay's request bodies, parsed into typed requests with the wire vocabulary's rules.

Each refusal is a RelayError(400) naming the field of the body the lab sent (`inputs.2` for one
row). Names and versions follow `o16n.wire.names` and types `o16n.wire.types`, exactly as the
o16n server checks them, so a publish job does not fail late on something the form could say now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from o16n.wire.errors import InputError, WireError
from o16n.wire.names import check_name
from o16n.wire.types import Parameter, canonical_type
from o16n.wire.values import check_inputs

from .errors import RelayError

KINDS = ("script", "realtime")
_PYTHON = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
_REQUIREMENT = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?\s*([<>=!~]=?[^;]*)?(;.*)?$")


class Body:
    """Read the members of a JSON object body, each refusal naming its key."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise RelayError(400, "the body must be a JSON object", "body")
        self.raw = raw

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                raise RelayError(400, f"'{key}' is required", key)
            return None
        if not isinstance(value, str):
            raise RelayError(400, f"'{key}' must be a string", key)
        return value

    def names(self, key: str) -> list[str]:
        value = self.raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RelayError(400, f"'{key}' must be a list of non-empty strings", key)
        return list(dict.fromkeys(value))

    def identifiers(self, key: str) -> list[str]:
        value = self.names(key)
        bad = [v for v in value if not v.isidentifier()]
        if bad:
            raise RelayError(400, f"{key} must be Python identifiers: {', '.join(bad)}", key)
        return value

    def params(self, key: str) -> list[dict[str, str]] | None:
        """`[{name, type}]` rows (types in any spelling, given back as wire names); None when absent."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise RelayError(400, f"'{key}' must be a list of {{name, type}}", key)
        out = []
        for index, item in enumerate(value):
            row = f"{key}.{index}"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].isidentifier():
                raise RelayError(400, f"{key} row {index + 1} needs a 'name' that is a Python identifier", row)
            try:
                out.append({"name": item["name"], "type": canonical_type(str(item.get("type") or ""))})
            except WireError as exc:
                raise RelayError(400, f"{key} {item['name']}: {exc.message}", row) from None
        return out

    def service_name(self, key: str, required: bool = False) -> str | None:
        value = self.text(key, required)
        if value is not None:
            try:
                check_name(value, key)
            except WireError as exc:
                raise RelayError(400, exc.message, key) from None
        return value

    def environment(self, key: str = "environment") -> dict[str, Any] | None:
        """``{python, packages: [requirement]}`` (Seam A's spec) or None (the server's own)."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise RelayError(400, f"'{key}' must be {{python, packages}} or null", key)
        python = value.get("python")
        if not isinstance(python, str) or not _PYTHON.match(python.strip()):
            raise RelayError(400, f"{key}: 'python' must be a version X.Y or X.Y.Z", key)
        packages = value.get("packages") if value.get("packages") is not None else []
        if not isinstance(packages, list) or not all(isinstance(p, str) and p.strip() for p in packages):
            raise RelayError(400, f"{key}: 'packages' must be a list of requirement strings (name==version)", key)
        bad = [p for p in packages if not _REQUIREMENT.match(p)]
        if bad:
            raise RelayError(400, f"{key}: not a requirement: {', '.join(bad)}", key)
        return {"python": python.strip(), "packages": list(dict.fromkeys(p.strip() for p in packages))}

    def identifier(self, key: str, required: bool = False) -> str | None:
        value = self.text(key, required)
        if value is not None and not value.isidentifier():
            raise RelayError(400, f"'{key}' must be the name of a kernel object (a Python identifier)", key)
        return value

    def code_or_function(self) -> tuple[str | None, str | None]:
        code, function = self.text("code"), self.text("functionName")
        if (code is None) == (function is None):
            raise RelayError(400, "give either 'code' or 'functionName' (one of them)", "code")
        if function is not None and not function.isidentifier():
            raise RelayError(400, "'functionName' must be a Python identifier", "functionName")
        return code, function


@dataclass
class PublishRequest:
    """The validated body of ``POST /o16n/publish``."""

    kernel_id: str
    name: str
    version: str | None
    description: str | None
    code: str | None
    function_name: str | None
    inputs: list[dict[str, str]] | None
    outputs: list[dict[str, str]] | None
    objects: list[str]
    files: list[str]
    init_code: str | None
    output_file_names: list[str]
    operation_id: str | None
    notebook: str | None
    kind: str = "script"
    model: str | None = None  # realtime: the kernel object to convert
    sample: str | None = None  # realtime: the kernel object giving the input schema
    environment: dict[str, Any] | None = None  # script: Seam A's spec; None: the server's own

    @classmethod
    def parse(cls, raw: Any) -> PublishRequest:
        body = Body(raw)
        if "variables" in body.raw:  # renamed in this version: say so rather than publish without them
            raise RelayError(400, "'variables' is now called 'objects'", "variables")
        kernel_id = body.text("kernelId", required=True) or ""
        name = body.service_name("name", required=True) or ""
        version = body.service_name("version")
        kind = body.text("kind") or "script"
        if kind not in KINDS:
            raise RelayError(400, "'kind' must be 'script' or 'realtime'", "kind")
        operation = body.text("operationId")
        if operation is not None and not operation.isidentifier():
            raise RelayError(400, "'operationId' must be an identifier (letters, digits, '_')", "operationId")
        if kind == "realtime":
            for key in ("code", "functionName", "inputs", "outputs", "initCode"):
                if body.raw.get(key) not in (None, "", []):
                    raise RelayError(400, f"a realtime service is its model alone: no '{key}'", key)
            for key in ("objects", "files", "outputFileNames"):
                if body.raw.get(key):
                    raise RelayError(400, f"a realtime service is its model alone: no '{key}'", key)
            if body.raw.get("environment") is not None:
                raise RelayError(400, "a realtime service has no environment: its model is scored natively",
                                 "environment")
            return cls(kernel_id=kernel_id, name=name, version=version, description=body.text("description"),
                       code=None, function_name=None, inputs=None, outputs=None, objects=[], files=[],
                       init_code=None, output_file_names=[], operation_id=operation,
                       notebook=body.text("notebook"), kind=kind, model=body.identifier("model", required=True),
                       sample=body.identifier("sample"))
        code, function = body.code_or_function()
        return cls(
            kernel_id=kernel_id, name=name, version=version, description=body.text("description"), code=code,
            function_name=function, inputs=body.params("inputs"), outputs=body.params("outputs"),
            objects=body.identifiers("objects"), files=body.names("files"), init_code=body.text("initCode"),
            output_file_names=body.names("outputFileNames"), operation_id=operation, notebook=body.text("notebook"),
            environment=body.environment(),
        )

    def to_json(self) -> dict[str, Any]:
        """The request as the lab sent it (normalized), kept with its job."""
        return {
            "kernelId": self.kernel_id, "name": self.name, "version": self.version, "description": self.description,
            "code": self.code, "functionName": self.function_name,
            "inputs": self.inputs, "outputs": self.outputs,
            "objects": self.objects, "files": self.files, "initCode": self.init_code,
            "outputFileNames": self.output_file_names, "operationId": self.operation_id, "notebook": self.notebook,
            "kind": self.kind, "model": self.model, "sample": self.sample, "environment": self.environment,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublishRequest:
        return cls.parse({k: v for k, v in data.items() if v is not None})


@dataclass
class AnalyzeRequest:
    """``POST /o16n/kernels/{id}/analyze``: ``{code}`` or ``{functionName}``, optional ``objects``."""

    code: str | None
    function_name: str | None
    objects: list[str] | None

    @classmethod
    def parse(cls, raw: Any) -> AnalyzeRequest:
        body = Body(raw)
        code, function = body.code_or_function()
        objects = body.identifiers("objects") if body.raw.get("objects") is not None else None
        return cls(code, function, objects)

    def to_kernel(self) -> dict[str, Any]:
        return {"command": "analyze", "code": self.code, "functionName": self.function_name, "objects": self.objects,
                "wire": True}


@dataclass
class KernelTestRequest:
    """``POST /o16n/kernels/{id}/test``.

    ``inputs`` is ``{name: value}``, or rows ``[{name, type, value}]``: with types the values are
    checked and converted exactly as the o16n server and its workers do (a data.frame arrives as a
    pandas.DataFrame); without them they are bound as the JSON values they are.
    """

    code: str | None
    function_name: str | None
    init_code: str | None
    inputs: dict[str, Any]
    input_types: dict[str, str]
    outputs: list[dict[str, str]]

    @classmethod
    def parse(cls, raw: Any) -> KernelTestRequest:
        body = Body(raw)
        code, function = body.code_or_function()
        values = body.raw.get("inputs", {})
        inputs: dict[str, Any]
        types: dict[str, str] = {}
        if isinstance(values, dict):
            bad = [k for k in values if not isinstance(k, str) or not k.isidentifier()]
            if bad:
                raise RelayError(400, f"input names must be Python identifiers: {', '.join(map(str, bad))}", "inputs")
            inputs = dict(values)
        elif isinstance(values, list):
            declared = [Parameter(p["name"], p["type"]) for p in body.params("inputs") or []]
            supplied = {row["name"]: row.get("value") for row in values}
            try:
                inputs = check_inputs(declared, supplied)
            except InputError as exc:
                index = next((i for i, p in enumerate(declared) if p.name == exc.field), None)
                raise RelayError(400, exc.message, "inputs" if index is None else f"inputs.{index}") from None
            types = {p.name: p.type for p in declared}
        else:
            raise RelayError(400, "'inputs' must be an object {name: value} or a list of {name, type, value}", "inputs")
        return cls(code, function, body.text("initCode"), inputs, types, body.params("outputs") or [])

    def to_kernel(self) -> dict[str, Any]:
        return {"command": "test", "code": self.code, "functionName": self.function_name, "initCode": self.init_code,
                "inputs": self.inputs, "inputTypes": self.input_types,
                "outputs": self.outputs, "wire": True}
