"""The in-kernel helper's `analyze` and `test`, run in-process on namespaces that look like a kernel's.

Functions are compiled from source registered in linecache, as IPython does for notebook cells, so
`inspect.getsource` finds them. The wire vocabulary is loaded from the bundle the relay sends.
"""

from __future__ import annotations

import linecache

import numpy as np
import pandas as pd
import pytest
from o16n.jupyter import inkernel
from o16n.jupyter.kernels import INKERNEL, WIRE

WALKTHROUGH = "iris_type = names[int(clf.predict([flower_data])[0])]"


@pytest.fixture(scope="module")
def wire():
    return inkernel.load_bundle(WIRE)


class FakeModel:
    def predict(self, rows):
        return [0 for _ in rows]


FakeModel.__module__ = "sklearn.svm._classes"  # an instance of an imported class, like SVC


def cell(ns: dict, source: str, name: str) -> None:
    """Run `source` in `ns` as a notebook cell named `name` (its source stays findable)."""
    filename = f"<ipython-input-{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec", dont_inherit=True), ns)


@pytest.fixture
def kernel_ns() -> dict:
    ns: dict = {"__name__": "__main__", "In": [], "Out": {}, "_": None, "np": np, "pd": pd}
    ns.update(clf=FakeModel(), names=["setosa", "versicolor", "virginica"], unrelated=[1, 2, 3],
              SVCClass=FakeModel, frame=pd.DataFrame({"a": [1.0]}), scale=2.0)
    cell(ns, """
def helper(x):
    return x * scale

def predict(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> str:
    return names[int(clf.predict([[sepal_length, sepal_width, petal_length, petal_width]])[0])]

def predict_row(flower_data):
    label = names[int(clf.predict([flower_data])[0])]
    return {"label": label, "score": helper(1.0)}

def f(a, b=1, *, c):
    return {"a": a, "b": b, "c": c}

def pair(x: float):
    return x, x * 2

def uses_numpy(v: list) -> float:
    return float(np.mean(v)) + missing_global
""", "1")
    return ns


def test_walkthrough_cell(kernel_ns, wire):
    answer = inkernel.analyze(kernel_ns, {"code": WALKTHROUGH}, wire)
    assert [(i["name"], i["type"]) for i in answer["inputs"]] == [("flower_data", "vector")]
    assert [(o["name"], o["type"]) for o in answer["outputs"]] == [("iris_type", "character")]
    assert "names" in answer["outputs"][0]["reason"] and "str" in answer["outputs"][0]["reason"]
    assert {o["name"] for o in answer["objects"]} == {"clf", "names"}  # an instance of an imported class is data
    assert answer["function"] is None


def test_walkthrough_cell_with_names_shipped_as_an_input(kernel_ns, wire):
    answer = inkernel.analyze(kernel_ns, {"code": WALKTHROUGH, "objects": ["clf"]}, wire)
    assert {(i["name"], i["type"]) for i in answer["inputs"]} == {("flower_data", "vector"), ("names", "vector")}
    assert [o["name"] for o in answer["objects"]] == ["clf"]


def test_walkthrough_function(kernel_ns, wire):
    answer = inkernel.analyze(kernel_ns, {"functionName": "predict"}, wire)
    assert [(i["name"], i["type"], i["reason"]) for i in answer["inputs"]][0] == ("sepal_length", "numeric", "annotation float")
    assert [(o["name"], o["type"]) for o in answer["outputs"]] == [("result", "character")]
    assert [(o["name"], o["reason"]) for o in answer["objects"]] == [("names", "used by predict"), ("clf", "used by predict")]
    assert answer["function"]["signature"].startswith("predict(sepal_length: float")


def test_function_objects_follow_the_functions_it_calls(kernel_ns, wire):
    answer = inkernel.analyze(kernel_ns, {"functionName": "predict_row"}, wire)
    objects = {o["name"]: o["reason"] for o in answer["objects"]}
    assert objects.keys() == {"names", "clf", "helper", "scale"} and objects["scale"] == "used by helper"
    assert "a function defined in the notebook" in objects["helper"]
    assert [(i["name"], i["type"]) for i in answer["inputs"]] == [("flower_data", "vector")]  # used as one row
    assert [(o["name"], o["type"]) for o in answer["outputs"]] == [("label", "character"), ("score", "numeric")]


def test_modules_imported_classes_and_undefined_globals_are_notes(kernel_ns, wire):
    answer = inkernel.analyze(kernel_ns, {"functionName": "uses_numpy"}, wire)
    assert answer["objects"] == []
    notes = {n["name"]: n["reason"] for n in answer["notes"]}
    assert "module" in notes["np"] and "not defined in the kernel" in notes["missing_global"]
    code = inkernel.analyze(kernel_ns, {"code": "m = SVCClass()\ny = x + 1"}, wire)
    assert code["objects"] == [] and "imported class" in {n["name"]: n["reason"] for n in code["notes"]}["SVCClass"]


def test_cell_reads_in_order(kernel_ns, wire):
    code = ("import math\ntotal = 0\nfor i in range(3):\n    total = total + i + offset\n"
            "z = [v * k for v in data if v > limit]\nout = math.sqrt(z[0]) + helper(2)\nmsg = f'{out}'\n"
            "flag = out > 1\nlabel = word.upper()\n")
    answer = inkernel.analyze(kernel_ns, {"code": code}, wire)
    inputs = {i["name"]: i["type"] for i in answer["inputs"]}
    assert inputs == {"offset": "numeric", "data": "vector", "k": "numeric", "limit": "numeric", "word": "character"}
    outputs = {o["name"]: o["type"] for o in answer["outputs"]}
    assert outputs == {"msg": "character", "flag": "logical", "label": "character"}  # total, z, out are read again
    assert {o["name"] for o in answer["objects"]} == {"helper", "scale"}


def test_syntax_error_names_code(kernel_ns, wire):
    with pytest.raises(inkernel.common.Refused) as refused:
        inkernel.analyze(kernel_ns, {"code": "y = ("}, wire)
    assert refused.value.field == "code" and "line 1" in refused.value.message


# ---------------------------------------------------------------- test runs
def test_defect_1_function_test_uses_the_service_binding(kernel_ns, wire):
    answer = inkernel.run_test(kernel_ns, {"functionName": "f", "inputs": {"a": 1, "c": 3},
                                           "outputs": [{"name": "result", "type": None}]}, wire)
    assert answer["success"], answer
    assert answer["outputs"] == {"result": {"a": 1, "b": 1, "c": 3}}


def test_one_output_gets_the_whole_return_value_several_split_it(kernel_ns, wire):
    one = inkernel.run_test(kernel_ns, {"functionName": "predict_row", "inputs": {"flower_data": [1, 2, 3, 4]},
                                        "outputs": [{"name": "label", "type": None}]}, wire)
    assert one["outputs"] == {"label": {"label": "setosa", "score": 2.0}}  # the service would return the same
    several = inkernel.run_test(kernel_ns, {"functionName": "pair", "inputs": {"x": 2.0},
                                            "outputs": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}]}, wire)
    assert several["outputs"] == {"x1": 2.0, "x2": 4.0}


def test_cell_test_runs_on_a_copy(kernel_ns, wire):
    answer = inkernel.run_test(kernel_ns, {
        "code": "y = x * scale\nscale = 100\nprint('doubled')", "initCode": "offset = 1",
        "inputs": {"x": 3}, "inputTypes": {"x": "integer"}, "outputs": [{"name": "y", "type": "numeric"}]}, wire)
    assert answer == {"success": True, "outputs": {"y": 6.0}, "consoleOutput": "doubled\n", "errorMessage": "",
                      "elapsed": answer["elapsed"]}
    assert kernel_ns["scale"] == 2.0 and "y" not in kernel_ns and "offset" not in kernel_ns and "x" not in kernel_ns


def test_functions_in_a_test_see_the_copy(kernel_ns, wire):
    cell(kernel_ns, "def bump():\n    global counter\n    counter = counter + 1\n    return counter\n", "2")
    kernel_ns["counter"] = 0
    answer = inkernel.run_test(kernel_ns, {"code": "n = bump()", "inputs": {}, "outputs": [{"name": "n", "type": "integer"}]}, wire)
    assert answer["outputs"] == {"n": 1} and kernel_ns["counter"] == 0


def test_frames_arrive_as_data_frames_and_errors_are_answers(kernel_ns, wire):
    answer = inkernel.run_test(kernel_ns, {"code": "n = int(df['a'].sum())", "inputs": {"df": {"a": [1, 2]}},
                                           "inputTypes": {"df": "data.frame"}, "outputs": [{"name": "n", "type": "integer"}]}, wire)
    assert answer["outputs"] == {"n": 3}
    failed = inkernel.run_test(kernel_ns, {"code": "y = 1 / 0", "inputs": {}, "outputs": [{"name": "y", "type": "numeric"}]}, wire)
    assert failed["success"] is False and "ZeroDivisionError" in failed["errorMessage"] and failed["outputs"] == {}
    missing = inkernel.run_test(kernel_ns, {"code": "z = 1", "inputs": {}, "outputs": [{"name": "y", "type": "numeric"}]}, wire)
    assert missing["errorMessage"] == "output 'y' was not assigned by the code"
    with pytest.raises(inkernel.common.Refused) as refused:
        inkernel.run_test(kernel_ns, {"functionName": "f", "inputs": {"a": 1}, "outputs": []}, wire)
    assert refused.value.field == "inputs" and "'c'" in refused.value.message


def test_the_bundles_load_like_packages():
    package = inkernel.load_bundle(INKERNEL)
    assert package is inkernel.load_bundle(INKERNEL)  # once per version
    assert package.list_namespace({"x": 1})["objects"][0]["name"] == "x"
