"""Reading JSON bodies that cannot hurt: bounded nesting, finite numbers, integers in range.

`loads(raw)` is the server's one JSON parser for request bodies. It refuses (WireError, so a 400):
- nesting deeper than MAX_DEPTH, measured on the raw bytes *before* parsing (field `body`);
- `NaN`, `Infinity`, `-Infinity`, floats that overflow to infinity (`1e400`) and integers beyond
  ±INT_LIMIT anywhere in the body, naming the first object member on the way to it (for a
  consume body, the input's name; `body` when the number sits in no object).
We refuse rather than carry them: standard JSON has no such numbers, and a worker or a client
in another language could not receive them faithfully.

The fast path is orjson (strict RFC 8259: it refuses NaN, Infinity and lone surrogates itself).
Whatever orjson refuses, and any body whose bytes hold a run of digits long enough to be out of
range (orjson reads such integers as floats), goes the standard library's way, which accepts and
refuses exactly as before and names the culprit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .errors import WireError
from .values import INT_LIMIT, MAX_DEPTH, number_problem

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# Brackets only, with { and } counted as [ and ] (the depth is the same).
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Digits as 0, e/E as e, + as +, the rest blank: a run of 19 digits (possibly beyond int64) or a
# three-digit exponent (possibly beyond a float) are then plain substring searches.
_NUMBER_SHAPES = bytes.maketrans(bytes(range(256)), bytes(
    ord("0") if chr(b).isdigit() and b < 128 else ord("e") if b in b"eE" else ord("+") if b == ord("+") else ord(" ")
    for b in range(256)))
_SUSPICIOUS = (b"0" * 19, b"e000", b"e+000")


def _outside_strings(raw: bytes) -> bytes:
    if b"\\" not in raw:  # no escapes: every quote opens or closes a string
        return b"".join(raw.split(b'"')[0::2])
    return _STRING.sub(b"", raw)


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw` (brackets inside strings do not count).

    Each round removes every innermost pair; the rounds needed are the depth. Stops one round past
    MAX_DEPTH: that is all the caller needs to know, and it bounds the work.
    """
    brackets = _outside_strings(raw).translate(_BRACKETS, _NOT_BRACKETS)
    rounds = 0
    while brackets and rounds <= MAX_DEPTH:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break  # unbalanced: json.loads will say so
        brackets, rounds = shorter, rounds + 1
    return rounds


def _maybe_out_of_range(raw: bytes) -> bool:
    shapes = raw.translate(_NUMBER_SHAPES)
    return any(pattern in shapes for pattern in _SUSPICIOUS)


class _NonStandard(Exception):
    """A NaN/Infinity literal: stops the fast parse; the slow one says where it is."""


def _stop_at_constant(name: str) -> Any:
    raise _NonStandard(name)


_DECODER = json.JSONDecoder(parse_constant=_stop_at_constant)  # one decoder: none made per call


def loads(raw: bytes | str) -> Any:
    """Parse a request body; WireError (field `body` or the member at fault) when it may hurt."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    # fewer opening brackets than the limit cannot nest deeper: skip the closer look
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and depth(data) > MAX_DEPTH:
        raise WireError("body", f"the body is nested more than {MAX_DEPTH} levels deep")
    suspicious = _maybe_out_of_range(data)
    if not suspicious:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library says why (or, for the odd body orjson refuses alone, accepts it)
    try:
        value = _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except _NonStandard:
        _raise_for(_path_problem(json.loads(data, parse_constant=float)))
        raise WireError("body", "the body holds NaN or Infinity") from None  # pragma: no cover
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise WireError("body", "the body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers too long to parse
        if "digits" in str(exc):  # an integer longer than Python parses (sys.get_int_max_str_digits)
            _raise_for(_locate_huge_int(data))
        raise WireError("body", f"the body is not valid JSON: {exc}") from None
    if suspicious:
        _raise_for(_path_problem(value))
    return value


def dumps(value: Any) -> bytes:
    """Compact JSON, by orjson (a finished batch's 10,000 results in milliseconds, not a second);
    what it will not write (keys that are not strings, integers beyond 64 bits) the standard
    library does. NaN and infinities become null (the wire never carries them)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _path_problem(value: Any) -> tuple[str, str, str] | None:
    """(field, path, what) of the first number that cannot be carried, else None."""
    found = number_problem(value)
    if found is None:
        return None
    where, what = found
    return _field_of(where), where.lstrip("."), what


def _field_of(where: str) -> str:
    """The first object member on the path `where` (`.x[2]` -> `x`; `[0].a` -> `a`); else `body`."""
    match = re.search(r"\.([^.\[]+)", where)
    return match.group(1) if match else "body"


def _locate_huge_int(data: bytes) -> tuple[str, str, str] | None:
    """Parse again with integers as markers, to name where the over-long integer is."""
    def as_int(text: str) -> Any:
        digits = text.lstrip("-")
        return int(text) if len(digits) <= 19 else _TOO_LONG
    try:
        value = json.loads(data, parse_int=as_int, parse_constant=float)
    except ValueError as exc:
        raise WireError("body", f"the body is not valid JSON: {exc}") from None
    where = _marker_path(value, 0)
    if where is None:
        return None
    return _field_of(where), where.lstrip("."), f"an integer of more than 19 digits: integers must lie within ±{INT_LIMIT}"


_TOO_LONG = object()


def _marker_path(value: Any, level: int) -> str | None:
    if value is _TOO_LONG:
        return ""
    if level > MAX_DEPTH:
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = _marker_path(item, level + 1)
        if inner is not None:
            return (f".{key}" if isinstance(value, dict) else f"[{key}]") + inner
    return None


def _raise_for(problem: tuple[str, str, str] | None) -> None:
    if problem is None:
        return
    field, path, what = problem
    where = f"'{path}'" if path else "the body"
    raise WireError(field, f"{where} is {what}")
