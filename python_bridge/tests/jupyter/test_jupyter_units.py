"""Unit tests of the extension's pieces that need no Jupyter server."""

from __future__ import annotations

import json
import os
import stat
import threading

import dill
import numpy as np
import pandas as pd
import pytest

from o16n.jupyter import inkernel
from o16n.jupyter.bodies import PublishRequest
from o16n.jupyter.credentials import KernelCredentials
from o16n.jupyter.errors import RelayError
from o16n.jupyter.functions import function_code, function_inputs, function_outputs, wire_type
from o16n.jupyter.paths import confine


def make_namespace() -> dict:
    ns: dict = {"__name__": "__main__"}
    exec("import math\nfrom math import sqrt\n"
         "def score(x: float, flag: bool = True, *, frame: 'pd.DataFrame' = None) -> int:\n"
         "    '''Score it.'''\n    return 1\n", ns)
    ns.update({"In": [], "Out": {}, "_": 1, "_i1": "x", "arr": np.zeros((3, 4)), "df": pd.DataFrame({"a": [1, 2]}),
               "lazy": (i for i in range(3)), "lock": threading.Lock(), "text": "hello"})
    return ns


def test_list_namespace_skips_internals_and_describes_values():
    found = inkernel.list_namespace(make_namespace())
    variables = {v["name"]: v for v in found["objects"]}
    assert set(variables) == {"arr", "df", "lazy", "lock", "text"}  # no modules, imports, In/Out, _...
    assert variables["arr"] == {"name": "arr", "type": "numpy.ndarray", "size": variables["arr"]["size"],
                                "shape": [3, 4], "picklable": True, "reason": None, "estimator": False}
    assert variables["arr"]["size"] >= 96
    assert variables["df"]["shape"] == [2, 1] and variables["df"]["type"] == "pandas.DataFrame"
    assert variables["lazy"]["picklable"] is False and "generator" in variables["lazy"]["reason"]
    assert variables["lock"]["picklable"] is False
    [fn] = found["functions"]
    assert fn["name"] == "score" and fn["doc"] == "Score it."
    assert fn["returns"] == "int"
    assert [(p["name"], p["annotation"], p["default"], p["kind"]) for p in fn["parameters"]] == [
        ("x", "float", None, "POSITIONAL_OR_KEYWORD"), ("flag", "bool", "True", "POSITIONAL_OR_KEYWORD"),
        ("frame", "pd.DataFrame", "None", "KEYWORD_ONLY")]


def test_capture_writes_each_variable_to_its_own_private_file(tmp_path):
    answer = inkernel.capture(make_namespace(), ["arr", "lazy", "nope", "math", "text"], str(tmp_path))
    assert set(answer["objects"]) == {"arr", "text"}
    assert set(answer["failed"]) == {"lazy", "nope", "math"}
    blob = tmp_path / "arr.dill"
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600 and blob.stat().st_size == answer["objects"]["arr"]
    assert (dill.loads(blob.read_bytes()) == 0).all()
    assert not (tmp_path / "lazy.dill").exists()


def test_main_answers_through_a_file_and_honours_the_deadline(tmp_path):
    result = tmp_path / "answer.json"
    inkernel.main({"x": 1}, {"command": "list", "result_file": str(result), "deadline": 0})
    assert json.loads(result.read_text())["objects"][0]["name"] == "x"
    late = tmp_path / "late.json"
    inkernel.main({"x": 1}, {"command": "list", "result_file": str(late), "deadline": 1.0, "started_file": ""})
    assert not late.exists()  # the extension had given up: do nothing


@pytest.mark.parametrize(("annotation", "wire"), [
    ("float", "numeric"), ("int", "integer"), ("str", "character"), ("bool", "logical"), ("list", "vector"),
    ("numpy.ndarray", "vector"), ("pandas.DataFrame", "data.frame"), ("dict", None), (None, None)])
def test_wire_types(annotation, wire):
    assert wire_type(annotation) == wire


def test_function_code_binds_inputs_and_output():
    info = {"name": "score", "source": "def score(x, flag=True, *, k):\n    return x\n",
            "parameters": [{"name": "x", "annotation": "float", "default": None, "kind": "POSITIONAL_OR_KEYWORD"},
                           {"name": "flag", "annotation": None, "default": "True", "kind": "POSITIONAL_OR_KEYWORD"},
                           {"name": "k", "annotation": "int", "default": None, "kind": "KEYWORD_ONLY"}],
            "returns": "str"}
    inputs = function_inputs({**info, "parameters": info["parameters"][:2]})
    assert inputs == [{"name": "x", "type": "numeric"}]
    assert function_outputs(info) == [{"name": "result", "type": "character"}]
    code = function_code(info, [{"name": "x", "type": "numeric"}, {"name": "k", "type": "integer"}],
                         [{"name": "result", "type": "character"}])
    assert code.endswith("result = score(x, k=k)\n")
    with pytest.raises(RelayError, match="no annotation"):
        function_inputs(info | {"parameters": [{"name": "y", "annotation": "dict", "default": None}]})


def test_publish_request_validation():
    ok = PublishRequest.parse({"kernelId": "k", "name": "n", "code": "y = 1", "objects": ["a", "a"],
                               "inputs": [{"name": "x", "type": "float"}]})
    assert ok.objects == ["a"] and ok.inputs == [{"name": "x", "type": "numeric"}]
    for body, field in [({}, "kernelId"), ({"kernelId": "k", "name": "n"}, "code"),
                        ({"kernelId": "k", "name": "n", "code": "x", "functionName": "f"}, "code"),
                        ({"kernelId": "k", "name": "n", "code": "x", "objects": ["a b"]}, "objects"),
                        ({"kernelId": "k", "name": "n", "code": "x", "variables": ["a"]}, "variables"),
                        ({"kernelId": "k", "name": "n", "code": "x", "inputs": [{"name": "x", "type": "blob"}]}, "inputs.0"),
                        ({"kernelId": "k", "name": "n", "functionName": "f()"}, "functionName")]:
        with pytest.raises(RelayError) as refused:
            PublishRequest.parse(body)
        assert refused.value.field == field and refused.value.status == 400


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", ".env", "sub/.git/config", "", "a\x00b",
                                 "~root/x", "..\\x", "missing"])
def test_confine_refuses(tmp_path, bad):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    with pytest.raises(RelayError) as refused:
        confine(str(root), bad)
    assert refused.value.field == "files"


def test_confine_sibling_prefix_and_symlinks(tmp_path):
    root = tmp_path / "test"
    root.mkdir()
    (tmp_path / "testtest").mkdir()
    (tmp_path / "testtest" / "f").write_text("x")
    (root / "ok.csv").write_text("x")
    (root / "escape").symlink_to(tmp_path / "testtest" / "f")
    assert confine(str(root), "ok.csv") == root / "ok.csv"
    assert confine(str(root), "./ok.csv") == root / "ok.csv"
    for bad in ("../testtest/f", "escape"):
        with pytest.raises(RelayError):
            confine(str(root), bad)


def test_kernel_credentials_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("O16N_URL", raising=False)
    monkeypatch.setenv("O16N_CREDENTIALS_FILE", "/previous")
    creds = KernelCredentials(tmp_path)
    creds.export("http://127.0.0.1:1")
    assert os.environ["O16N_URL"] == "http://127.0.0.1:1" and os.environ["O16N_CREDENTIALS_FILE"] == str(creds.path)
    creds.write("http://127.0.0.1:1", "tok", 123.4)
    assert json.loads(creds.path.read_text()) == {"url": "http://127.0.0.1:1", "access_token": "tok", "expires_on": 123}
    assert stat.S_IMODE(creds.path.stat().st_mode) == 0o600
    creds.restore()
    assert not creds.path.exists()
    assert "O16N_URL" not in os.environ and os.environ["O16N_CREDENTIALS_FILE"] == "/previous"
