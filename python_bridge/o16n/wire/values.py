"""JSON values on the wire: checking consume inputs against their declarations, and the one
conversion of Python values to JSON (client inputs, worker outputs, the lab's Test run).

Pure JSON work, standard library only (the worker imports this too): no user code, no unpickling.

Numbers: JSON carries only finite numbers here. NaN, ±Infinity, floats that overflowed to infinity
(`1e400`) and integers beyond ±INT_LIMIT are refused with the input named, never passed on
(`jsonio.loads` refuses them in any body before this module sees them).
Bytes: a `bytes` value becomes its base64 text (as output files do); decode it with base64.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from .errors import InputError
from .types import Parameter

# Integers beyond int64 cannot reach numpy/pandas intact (and JSON readers in other languages).
INT_LIMIT = 2**63 - 1
# Nesting allowed inside one value; jsonio bounds whole bodies with the same limit.
MAX_DEPTH = 64


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _plain_numbers(cells: list[Any]) -> bool:
    """True when every cell is a number (bools count) that JSON carries faithfully, checked at C
    speed (a column of a 1,000-row frame in microseconds); False says nothing: walk the cells."""
    try:
        magnitude = sum(map(abs, cells))  # TypeError for a string, null, list or object among them
    except (TypeError, OverflowError):  # OverflowError: an int too large for a float
        return False
    # NaN or an infinity makes the sum one; no cell is larger than the sum of them all. (A sum
    # past the limit may still be all right: the walk will say so.)
    return magnitude == magnitude and magnitude <= INT_LIMIT


def number_problem(value: Any, depth: int = 0) -> tuple[str, str] | None:
    """(where, what) of the first number inside `value` that JSON cannot carry faithfully, else None.

    `where` is a suffix such as `[2]` or `.col[0]`; `what` says what is wrong with the number.
    """
    kind = type(value)
    if kind is float:
        return None if math.isfinite(value) else ("", _describe_float(value))
    if kind is int:
        return None if -INT_LIMIT <= value <= INT_LIMIT else ("", _describe_int(value))
    if kind is list:
        if depth >= MAX_DEPTH:
            return "", f"nested more than {MAX_DEPTH} levels deep"
        for index, item in enumerate(value):
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None:
                continue  # the common cells: nothing to check
            if item_kind is float:
                if not math.isfinite(item):
                    return f"[{index}]", _describe_float(item)
                continue
            found = number_problem(item, depth + 1)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
        return None
    if kind is dict:
        if depth >= MAX_DEPTH:
            return "", f"nested more than {MAX_DEPTH} levels deep"
        for key, item in value.items():
            found = number_problem(item, depth + 1)
            if found is not None:
                return f".{key}{found[0]}", found[1]
        return None
    if isinstance(value, float):  # float subclasses (numpy.float64) in in-process callers
        return None if math.isfinite(value) else ("", _describe_float(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return None if -INT_LIMIT <= value <= INT_LIMIT else ("", _describe_int(value))
    return None


def _describe_float(value: float) -> str:
    if math.isnan(value):
        return "NaN: numbers must be finite"
    return "infinite (Infinity, or too large for a float): numbers must be finite"


def _describe_int(value: int) -> str:
    return f"an integer of {len(str(abs(value)))} digits: integers must lie within ±{INT_LIMIT}"


def _refuse_bad_numbers(name: str, value: Any) -> None:
    found = number_problem(value)
    if found is not None:
        where, what = found
        raise InputError(name, f"input '{name}'{where} is {what}")


def check_value(param: Parameter, value: Any) -> Any:
    """Check one JSON value against its declared type; return it in the form the worker expects.

    Data frames are accepted column-wise (`{"col": [..]}`) or as a list of row objects; the
    worker always receives them column-wise. Numbers anywhere inside must be finite and in range.
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
            _refuse_bad_numbers(name, value)
            return value
        raise fail("a number")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            _refuse_bad_numbers(name, value)
            return value
        if isinstance(value, float):
            _refuse_bad_numbers(name, value)  # NaN and infinities first: they have no integer value
            if value.is_integer():
                whole = int(value)
                _refuse_bad_numbers(name, whole)
                return whole
        raise fail("an integer")
    if kind == "character":
        if isinstance(value, str):
            return value
        raise fail("a string")
    if kind == "vector":
        if isinstance(value, list):
            _refuse_bad_numbers(name, value)
            return value
        raise fail("an array")
    if kind == "matrix":
        if isinstance(value, list) and all(isinstance(row, list) for row in value):
            if len({len(row) for row in value}) > 1:
                raise InputError(name, f"input '{name}' must be a matrix: every row needs the same length")
            _refuse_bad_numbers(name, value)
            return value
        raise fail("an array of arrays (rows)")
    if kind == "data.frame":
        return _check_frame(name, value, fail)
    raise InputError(name, f"input '{name}' has an unsupported declared type '{kind}'")


def is_rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, dict) for row in value)


def rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """`[{"a": 1}, {"a": 2, "b": 3}]` -> `{"a": [1, 2], "b": [None, 3]}` (columns in first-seen order)."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for column in row:
            columns.setdefault(column, [])
    for row in rows:
        for column, cells in columns.items():
            cells.append(row.get(column))
    return columns


def _check_frame(name: str, value: Any, fail: Callable[[str], InputError]) -> dict[str, list[Any]]:
    if is_rows(value):
        value = rows_to_columns(value)
    if not isinstance(value, dict):
        raise fail('an object of columns ({"col": [..]}) or a list of row objects')
    lengths = set()
    for column, cells in value.items():
        if not isinstance(cells, list):
            cells = [cells]
            value[column] = cells
        if not _plain_numbers(cells):  # the per-cell walk only for what is not a column of plain numbers
            if not all(_is_scalar(cell) for cell in cells):
                raise InputError(name, f"input '{name}': column '{column}' must hold scalars")
            found = number_problem(cells)
            if found is not None:
                raise InputError(name, f"input '{name}': column '{column}'{found[0]} is {found[1]}")
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


# --- Python values <-> JSON: the worker, the client and the lab's Test run share these -----------
def to_python(value: Any, kind: str | None) -> Any:
    """A checked JSON input as service code receives it (a data.frame as a pandas.DataFrame)."""
    if kind == "data.frame":
        try:
            import pandas
        except ImportError:
            return value
        return pandas.DataFrame(value)
    return value


def to_json(value: Any) -> Any:
    """Turn a Python value into plain JSON values: numpy, pandas, sets, dates and bytes included.

    NaN and infinite floats become null; bytes become base64 text; dates ISO 8601 text; a data
    frame becomes columns `{"col": [...]}`; anything else unknown its `str()`.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    module = type(value).__module__ or ""
    if module.startswith("pandas"):
        if hasattr(value, "columns") and hasattr(value, "to_dict"):  # DataFrame: column-wise
            return {str(col): to_json(value[col].tolist()) for col in value.columns}
        if hasattr(value, "isoformat"):  # Timestamp
            return value.isoformat()
        if hasattr(value, "tolist"):  # Series, Index
            return to_json(value.tolist())
    if module.startswith("numpy") and hasattr(value, "tolist"):  # arrays, matrices, numpy scalars
        return to_json(value.tolist())
    if hasattr(value, "isoformat"):  # datetime, date, time
        return value.isoformat()
    if hasattr(value, "tolist"):  # array-likes of other libraries
        return to_json(value.tolist())
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
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"output '{name}' cannot be returned as '{kind}': {exc}") from None
    return plain
