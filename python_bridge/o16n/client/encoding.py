"""Parameter types on the client side: Python types <-> wire names, value encoding and decoding.

The wire speaks R Server's names (``logical numeric integer character vector matrix data.frame``).
Users may declare Python types (``float``, ``list``, ``numpy.ndarray``, ``pandas.DataFrame``) or
their names; the client always sends the wire name and remembers the Python type the user asked
for, so that outputs come back as that type (a ``vector`` stays a list unless ``numpy.ndarray`` was
declared; a ``data.frame`` becomes a ``pandas.DataFrame`` when pandas is importable).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any

WIRE_TYPES = ("logical", "numeric", "integer", "character", "vector", "matrix", "data.frame")

# name (lower case) -> (wire name, python flavour)
# flavour: "list" | "ndarray" | "frame" | "scalar" ; only vector/matrix/data.frame care about it.
_NAMES: dict[str, tuple[str, str]] = {
    "logical": ("logical", "scalar"), "bool": ("logical", "scalar"), "boolean": ("logical", "scalar"),
    "numeric": ("numeric", "scalar"), "float": ("numeric", "scalar"), "double": ("numeric", "scalar"),
    "number": ("numeric", "scalar"),
    "integer": ("integer", "scalar"), "int": ("integer", "scalar"),
    "character": ("character", "scalar"), "str": ("character", "scalar"), "string": ("character", "scalar"),
    "vector": ("vector", "list"), "list": ("vector", "list"), "tuple": ("vector", "list"),
    "array": ("vector", "ndarray"), "numpy.array": ("vector", "ndarray"),
    "numpy.ndarray": ("vector", "ndarray"), "ndarray": ("vector", "ndarray"), "np.ndarray": ("vector", "ndarray"),
    "matrix": ("matrix", "list"), "numpy.matrix": ("matrix", "ndarray"),
    "data.frame": ("data.frame", "frame"), "dataframe": ("data.frame", "frame"),
    "pandas.dataframe": ("data.frame", "frame"), "pd.dataframe": ("data.frame", "frame"),
}


@dataclass(frozen=True)
class ParamType:
    """A declared parameter: its wire name and the Python flavour outputs are decoded to."""

    wire: str
    flavour: str = "scalar"

    @property
    def python_name(self) -> str:
        return {
            ("logical", "scalar"): "bool", ("numeric", "scalar"): "float",
            ("integer", "scalar"): "int", ("character", "scalar"): "str",
            ("vector", "list"): "list", ("vector", "ndarray"): "numpy.ndarray",
            ("matrix", "list"): "list", ("matrix", "ndarray"): "numpy.ndarray",
            ("data.frame", "frame"): "pandas.DataFrame",
        }.get((self.wire, self.flavour), self.wire)


def param_type(declared: Any) -> ParamType:
    """Turn a user declaration (a type, a ParamType or a name) into a ParamType.

    Raises ValueError naming the accepted spellings when the declaration is unknown.
    """
    if isinstance(declared, ParamType):
        return declared
    if isinstance(declared, str):
        key = declared.strip().lower()
        if key in _NAMES:
            wire, flavour = _NAMES[key]
            return ParamType(wire, flavour)
        raise ValueError(f"unknown parameter type {declared!r}; use one of {', '.join(WIRE_TYPES)} "
                         "or a Python type (bool, int, float, str, list, numpy.ndarray, pandas.DataFrame)")
    origin = typing.get_origin(declared)
    if origin is not None:  # list[float], tuple[int, ...], typing.List[...]
        if origin in (list, tuple):
            return ParamType("vector", "list")
        return param_type(origin)
    if isinstance(declared, type):
        if issubclass(declared, bool):
            return ParamType("logical")
        if issubclass(declared, int):
            return ParamType("integer")
        if issubclass(declared, float):
            return ParamType("numeric")
        if issubclass(declared, str):
            return ParamType("character")
        if issubclass(declared, (list, tuple)):
            return ParamType("vector", "list")
        module = type.__getattribute__(declared, "__module__") or ""
        qual = f"{module.split('.')[0]}.{declared.__name__}".lower()
        if qual == "numpy.matrix":
            return ParamType("matrix", "ndarray")
        if qual == "numpy.ndarray":
            return ParamType("vector", "ndarray")
        if qual == "pandas.dataframe":
            return ParamType("data.frame", "frame")
        if qual.startswith("numpy.") and module.startswith("numpy"):  # numpy scalar types
            try:
                import numpy as np
                if issubclass(declared, np.bool_):
                    return ParamType("logical")
                if issubclass(declared, np.integer):
                    return ParamType("integer")
                if issubclass(declared, np.floating):
                    return ParamType("numeric")
            except ImportError:  # pragma: no cover
                pass
    raise ValueError(f"cannot map {declared!r} to a parameter type; use one of {', '.join(WIRE_TYPES)} "
                     "or bool, int, float, str, list, numpy.ndarray, pandas.DataFrame")


def to_json(value: Any) -> Any:
    """Make a value JSON-ready: numpy arrays/scalars -> Python, DataFrame -> columns, NaN -> null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    module = type(value).__module__ or ""
    if module.startswith("pandas"):
        if hasattr(value, "columns") and hasattr(value, "to_dict"):  # DataFrame
            return {str(col): to_json(value[col].tolist()) for col in value.columns}
        if hasattr(value, "tolist"):  # Series, Index
            return to_json(value.tolist())
        if hasattr(value, "isoformat"):  # Timestamp
            return value.isoformat()
    if module.startswith("numpy"):
        if hasattr(value, "tolist"):  # ndarray, matrix, numpy scalars
            return to_json(value.tolist())
    if hasattr(value, "isoformat"):  # datetime, date
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "tolist"):
        return to_json(value.tolist())
    return value


def encode_input(ptype: ParamType | None, value: Any) -> Any:
    """Encode one consume input for the wire, casting scalars the way the declared type wants."""
    value = to_json(value)
    if ptype is None:
        return value
    wire = ptype.wire
    if wire == "numeric" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if wire == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if wire == "data.frame" and isinstance(value, list) and value and not all(isinstance(r, dict) for r in value):
        raise ValueError("a data.frame input needs a DataFrame, a dict of columns or a list of row dicts")
    return value


def decode_output(ptype: ParamType | None, value: Any) -> Any:
    """Decode one wire output to the Python type the user declared (or the natural default)."""
    if ptype is None or value is None:
        return value
    wire, flavour = ptype.wire, ptype.flavour
    try:
        if wire == "numeric" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if wire == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        if wire in ("vector", "matrix") and flavour == "ndarray":
            import numpy as np
            return np.array(value)
        if wire == "data.frame":
            try:
                import pandas as pd
            except ImportError:
                return value
            if isinstance(value, dict):
                if all(isinstance(v, list) for v in value.values()):
                    return pd.DataFrame(value)
                return pd.DataFrame([value]) if value else pd.DataFrame()
            if isinstance(value, list):
                return pd.DataFrame(value)
    except Exception:  # decoding is a convenience: never lose a result over it
        return value
    return value


def definitions(params: dict[str, ParamType]) -> list[dict[str, str]]:
    """The wire form of an ordered parameter mapping."""
    return [{"name": name, "type": p.wire} for name, p in params.items()]


def from_definitions(raw: Any) -> dict[str, ParamType]:
    """Read ``inputParameterDefinitions``-style lists from the server into ParamTypes."""
    out: dict[str, ParamType] = {}
    for item in raw or []:
        lowered = {str(k).lower(): v for k, v in item.items()}
        name = lowered.get("name")
        try:
            out[name] = param_type(lowered.get("type") or "")
        except ValueError:
            out[name] = ParamType(str(lowered.get("type")), "scalar")
    return out
