"""Realtime services from a kernel variable through the relay (Seam C): KernelObject ``estimator``,
``POST /o16n/publish`` with ``kind: "realtime"`` (``convert`` inside the kernel with skl2onnx, then
``publish`` through the 9.1 multipart route of a real o16n server), and consuming it."""

from __future__ import annotations

import pytest
from jupyter_helpers import wait_job

pytestmark = pytest.mark.timeout(600)

SETUP = """
import pandas as pd
from sklearn import datasets, svm
_iris = datasets.load_iris()
X = pd.DataFrame(_iris.data, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
clf = svm.SVC().fit(X, _iris.target)
raw = svm.SVC()
expected = [int(v) for v in clf.predict(X.iloc[[0, 50, 100]])]
"""


@pytest.fixture
def o16n_config(live_server):
    return {"server_url": live_server.url}


@pytest.fixture
def kernel(logged_in_kernel):
    return lambda: logged_in_kernel(SETUP)


def _realtime_served(live_server) -> bool:
    import httpx

    token = live_server.login()["access_token"]
    probe = httpx.post(live_server.url + "/realtime-services/probe/1", files={"model": ("m.onnx", b"x")},
                       headers={"Authorization": f"Bearer {token}"})
    return "not supported by this server" not in probe.text


async def test_namespace_marks_fitted_estimators(api, kernel):
    kernel_id = await kernel()
    status, found = await api("GET", "kernels", kernel_id, "namespace")
    assert status == 200, found
    objects = {o["name"]: o for o in found["objects"]}
    assert objects["clf"]["estimator"] is True
    assert objects["raw"]["estimator"] is False  # not fitted
    assert objects["X"]["estimator"] is False and objects["expected"]["estimator"] is False


async def test_a_model_that_does_not_convert_fails_the_convert_step(api, kernel):
    kernel_id = await kernel()
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "RtRaw", "version": "1",
                                                        "kind": "realtime", "model": "raw", "sample": "X"})
    assert status == 202, answer
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "failed" and job["kind"] == "realtime"
    assert [s["name"] for s in job["steps"]] == ["convert", "publish"]
    assert job["error"]["step"] == "convert" and job["error"]["field"] == "model"
    assert "not fitted" in job["error"]["message"]
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "RtX", "kind": "realtime",
                                                        "model": "X"})
    job = await wait_job(api, answer["jobId"])
    assert job["error"]["field"] == "model" and "not a DataFrame" in job["error"]["message"]
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "RtX", "kind": "realtime",
                                                        "model": "clf", "sample": "nope"})
    job = await wait_job(api, answer["jobId"])
    assert job["error"]["field"] == "sample"
    status, services = await api("GET", "services")
    assert not [s for s in services if s["name"] in ("RtRaw", "RtX")]


async def test_realtime_bodies_are_checked(api, kernel):
    kernel_id = await kernel()
    for body, field in (({"kind": "batch"}, "kind"), ({"kind": "realtime"}, "model"),
                        ({"kind": "realtime", "model": "clf", "code": "y = 1"}, "code"),
                        ({"kind": "realtime", "model": "clf", "objects": ["X"]}, "objects"),
                        ({"kind": "realtime", "model": "clf", "environment": {"python": "3.11", "packages": []}},
                         "environment"),
                        ({"kind": "realtime", "model": "not an identifier"}, "model")):
        status, error = await api("POST", "publish", body={"kernelId": kernel_id, "name": "Rt", **body})
        assert status == 400 and error["field"] == field, (body, error)


async def test_publish_a_kernel_estimator_as_a_realtime_service_and_consume_it(api, kernel, live_server):
    if not _realtime_served(live_server):
        pytest.fail("the o16n server does not serve the /realtime-services routes")
    kernel_id = await kernel()
    status, answer = await api("POST", "publish", body={
        "kernelId": kernel_id, "name": "RtKernelIris", "version": "1", "kind": "realtime", "model": "clf",
        "sample": "X", "description": "from the lab", "operationId": "score"})
    assert status == 202, answer
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "done", job
    steps = {s["name"]: s for s in job["steps"]}
    assert list(steps) == ["convert", "publish"]
    assert steps["convert"]["detail"].startswith("onnx ") and "float_input: float[?,4]" in steps["convert"]["detail"]
    assert job["model"]["inputs"][0]["shape"] == ["?", 4]
    assert job["service"]["runtimeType"] == "Realtime" and job["service"]["operationId"] == "score"
    assert job["versionSkew"] == []
    frame = {"sepal_length": [5.1, 7.0, 6.3], "sepal_width": [3.5, 3.2, 3.3],
             "petal_length": [1.4, 4.7, 6.0], "petal_width": [0.2, 1.4, 2.5]}
    status, result = await api("POST", "services", "RtKernelIris", "1", "consume", body={"inputs": {"inputData": frame}})
    assert status == 200 and result["success"], result
    assert result["outputParameters"]["outputData"]["output_label"] == [0, 1, 2]
    status, _ = await api("DELETE", "services", "RtKernelIris", "1")
    assert status == 200
