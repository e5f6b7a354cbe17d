"""The extension with its embedded o16n server: Iris from a kernel to a service and back."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from jupyter_helpers import SETOSA, TRAIN_IRIS, wait_job
from o16n.client import connect
from o16n.jupyter.embedded import EmbeddedServer

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def o16n_config(tmp_path):
    return {"data_dir": str(tmp_path / "o16n-data")}


async def test_iris_from_kernel_to_service(api, o16n_app, start_kernel, run_cell, tmp_path):
    status, body = await api("GET", "status")
    assert status == 200 and body["mode"] == "embedded"

    kernel = await start_kernel()
    await run_cell(kernel, TRAIN_IRIS)

    # --- list the kernel's variables and functions
    status, found = await api("GET", "kernels", kernel, "namespace")
    assert status == 200, found
    variables = {v["name"]: v for v in found["objects"]}
    assert {"clf", "names"} <= set(variables)
    assert variables["clf"]["picklable"] is True and variables["clf"]["type"] == "sklearn.svm._classes.SVC"
    assert variables["clf"]["size"] > 1000
    assert variables["names"]["shape"] == [3]
    assert not {"np", "datasets", "svm", "_iris", "In", "Out", "get_ipython"} & set(variables)  # modules, internals
    functions = {f["name"]: f for f in found["functions"]}
    fn = functions["predict_species"]
    assert fn["signature"] == "predict_species(flower_data: list) -> str"
    assert fn["parameters"][0]["annotation"] == "vector" and fn["returns"] == "character"

    # --- publish the function with the model
    status, started = await api("POST", "publish", body={
        "kernelId": kernel, "name": "IrisJ", "version": "1.0", "description": "Iris from Jupyter",
        "functionName": "predict_species", "objects": ["clf", "names"]})
    assert status == 202, started
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "done", job
    assert [s["state"] for s in job["steps"]] == ["done", "done", "skipped", "done", "done", "done"]
    assert job["bytesUploaded"] == job["totalBytes"] > 1000
    assert job["service"]["name"] == "IrisJ" and job["service"]["version"] == "1.0"
    assert job["service"]["inputParameterDefinitions"] == [{"name": "flower_data", "type": "vector"}]

    # --- consume it through the relay
    status, result = await api("POST", "services", "IrisJ", "1.0", "consume", body={"inputs": {"flower_data": SETOSA}})
    assert status == 200, result
    assert result["outputParameters"]["result"] == "setosa" and result["elapsed"] > 0
    status, services = await api("GET", "services", params={"name": "IrisJ"})
    assert status == 200 and [s["version"] for s in services] == ["1.0"]
    status, swagger = await api("GET", "services", "IrisJ", "1.0", "swagger")
    assert status == 200 and swagger["swagger"] == "2.0"
    status, patched = await api("PATCH", "services", "IrisJ", "1.0", body={"description": "changed"})
    assert status == 200 and patched["description"] == "changed"

    # --- consume it directly over HTTP with a token from the embedded server
    connection = o16n_app.connection
    password = (tmp_path / "o16n-data" / "admin-password").read_text().strip()
    assert stat.S_IMODE(os.stat(tmp_path / "o16n-data" / "admin-password").st_mode) == 0o600
    async with httpx.AsyncClient(base_url=connection.url, timeout=60) as http:
        token = (await http.post("/login", json={"username": "admin", "password": password})).json()["access_token"]
        answer = await http.post("/api/IrisJ/1.0", json={"flower_data": [6.7, 3.0, 5.2, 2.3]},
                                 headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["outputParameters"]["result"] == "virginica"

    # --- and from the kernel with the magics, without logging in
    creds = Path(os.environ["O16N_CREDENTIALS_FILE"])
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert set(json.loads(creds.read_text())) == {"url", "access_token", "expires_on"}
    out = await run_cell(kernel, "%load_ext o16n\n"
                                 "r = %o16n consume IrisJ 1.0 --flower_data '[5.9, 3.0, 4.2, 1.5]'\n"
                                 "print('RESULT', r.output())\n"
                                 "from o16n.client import connect\n"
                                 "print('SERVICES', [s['name'] for s in connect().list_services()])\n")
    assert "RESULT versicolor" in out and "SERVICES ['IrisJ']" in out

    # --- batch through the relay
    status, batch = await api("POST", "services", "IrisJ", "1.0", "batch",
                              body={"records": [{"flower_data": SETOSA}] * 3, "parallelCount": 2})
    assert status == 202 and batch["executionId"]
    for _ in range(200):
        status, state = await api("GET", "services", "IrisJ", "1.0", "batch", batch["executionId"])
        if state["state"] in ("Complete", "Failed"):
            break
        await asyncio.sleep(0.2)
    assert state["state"] == "Complete" and state["completedItemCount"] == 3
    status, _ = await api("DELETE", "services", "IrisJ", "1.0", "batch", batch["executionId"])
    assert status == 200

    # --- delete it
    status, deleted = await api("DELETE", "services", "IrisJ", "1.0")
    assert status == 200 and deleted == {"deleted": True}
    status, error = await api("GET", "services", "IrisJ", "1.0")
    assert status == 404 and "not found" in error["message"]
    status, error = await api("POST", "services", "IrisJ", "1.0", "consume", body={"inputs": {"flower_data": SETOSA}})
    assert status == 404 and error["message"]


async def test_services_survive_a_restart(api, o16n_app, tmp_path):
    status, started = await api("GET", "services")
    assert status == 200
    client = await o16n_app.connection.require_client()
    await o16n_app.connection.run(lambda: client.service("Double").version("v1").code_str("y = 2 * x")
                                  .inputs(x=float).outputs(y=float).deploy())
    password_before = (tmp_path / "o16n-data" / "admin-password").read_text()
    await o16n_app.stop_extension()  # what Jupyter does when it stops
    assert not o16n_app.connection.embedded.running
    assert "O16N_CREDENTIALS_FILE" not in os.environ

    # the next JupyterLab starts the embedded server on the same data
    again = EmbeddedServer(tmp_path / "o16n-data")
    assert again.password + "\n" == password_before
    again.start()
    try:
        await again.wait_ready()
        with connect(again.url, "admin", again.password) as client:
            assert client.get_service("Double", "v1")(x=21).output("y") == 42.0
    finally:
        again.stop()


async def test_unpicklable_variable_is_reported_and_the_rest_published(api, start_kernel, run_cell):
    kernel = await start_kernel()
    await run_cell(kernel, "numbers = [1, 2, 3]\nlazy = (i for i in range(3))\nimport threading\nlock = threading.Lock()\n")
    status, found = await api("GET", "kernels", kernel, "namespace")
    assert status == 200
    variables = {v["name"]: v for v in found["objects"]}
    assert variables["lazy"]["picklable"] is False and "generator" in variables["lazy"]["reason"]
    assert variables["lock"]["picklable"] is False
    assert variables["numbers"]["picklable"] is True and variables["numbers"]["reason"] is None

    status, started = await api("POST", "publish", body={  # no version: the server makes one
        "kernelId": kernel, "name": "Summer", "code": "total = sum(numbers) + extra",
        "inputs": [{"name": "extra", "type": "integer"}], "outputs": [{"name": "total", "type": "integer"}],
        "objects": ["numbers", "lazy"]})
    assert status == 202
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "done", job
    assert set(job["notCaptured"]) == {"lazy"} and "generator" in job["notCaptured"]["lazy"]
    assert "lazy" in job["steps"][0]["detail"]
    version = job["service"]["version"]
    assert len(version) == 36  # a UUID
    status, result = await api("POST", "services", "Summer", version, "consume", body={"inputs": {"extra": 4}})
    assert status == 200 and result["outputParameters"]["total"] == 10


async def test_publish_failure_names_the_step_and_leaves_nothing(api, o16n_app, start_kernel, run_cell, jp_root_dir):
    kernel = await start_kernel()
    await run_cell(kernel, "numbers = [1, 2, 3]\n")
    (jp_root_dir / "data.csv").write_text("a,b\n1,2\n")
    # a syntax error is only found by the o16n server at the publish step
    status, started = await api("POST", "publish", body={
        "kernelId": kernel, "name": "Broken", "version": "1", "code": "total = (", "objects": ["numbers"],
        "files": ["data.csv"]})
    assert status == 202
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "failed"
    assert job["error"]["step"] == "publish" and "syntax error" in job["error"]["message"]
    assert job["error"]["field"] == "code"
    assert [s["state"] for s in job["steps"]][:5] == ["done", "done", "done", "done", "failed"]
    client = await o16n_app.connection.require_client()
    sessions = await o16n_app.connection.run(client.list_sessions)
    snapshots = await o16n_app.connection.run(client.list_snapshots)
    assert sessions == [] and snapshots == []
    status, _ = await api("GET", "services", "Broken", "1")
    assert status == 404

    # a version that already exists: 403 from o16n, nothing of ours left either
    await o16n_app.connection.run(lambda: client.service("Taken").version("1").code_str("y = 1").deploy())
    status, started = await api("POST", "publish", body={
        "kernelId": kernel, "name": "Taken", "version": "1", "code": "y = 2", "objects": ["numbers"]})
    job = await wait_job(api, started["jobId"])
    assert job["state"] == "failed" and job["error"]["step"] == "publish" and job["error"]["status"] == 403
    assert await o16n_app.connection.run(client.list_snapshots) == []


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "sub/../../outside.txt", ".hidden",
                                  "link.txt", "missing.txt", "~/x", "a\\..\\b"])
async def test_publish_files_are_confined_to_the_root(api, jp_root_dir, path):
    (jp_root_dir.parent / "outside.txt").write_text("secret")
    (jp_root_dir / ".hidden").write_text("hidden")
    (jp_root_dir / "link.txt").symlink_to(jp_root_dir.parent / "outside.txt")
    status, error = await api("POST", "publish", body={
        "kernelId": "any", "name": "X", "version": "1", "code": "y = 1", "files": [path]})
    assert status == 400 and error["field"] == "files", error


async def test_kernel_busy_or_missing(api, jp_serverapp, o16n_app, start_kernel, run_cell):
    status, error = await api("GET", "kernels", "no-such-kernel", "namespace")
    assert status == 404 and "no kernel" in error["message"]
    kernel = await start_kernel()
    o16n_app.kernel_timeout = 1.5
    client = jp_serverapp.kernel_manager.get_kernel(kernel).client()
    client.start_channels()
    client.execute("import time; time.sleep(8)")
    for _ in range(100):  # until the kernel is really running the cell
        if jp_serverapp.kernel_manager.get_kernel(kernel).execution_state == "busy":
            break
        await asyncio.sleep(0.05)
    try:
        status, error = await api("GET", "kernels", kernel, "namespace")
        assert status == 409 and "busy" in error["message"]
    finally:
        client.stop_channels()
    await jp_serverapp.kernel_manager.shutdown_kernel(kernel, now=True)


async def test_embedded_logout_and_login_again(api):
    status, body = await api("GET", "services")  # waits for the embedded server's first login
    assert status == 200
    status, body = await api("GET", "status")
    assert body["connected"] is True and body["user"] == {"name": "admin", "role": "Owner"}
    assert body["server"]["statusCode"] == "pass"
    status, body = await api("POST", "logout")
    assert status == 200 and body["user"] is None
    assert body["message"].startswith("logged out")
    assert not Path(os.environ["O16N_CREDENTIALS_FILE"]).exists()
    status, error = await api("GET", "services")
    assert status == 401
    status, body = await api("POST", "login", body={})
    assert status == 200 and body["connected"] is True and body["user"]["name"] == "admin"
    assert Path(os.environ["O16N_CREDENTIALS_FILE"]).exists()
