"""JSON values on the wire: checking consume inputs against their declarations, and turning what
user code produced back into plain JSON per the declared output types.

Pure JSON work, standard library only (the worker imports this too): no user code, no unpickling.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from .errors import InputError
from .types import Parameter


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


# --- in the worker: JSON in, Python for user code, JSON out ------------------------------------
def to_python(value: Any, kind: str | None) -> Any:
    if kind == "data.frame":
        try:
            import pandas
        except ImportError:
            return value
        return pandas.DataFrame(value)
    return value


def to_json(value: Any) -> Any:
    """Turn what user code produced into plain JSON values (numpy, pandas and sets included)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    module = type(value).__module__.split(".")[0]
    if module == "pandas":
        if hasattr(value, "columns"):  # DataFrame: column-wise
            return {str(col): to_json(value[col].tolist()) for col in value.columns}
        if hasattr(value, "tolist"):
            return to_json(value.tolist())
    if module == "numpy":
        if hasattr(value, "tolist"):
            return to_json(value.tolist())
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def coerce_output(name: str, value: Any, kind: str | None) -> Any:
    """Encode an output per its declared type; raise ValueError naming it if that can't be done."""
    plain = to_json(value)
    try:
        if kind is None or plain is None:
            return plain
        if kind == "numeric":
            return float(plain)
        if kind == "integer":
            if isinstance(plain, float) and not plain.is_integer():
                raise ValueError("not a whole number")
            return int(plain)
        if kind == "logical":
            if isinstance(plain, (bool, int, float)):
                return bool(plain)
            raise ValueError("not a boolean")
        if kind == "character":
            if isinstance(plain, list) and len(plain) == 1:
                plain = plain[0]
            if isinstance(plain, (list, dict)):
                raise ValueError("not a single string")
            return str(plain)
        if kind == "vector":
            return plain if isinstance(plain, list) else [plain]
        if kind == "matrix":
            if isinstance(plain, list) and all(isinstance(r, list) for r in plain):
                return plain
            raise ValueError("not a list of rows")
        if kind == "data.frame":
            if is_rows(plain):
                return rows_to_columns(plain)
            if isinstance(plain, dict):
                return plain
            raise ValueError("not a data frame")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"output '{name}' cannot be returned as '{kind}': {exc}") from None
    return plain
