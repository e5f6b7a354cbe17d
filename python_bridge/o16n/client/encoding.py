"""Parameter types on the client side: Python types <-> wire names, value encoding and decoding.

The wire speaks R Server's names (``logical numeric integer character vector matrix data.frame``).
Users may declare Python types (``float``, ``list``, ``numpy.ndarray``, ``pandas.DataFrame``) or
their names; the client always sends the wire name and remembers the Python type the user asked
for, so that outputs come back as that type (a ``vector`` stays a list unless ``numpy.ndarray`` was
declared; a ``data.frame`` becomes a ``pandas.DataFrame`` when pandas is importable).
"""

from __future__ import annotations

import typing
from typing import Any

from ..wire.types import TYPE_RULE, WIRE_TYPES, ParamType, lookup
from ..wire.values import to_json

__all__ = ["WIRE_TYPES", "ParamType", "param_type", "to_json", "encode_input", "decode_output", "definitions",
           "from_definitions"]


def param_type(declared: Any) -> ParamType:
    """Turn a user declaration (a type, a ParamType or a spelling) into a ParamType.

    Spellings are the wire vocabulary's (`o16n.wire.types.SPELLINGS`), so the client accepts
    exactly what the server does. Raises ValueError naming the accepted spellings otherwise.
    """
    if isinstance(declared, ParamType):
        return declared
    if isinstance(declared, str):
        return lookup(declared)
    origin = typing.get_origin(declared)
    if origin is not None:  # list[float], tuple[int, ...], typing.List[...]
        if origin in (list, tuple):
            return ParamType("vector", "list")
        return param_type(origin)
    if isinstance(declared, type):
        found = _python_type(declared)
        if found is not None:
            return found
    raise ValueError(f"cannot map {declared!r} to a parameter type; {TYPE_RULE}")


def _python_type(declared: type) -> ParamType | None:
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
    qualified = f"{module.split('.')[0]}.{declared.__name__}".lower()
    if qualified in ("numpy.matrix", "numpy.ndarray", "pandas.dataframe"):
        return lookup(qualified)
    if module.startswith("numpy"):  # numpy scalar types
        try:
            import numpy as np
        except ImportError:  # pragma: no cover
            return None
        if issubclass(declared, np.bool_):
            return ParamType("logical")
        if issubclass(declared, np.integer):
            return ParamType("integer")
        if issubclass(declared, np.floating):
            return ParamType("numeric")
    return None


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
        name = str(lowered.get("name"))
        try:
            out[name] = param_type(lowered.get("type") or "")
        except ValueError:
            out[name] = ParamType(str(lowered.get("type")), "scalar")
    return out
