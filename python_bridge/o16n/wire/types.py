"""Parameter types of web services: the wire names and their aliases.

The wire names are R Server's (`numeric`, `data.frame`, ...). Python users may also write the
Python spellings (`float`, `dataframe`, ...); they are stored as the wire name so that every
client sees one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InputError, ParameterTypeError

WIRE_TYPES = ("logical", "numeric", "integer", "character", "vector", "matrix", "data.frame")

_ALIASES = {
    "bool": "logical",
    "boolean": "logical",
    "float": "numeric",
    "double": "numeric",
    "number": "numeric",
    "int": "integer",
    "str": "character",
    "string": "character",
    "list": "vector",
    "array": "vector",
    "numpy.array": "vector",
    "numpy.ndarray": "vector",
    "ndarray": "vector",
    "numpy.matrix": "matrix",
    "dataframe": "data.frame",
    "pandas.dataframe": "data.frame",
}


def canonical_type(declared: str) -> str:
    """Return the wire name for a declared type, accepting aliases case-insensitively."""
    key = str(declared).strip().lower()
    if key in WIRE_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    expected = ", ".join(WIRE_TYPES)
    raise ParameterTypeError("type", f"unknown type '{declared}'; expected one of {expected} (or bool, int, float, str, list, dataframe)")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


def parse_definitions(raw: Any, field: str) -> list[Parameter]:
    """Parse `inputParameterDefinitions`-style lists; raise InputError naming the field."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(field, f"'{field}' must be an array of {{name, type}} objects")
    params: list[Parameter] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InputError(field, f"'{field}[{index}]' must be an object with 'name' and 'type'")
        lowered = {str(k).lower(): v for k, v in item.items()}
        name, kind = lowered.get("name"), lowered.get("type")
        if not isinstance(name, str) or not name.isidentifier():
            raise InputError(field, f"'{field}[{index}].name' must be a Python identifier, got {name!r}")
        if name in seen:
            raise InputError(field, f"'{field}' declares '{name}' twice")
        seen.add(name)
        try:
            params.append(Parameter(name, canonical_type(kind if isinstance(kind, str) else "")))
        except ParameterTypeError as exc:
            raise InputError(field, f"'{field}[{index}].type': {exc}") from None
    return params
