"""Parameter types of web services: the wire names and every spelling accepted for them.

The wire names are R Server's (`numeric`, `data.frame`, ...). Python users may also write Python
spellings (`float`, `numpy.ndarray`, `pd.DataFrame`, ...); they are stored as the wire name so that
every client sees one vocabulary. The one table below serves the server (`canonical_type`), the
client (`lookup`, plus Python type objects in `o16n.client.encoding`), the relay and the lab (its
type list is generated from this module by `export.py`).

A spelling also carries a *flavour*: what the Python client decodes an output to (`list`,
`ndarray`, `frame`, or `scalar`). Only the client cares; the server ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InputError, ParameterTypeError

WIRE_TYPES = ("logical", "numeric", "integer", "character", "vector", "matrix", "data.frame")

# lower-case spelling -> (wire name, flavour). Every spelling the server or a client accepts.
SPELLINGS: dict[str, tuple[str, str]] = {
    "logical": ("logical", "scalar"), "bool": ("logical", "scalar"), "boolean": ("logical", "scalar"),
    "numeric": ("numeric", "scalar"), "float": ("numeric", "scalar"), "double": ("numeric", "scalar"),
    "number": ("numeric", "scalar"),
    "integer": ("integer", "scalar"), "int": ("integer", "scalar"),
    "character": ("character", "scalar"), "str": ("character", "scalar"), "string": ("character", "scalar"),
    "vector": ("vector", "list"), "list": ("vector", "list"), "tuple": ("vector", "list"),
    "array": ("vector", "ndarray"), "ndarray": ("vector", "ndarray"),
    "numpy.array": ("vector", "ndarray"), "numpy.ndarray": ("vector", "ndarray"),
    "np.array": ("vector", "ndarray"), "np.ndarray": ("vector", "ndarray"),
    "matrix": ("matrix", "list"), "numpy.matrix": ("matrix", "ndarray"), "np.matrix": ("matrix", "ndarray"),
    "data.frame": ("data.frame", "frame"), "dataframe": ("data.frame", "frame"),
    "pandas.dataframe": ("data.frame", "frame"), "pd.dataframe": ("data.frame", "frame"),
}

# The Python type a service's code receives for each wire type (what the lab shows next to it).
PYTHON_NAMES = {"logical": "bool", "numeric": "float", "integer": "int", "character": "str",
                "vector": "list", "matrix": "list", "data.frame": "pandas.DataFrame"}

_FLAVOUR_NAMES = {("vector", "ndarray"): "numpy.ndarray", ("matrix", "ndarray"): "numpy.ndarray"}

TYPE_RULE = (f"use one of {', '.join(WIRE_TYPES)} "
             "or a Python spelling (bool, int, float, str, list, numpy.ndarray, pandas.DataFrame)")


@dataclass(frozen=True)
class ParamType:
    """A declared parameter type: its wire name and the Python flavour outputs are decoded to."""

    wire: str
    flavour: str = "scalar"

    @property
    def python_name(self) -> str:
        return _FLAVOUR_NAMES.get((self.wire, self.flavour), PYTHON_NAMES.get(self.wire, self.wire))


def lookup(declared: str) -> ParamType:
    """The ParamType of a spelling (case-insensitive); ParameterTypeError naming the rule otherwise."""
    key = str(declared).strip().lower()
    if key in SPELLINGS:
        return ParamType(*SPELLINGS[key])
    raise ParameterTypeError("type", f"unknown parameter type '{declared}'; {TYPE_RULE}")


def canonical_type(declared: str) -> str:
    """The wire name for a declared type, accepting every spelling of the table."""
    return lookup(declared).wire


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
