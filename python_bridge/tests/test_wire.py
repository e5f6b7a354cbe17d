"""The wire vocabulary without a server: the one type table, value checks and conversion, the
hardened JSON parser, the function binding and the exported type list."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from o16n.client import param_type
from o16n.client.definition import ServiceDefinition
from o16n.wire import binding, jsonio, values
from o16n.wire.errors import InputError, ParameterTypeError, WireError
from o16n.wire.names import NAME_PATTERN, check_name
from o16n.wire.types import PYTHON_NAMES, SPELLINGS, WIRE_TYPES, Parameter, canonical_type, lookup
from o16n.wire.values import INT_LIMIT, check_inputs, check_value, coerce_output, to_json

EXPORT = Path(__file__).resolve().parents[1] / "o16n" / "wire" / "export.py"


# ---------------------------------------------------------------- types
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_client_and_server_agree_on_every_spelling(spelling):
    for variant in (spelling, spelling.upper(), f" {spelling} "):
        assert param_type(variant).wire == canonical_type(variant) == SPELLINGS[spelling][0]


@pytest.mark.parametrize("spelling", ["complex", "dict", "object", "", "list[float]", "pandas.Series"])
def test_client_and_server_refuse_the_same_spellings(spelling):
    with pytest.raises(ParameterTypeError):
        canonical_type(spelling)
    with pytest.raises(ValueError, match="unknown parameter type"):
        param_type(spelling)


def test_the_spellings_the_client_used_to_accept_alone_are_in_the_one_table():
    # defect 2: the client took these and the server answered 400
    for spelling in ("tuple", "numpy.ndarray", "pd.DataFrame", "np.ndarray"):
        assert canonical_type(spelling) == param_type(spelling).wire


def test_python_flavours():
    assert lookup("numpy.ndarray").python_name == "numpy.ndarray"
    assert lookup("pd.DataFrame").python_name == "pandas.DataFrame"
    assert lookup("float").python_name == "float" and lookup("matrix").python_name == "list"
    assert set(PYTHON_NAMES) == set(WIRE_TYPES)


# ---------------------------------------------------------------- values
def test_bytes_are_base64_everywhere():
    encoded = base64.b64encode(b"\x00\xffpng").decode()
    assert to_json(b"\x00\xffpng") == encoded
    assert coerce_output("blob", b"\x00\xffpng", "character") == encoded
    from o16n.client.encoding import encode_input
    assert encode_input(param_type(str), b"\x00\xffpng") == encoded  # the client used to send UTF-8 text


def test_one_json_conversion():
    assert to_json({"x": float("nan"), "y": np.bool_(True), "z": np.arange(2), "s": {3}}) == {
        "x": None, "y": True, "z": [0, 1], "s": [3]}
    assert to_json(pd.DataFrame({"a": [1, 2]})) == {"a": [1, 2]}
    assert to_json(dt.date(2024, 1, 2)) == "2024-01-02"
    assert to_json(pd.Timestamp("2024-01-01")) == "2024-01-01T00:00:00"
    assert to_json(object.__new__(type("Odd", (), {"__str__": lambda self: "odd"}))) == "odd"


@pytest.mark.parametrize(("kind", "value", "where"), [
    ("numeric", float("nan"), "NaN"), ("numeric", float("inf"), "infinite"), ("numeric", -float("inf"), "infinite"),
    ("numeric", 10**400, "401 digits"), ("integer", float("nan"), "NaN"), ("integer", 10**30, "digits"),
    ("integer", 1e30, "digits"), ("vector", [1.0, float("nan")], "[1]"), ("matrix", [[1, 2], [3, float("inf")]], "[1][1]"),
    ("vector", [[[10**20]]], "[0][0][0]"), ("data.frame", {"c": [1.0, float("nan")]}, "column 'c'[1]"),
    ("data.frame", [{"c": 1}, {"c": float("inf")}], "column 'c'[1]"),
])
def test_numbers_that_json_cannot_carry_are_refused_naming_the_input(kind, value, where):
    with pytest.raises(InputError) as refused:
        check_value(Parameter("x", kind), value)
    assert refused.value.field == "x" and where in refused.value.message, refused.value.message


def test_numbers_within_range_pass():
    assert check_value(Parameter("x", "integer"), INT_LIMIT) == INT_LIMIT
    assert check_value(Parameter("x", "integer"), 3.0) == 3
    assert check_value(Parameter("x", "numeric"), 1.7e308) == 1.7e308
    assert check_value(Parameter("x", "vector"), [1, "a", None, True, [2.5]]) == [1, "a", None, True, [2.5]]
    assert check_inputs([Parameter("x", "numeric")], {"x": 1}) == {"x": 1}


def test_vectors_nested_too_deeply_are_refused():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InputError, match="nested more than"):
        check_value(Parameter("v", "vector"), deep)


# ---------------------------------------------------------------- jsonio
@pytest.mark.parametrize(("raw", "field", "text"), [
    (b'{"x": NaN}', "x", "NaN"), (b'{"x": Infinity}', "x", "infinite"), (b'{"x": -Infinity}', "x", "infinite"),
    (b'{"x": 1e400}', "x", "infinite"), (b'{"x": -1E+400}', "x", "infinite"),
    (b'{"x": ' + b"9" * 400 + b"}", "x", "400 digits"), (b'{"x": ' + b"9" * 6000 + b"}", "x", "more than 19 digits"),
    (b'{"a": 1, "frame": {"c": [1, NaN]}}', "frame", "frame.c[1]"), (b'[{"x": 1}, {"y": NaN}]', "y", "[1].y"),
    (b"[NaN]", "body", "'[0]'"), (b"[" * 65 + b"]" * 65, "body", "nested more than 64"),
    (b'{"v": ' + b"[" * 950 + b"]" * 950 + b"}", "body", "nested"), (b"{bad", "body", "not valid JSON"),
    (b'{"x": "\xff"}', "body", "not valid JSON"),
])
def test_loads_refuses_what_could_hurt(raw, field, text):
    with pytest.raises(WireError) as refused:
        jsonio.loads(raw)
    assert refused.value.field == field and text in refused.value.message, refused.value.message


def test_loads_takes_ordinary_bodies():
    assert jsonio.loads(b'{"s": "[[[[NaN 1e400", "n": 1.5e300, "i": 9223372036854775807, "d": [[[1]]]}') == {
        "s": "[[[[NaN 1e400", "n": 1.5e300, "i": INT_LIMIT, "d": [[[1]]]}
    rows = [{"a": i, "b": [i]} for i in range(500)]  # many brackets, shallow
    assert jsonio.loads(json.dumps(rows).encode()) == rows
    assert jsonio.loads(b'["' + b"[" * 100 + b'"]') == ["[" * 100]  # brackets inside strings do not nest
    assert jsonio.depth(b'{"a": [[1], {"b": []}]}') == 4


@pytest.mark.parametrize("column", [
    [1.0, 2.5, -3.0], [1, 2, 3], [True, 2, 3.5], [INT_LIMIT], [-INT_LIMIT, 0.5], [1e300, 1e300],  # the fast path
    [1.7e308, 1.7e308],  # their sum overflows to infinity: the walk decides (all finite)
    [10**19, -10**19 + 1],  # out of range, though the sum is small
    ["a", 1.0, None], [], [[1.0]],
])
def test_the_fast_frame_check_agrees_with_the_walk(column):
    """`_plain_numbers` (sums at C speed) only ever shortcuts what the cell-by-cell walk accepts."""
    frame = Parameter("f", "data.frame")
    try:
        walked: object = check_value(frame, {"c": list(column)}) if not values._plain_numbers(column) else None
    except InputError as exc:
        walked = exc
    if values._plain_numbers(column):
        assert values.number_problem(column) is None and all(values._is_scalar(c) for c in column)
    elif isinstance(walked, InputError):
        assert walked.field == "f"
    assert not values._plain_numbers([1.0, float("nan")]) and not values._plain_numbers([float("-inf")])
    assert not values._plain_numbers([2**63]) and not values._plain_numbers([10**400, 1.0])


def test_loads_fast_and_standard_paths_read_alike():
    """orjson reads ordinary bodies; the standard library the ones it refuses or may misread."""
    bodies = [rb'{"a": [1, 2.5, -0.0, 1e-7, 12345678901234567], "b": "\u00e9\n", "c": null, "d": true}',
              b'\xef\xbb\xbf{"bom": 1}', '{"utf16": 1}'.encode("utf-16"),  # the stdlib detects these encodings
              b'{"big": 9223372036854775807}', rb'{"x": "\ud800"}']  # a lone surrogate: orjson refuses it
    for raw in bodies:
        assert jsonio.loads(raw) == json.loads(raw), raw
    with pytest.raises(WireError, match="digits"):
        jsonio.loads(b'{"x": 18446744073709551616}')  # orjson would read a float here


def test_dumps_writes_what_orjson_will_not():
    assert jsonio.dumps({"a": [1, 2.5], "é": None}) == '{"a":[1,2.5],"é":null}'.encode()
    assert json.loads(jsonio.dumps({1: "int key"})) == {"1": "int key"}  # the stdlib's way
    assert json.loads(jsonio.dumps({"big": 10**30})) == {"big": 10**30}
    assert jsonio.dumps([float("nan")]) == b"[null]"


# ---------------------------------------------------------------- binding
def f(a, b=1, *, c):
    return {"a": a, "b": b, "c": c}


def test_defect_1_keyword_only_after_a_default():
    # client path: code_fn + inputs a and c
    code = ServiceDefinition(None, "f").code_fn(f).inputs(a=float, c=float).outputs(result=float).build_code()
    assert code.rstrip().endswith("result = f(a, c=c)")
    namespace: dict = {"a": 1, "c": 3}
    exec(code, namespace)
    assert namespace["result"] == {"a": 1, "b": 1, "c": 3}
    # the relay's path (a kernel's FunctionInfo) gives the same line
    from o16n.jupyter.functions import function_code
    info = {"name": "f", "source": "def f(a, b=1, *, c):\n    return a\n",
            "parameters": [{"name": "a", "default": None, "kind": "POSITIONAL_OR_KEYWORD"},
                           {"name": "b", "default": "1", "kind": "POSITIONAL_OR_KEYWORD"},
                           {"name": "c", "default": None, "kind": "KEYWORD_ONLY"}]}
    relay = function_code(info, [{"name": "a", "type": "numeric"}, {"name": "c", "type": "numeric"}],
                          [{"name": "result", "type": "numeric"}])
    assert relay.rstrip().endswith("result = f(a, c=c)")


def test_binding_rules():
    def g(a, b=2, c=3, /, d=4, *args, e, f=6, **kw):
        return a
    params = binding.params_of(g)
    assert binding.bind_parameters("g", params, ["a", "e"]) == binding.Binding("g", ("a",), ("e",))
    assert binding.bind_parameters("g", params, ["a", "b", "c", "d", "e"]) == binding.Binding("g", ("a", "b", "c", "d"), ("e",))
    # a parameter after a skipped default goes by keyword, so the defaults in between apply
    assert binding.bind_parameters("g", params, ["a", "d", "e", "f"]) == binding.Binding("g", ("a",), ("d", "e", "f"))
    with pytest.raises(WireError, match="'c' of g is positional-only and comes after 'b'") as refused:
        binding.bind_parameters("g", params, ["a", "c", "e"])
    assert refused.value.field == "inputs"
    with pytest.raises(WireError, match="parameter 'e' of g has no default"):
        binding.bind_parameters("g", params, ["a"])
    # an input that is no parameter stays a variable of the namespace
    assert binding.bind_parameters("g", params, ["a", "e", "extra"]) == binding.Binding("g", ("a",), ("e",))


def test_output_semantics_one_and_several():
    one = binding.call_code(binding.Binding("h", ("x",)), ["label"])
    namespace: dict = {"x": 1, "h": lambda x: {"label": "a", "other": 2}}
    exec(one, namespace)
    assert namespace["label"] == {"label": "a", "other": 2}  # one output: the return value itself
    several = binding.call_code(binding.Binding("h", ("x",)), ["label", "other"])
    exec(several, namespace)
    assert (namespace["label"], namespace["other"]) == ("a", 2)
    namespace["h"] = lambda x: ("b", 3)
    exec(several, namespace)
    assert (namespace["label"], namespace["other"]) == ("b", 3) and binding.RESULT_VARIABLE not in namespace
    assert binding.call_code(binding.Binding("h"), []) == "h()\n"


# ---------------------------------------------------------------- names and export
def test_name_rule():
    assert check_name("9lives", "name") == "9lives"
    for bad in ("", "-x", "a/b", "a\n", "x" * 201, "a b"):
        with pytest.raises(WireError):
            check_name(bad, "name")


def test_export_runs_without_o16n_installed(tmp_path):
    out = tmp_path / "generated" / "wire.json"
    # -S -I: no site-packages, so no o16n to import
    subprocess.run([sys.executable, "-S", "-I", str(EXPORT), str(out)], check=True, cwd=tmp_path)
    data = json.loads(out.read_text())
    assert data["wireTypes"] == list(WIRE_TYPES)
    assert data["aliases"]["pd.dataframe"] == "data.frame" and data["aliases"]["tuple"] == "vector"
    assert all(data["aliases"][k] == v[0] for k, v in SPELLINGS.items() if k not in WIRE_TYPES)
    assert data["pythonNames"]["data.frame"] == "pandas.DataFrame"
    assert data["namePattern"] == "^" + NAME_PATTERN.pattern + "$"
    assert data["nameRule"].startswith("must start with a letter or digit")
    assert data["identifierRule"] == "a Python identifier"
