"""The kernel routes with real ipykernel kernels through a real Jupyter server: namespace, analyze,
test, and publishing a notebook function, against a real o16n server (remote mode)."""

from __future__ import annotations

import pytest
from jupyter_helpers import wait_job

from o16n.jupyter.errors import relay_error

pytestmark = pytest.mark.timeout(600)

WALKTHROUGH = "iris_type = names[int(clf.predict([flower_data])[0])]"
KERNEL_SETUP = """
from sklearn import datasets, svm
iris = datasets.load_iris()
clf = svm.SVC().fit(iris.data, iris.target)
names = [str(n) for n in iris.target_names]
unrelated = {"a": 1}

def predict(sepal_length: float, sepal_width: float, petal_length: float, petal_width: float) -> str:
    return names[int(clf.predict([[sepal_length, sepal_width, petal_length, petal_width]])[0])]

def f(a, b=1, *, c):
    return a * 100 + b * 10 + c
"""


@pytest.fixture
def o16n_config(live_server):
    return {"server_url": live_server.url}


@pytest.fixture
def kernel(logged_in_kernel):
    """Log in to the o16n server, start a kernel and run KERNEL_SETUP in it: `await kernel()`."""
    return lambda: logged_in_kernel(KERNEL_SETUP)


async def test_namespace_lists_objects_and_functions(api, kernel):
    kernel_id = await kernel()
    status, found = await api("GET", "kernels", kernel_id, "namespace")
    assert status == 200, found
    objects = {o["name"]: o for o in found["objects"]}
    assert {"clf", "names", "iris", "unrelated"} <= set(objects) and "datasets" not in objects
    assert objects["clf"]["type"] == "sklearn.svm._classes.SVC" and objects["clf"]["picklable"] is True
    functions = {fn["name"]: fn for fn in found["functions"]}
    assert functions["predict"]["parameters"][0]["annotation"] == "numeric"
    assert functions["predict"]["parameters"][0]["pythonType"] == "float"
    assert functions["predict"]["returns"] == "character" and functions["predict"]["pythonReturns"] == "str"
    status, _ = await api("GET", "kernels", kernel_id, "variables")  # the old name is gone
    assert status == 404


async def test_analyze_the_walkthrough_cell_and_function(api, kernel):
    kernel_id = await kernel()
    status, cell = await api("POST", "kernels", kernel_id, "analyze", body={"code": WALKTHROUGH})
    assert status == 200, cell
    assert [(i["name"], i["type"]) for i in cell["inputs"]] == [("flower_data", "vector")]
    assert [(o["name"], o["type"]) for o in cell["outputs"]] == [("iris_type", "character")]
    assert {o["name"] for o in cell["objects"]} == {"clf", "names"} and cell["function"] is None
    assert all(row["reason"] for row in cell["inputs"] + cell["outputs"] + cell["objects"])

    status, fn = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "predict"})
    assert status == 200, fn
    assert [i["name"] for i in fn["inputs"]] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert {i["type"] for i in fn["inputs"]} == {"numeric"}
    assert [(o["name"], o["type"]) for o in fn["outputs"]] == [("result", "character")]
    # the fitted SVC is an object even though its type is a class's name; iris and unrelated are not used
    assert sorted((o["name"], o["reason"]) for o in fn["objects"]) == [("clf", "used by predict"), ("names", "used by predict")]
    assert fn["function"]["returns"] == "character" and fn["function"]["name"] == "predict"


async def test_analyze_refusals_name_the_field(api, kernel):
    kernel_id = await kernel()
    status, error = await api("POST", "kernels", kernel_id, "analyze", body={"code": "y = ("})
    assert status == 400 and error["field"] == "code" and "syntax error" in error["message"]
    status, error = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "nope"})
    assert status == 400 and error["field"] == "functionName"
    status, error = await api("POST", "kernels", kernel_id, "analyze", body={"code": "y = 1", "functionName": "f"})
    assert status == 400 and error["field"] == "code"
    status, error = await api("POST", "kernels", "no-such-kernel", "analyze", body={"code": "y = 1"})
    assert status == 404 and error["field"] == "kernelId"


async def test_test_runs_with_the_service_binding_and_leaves_the_kernel_alone(api, kernel, run_cell):
    kernel_id = await kernel()
    # defect 1: f(a, b=1, *, c) with inputs a and c is called f(a, c=c), as the service will
    status, answer = await api("POST", "kernels", kernel_id, "test", body={
        "functionName": "f", "inputs": {"a": 1, "c": 3}, "outputs": [{"name": "result", "type": "integer"}]})
    assert status == 200, answer
    assert answer["success"] is True and answer["outputs"] == {"result": 113}, answer
    status, answer = await api("POST", "kernels", kernel_id, "test", body={
        "code": WALKTHROUGH + "\nnames = None\nprint('ran')", "inputs": [{"name": "flower_data", "type": "vector",
                                                                         "value": [6.7, 3.0, 5.2, 2.3]}],
        "outputs": [{"name": "iris_type", "type": "character"}]})
    assert status == 200 and answer["outputs"] == {"iris_type": "virginica"} and answer["consoleOutput"] == "ran\n"
    assert answer["elapsed"] >= 0 and answer["errorMessage"] == ""
    out = await run_cell(kernel_id, "print('NAMES', names is not None, 'iris_type' in dir())")
    assert "NAMES True False" in out
    status, error = await api("POST", "kernels", kernel_id, "test", body={
        "code": "y = x", "inputs": [{"name": "x", "type": "numeric", "value": "seven"}], "outputs": []})
    assert status == 400 and error["field"] == "inputs.0"
    status, failed = await api("POST", "kernels", kernel_id, "test", body={
        "functionName": "predict", "inputs": {"sepal_length": 1}, "outputs": [{"name": "result", "type": "character"}]})
    assert status == 400 and failed["field"] == "inputs" and "sepal_width" in failed["message"]
    status, answer = await api("POST", "kernels", kernel_id, "test", body={
        "code": "y = 1 / 0", "inputs": {}, "outputs": [{"name": "y", "type": "numeric"}]})
    assert status == 200 and answer["success"] is False and "ZeroDivisionError" in answer["errorMessage"]


async def test_publish_a_function_with_a_keyword_only_input(api, kernel):
    kernel_id = await kernel()
    # defect 1 through the relay's publish: the service gets f(a, c=c) too, and consumes correctly
    status, started = await api("POST", "publish", body={
        "kernelId": kernel_id, "name": "KwOnly", "version": "1", "functionName": "f",
        "inputs": [{"name": "a", "type": "integer"}, {"name": "c", "type": "integer"}],
        "outputs": [{"name": "result", "type": "integer"}], "objects": []})
    assert status == 202, started
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "done", job
    status, result = await api("POST", "services", "KwOnly", "1", "consume", body={"inputs": {"a": 2, "c": 5}})
    assert status == 200 and result["outputParameters"] == {"result": 215}, result
    await api("DELETE", "services", "KwOnly", "1")


async def test_publish_refuses_the_old_variables_key(api, kernel):
    kernel_id = await kernel()
    status, error = await api("POST", "publish", body={
        "kernelId": kernel_id, "name": "Old", "version": "1", "code": "y = 1", "variables": ["names"]})
    assert status == 400 and error["field"] == "variables" and "objects" in error["message"]


async def test_server_field_errors_name_the_panels_field(api, kernel, o16n_app, monkeypatch):
    kernel_id = await kernel()
    # defect 3: the relay knows a type the o16n server refuses (say, a server of another version)
    from o16n.wire import types
    monkeypatch.setitem(types.SPELLINGS, "blob", ("blob", "scalar"))
    status, started = await api("POST", "publish", body={
        "kernelId": kernel_id, "name": "Blob", "version": "1", "code": "y = x",
        "inputs": [{"name": "x", "type": "numeric"}, {"name": "z", "type": "blob"}], "outputs": []})
    assert status == 202, started
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "failed" and job["error"]["step"] == "publish"
    assert job["error"]["field"] == "inputs.1", job["error"]
    assert "inputParameterDefinitions" not in job["error"]["message"]
    # the same mapping for a consume: the server names the input, the relay the try-it form's field
    client = await o16n_app.connection.require_client()
    await o16n_app.connection.run(lambda: client.service("Half").version("1").code_str("y = x / 2")
                                  .inputs(x=float).outputs(y=float).deploy())
    status, error = await api("POST", "services", "Half", "1", "consume", body={"inputs": {"x": "NaN"}})
    assert status == 400 and error["field"] == "inputs.x"
    try:
        await o16n_app.connection.run(lambda: client.post_service("Dup", "1", {
            "code": "y = 1", "inputParameterDefinitions": [{"name": "x", "type": "numeric"}] * 2}))
    except Exception as exc:  # noqa: BLE001 - the relay's one mapping of what the server said
        assert relay_error(exc).field == "inputs"
    else:
        raise AssertionError("the o16n server took duplicate inputs")
    await api("DELETE", "services", "Half", "1")
