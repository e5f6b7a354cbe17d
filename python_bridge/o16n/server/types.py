"""Parameter types of web services: the wire names, their aliases, and input validation.

The wire names are R Server's (`numeric`, `data.frame`, ...). Python users may also write the
Python spellings (`float`, `dataframe`, ...); they are stored as the wire name so that every
client sees one vocabulary. Validation here is pure JSON checking: no user code, no unpickling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class ParameterTypeError(ValueError):
    """A declared parameter type that is neither a wire name nor a known alias."""


def canonical_type(declared: str) -> str:
    """Return the wire name for a declared type, accepting aliases case-insensitively."""
    key = str(declared).strip().lower()
    if key in WIRE_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    expected = ", ".join(WIRE_TYPES)
    raise ParameterTypeError(f"unknown type '{declared}'; expected one of {expected} (or bool, int, float, str, list, dataframe)")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


class InputError(ValueError):
    """A consume input that does not match its declaration; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def check_value(param: Parameter, value: Any) -> Any:
    """Check one JSON value against its declared type; return it in the form the worker expects.

    Data frames are accepted column-wise (`{"col": [..]}`) or as a list of row objects; the
    worker always receives them column-wise.
    """
    kind = param.type
    name = param.name

    def fail(what: str) -> InputError:
        got = type(value).__name__ if value is not None else "null"
        return InputError(name, f"input '{name}' must be {what} (declared type '{kind}'), got {got}")

    if kind == "logical":
        if isinstance(value, bool):
            return value
        raise fail("true or false")
    if kind == "numeric":
        if _is_number(value):
            return value
        raise fail("a number")
    if kind == "integer":
        if _is_number(value) and float(value).is_integer():
            return int(value)
        raise fail("an integer")
    if kind == "character":
        if isinstance(value, str):
            return value
        raise fail("a string")
    if kind == "vector":
        if isinstance(value, list):
            return value
        raise fail("an array")
    if kind == "matrix":
        if isinstance(value, list) and all(isinstance(row, list) for row in value):
            if len({len(row) for row in value}) > 1:
                raise InputError(name, f"input '{name}' must be a matrix: every row needs the same length")
            return value
        raise fail("an array of arrays (rows)")
    if kind == "data.frame":
        return _check_frame(name, value, fail)
    raise InputError(name, f"input '{name}' has an unsupported declared type '{kind}'")


def is_rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, dict) for row in value)


def rows_to_columns(rows: list[dict]) -> dict[str, list]:
    """`[{"a": 1}, {"a": 2, "b": 3}]` -> `{"a": [1, 2], "b": [None, 3]}` (columns in first-seen order)."""
    columns: dict[str, list] = {}
    for row in rows:
        for column in row:
            columns.setdefault(column, [])
    for row in rows:
        for column, cells in columns.items():
            cells.append(row.get(column))
    return columns


def _check_frame(name: str, value: Any, fail) -> dict[str, list]:
    if is_rows(value):
        value = rows_to_columns(value)
    if not isinstance(value, dict):
        raise fail('an object of columns ({"col": [..]}) or a list of row objects')
    lengths = set()
    for column, cells in value.items():
        if not isinstance(cells, list):
            cells = [cells]
            value[column] = cells
        if not all(_is_scalar(cell) for cell in cells):
            raise InputError(name, f"input '{name}': column '{column}' must hold scalars")
        lengths.add(len(cells))
    if len(lengths) > 1:
        raise InputError(name, f"input '{name}': every column must have the same length")
    return value


def check_inputs(declared: list[Parameter], supplied: Any) -> dict[str, Any]:
    """Validate a consume body against the declared inputs; raise InputError naming the field."""
    if supplied is None:
        supplied = {}
    if not isinstance(supplied, dict):
        raise InputError("body", "the request body must be a JSON object keyed by input name")
    known = {p.name for p in declared}
    for extra in supplied:
        if extra not in known:
            names = ", ".join(sorted(known)) or "none"
            raise InputError(extra, f"unexpected input '{extra}'; this service takes: {names}")
    checked: dict[str, Any] = {}
    for param in declared:
        if param.name not in supplied:
            raise InputError(param.name, f"missing input '{param.name}' (type '{param.type}')")
        checked[param.name] = check_value(param, supplied[param.name])
    return checked


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
