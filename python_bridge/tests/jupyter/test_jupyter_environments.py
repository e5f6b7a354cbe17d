"""Environments through the relay (Seam C) with real kernels and a real o16n server: analyze's
``environment``, ``POST /o16n/publish`` with and without one (the ``environment`` step,
``versionSkew``), ``GET /o16n/environments``; and issue 10's kernel-side test: a kernel in its own
virtual environment, made here with uv, holding a package the Jupyter server's environment lacks
(markovify), whose fitted object is published from the lab's publish path and consumed."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_helpers import wait_job
from server_process import ADMIN_PASSWORD

from o16n.client.environment import normalize

pytestmark = pytest.mark.timeout(900)

SETUP = """
import pandas as pd
from sklearn import datasets, svm
_iris = datasets.load_iris()
clf = svm.SVC().fit(_iris.data, _iris.target)
names = [str(n) for n in _iris.target_names]

def predict(flower: list) -> str:
    import numpy
    return names[int(clf.predict(numpy.array([flower]))[0])]
"""
# A package the Jupyter server's (and the o16n server's) environment lacks: pure Python, small.
FOREIGN = "markovify"
CORPUS = "The cat sat on the mat. The dog ran to the park. A cat ran to the dog. The dog sat."
FOREIGN_SETUP = f"""
import markovify
model = markovify.Text({CORPUS!r}, state_size=1)

def follows(word: str) -> list:
    return sorted(model.chain.model.get((word,), {{}}))
"""


@pytest.fixture
def o16n_config(live_server):
    return {"server_url": live_server.url}


async def _login(api) -> None:
    status, body = await api("POST", "login", body={"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body


def _server_environment(live_server) -> dict | None:
    import httpx

    token = live_server.login()["access_token"]
    answer = httpx.get(live_server.url + "/environments/server", headers={"Authorization": f"Bearer {token}"})
    return answer.json() if answer.status_code == 200 else None


def _needs_environments(live_server) -> dict:
    server = _server_environment(live_server)
    if server is None:
        pytest.fail("the o16n server does not serve GET /environments/server")
    return server


# ====================================================================== the kernel's own environment
async def test_analyze_answers_the_environment_with_server_versions(api, start_kernel, run_cell, live_server):
    await _login(api)
    kernel_id = await start_kernel()
    await run_cell(kernel_id, SETUP)
    status, analysis = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "predict"})
    assert status == 200, analysis
    env = analysis["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    packages = {p["name"]: p for p in env["packages"]}
    assert packages["scikit-learn"]["reason"] == "provides sklearn (clf is a sklearn.svm.SVC)"
    assert packages["scikit-learn"]["version"] == importlib.metadata.version("scikit-learn")
    assert packages["numpy"]["direct"] is True  # the function imports it, and clf's arrays are numpy's
    assert packages["scipy"]["reason"] == "required by scikit-learn" and packages["scipy"]["direct"] is False
    assert "pandas" not in packages  # imported by the notebook, not used by predict
    server = _server_environment(live_server)
    if server is None:  # a server that cannot say: unknown, not "lacking"
        assert env["serverPackages"] is None and not any("serverVersion" in p for p in packages.values())
    else:
        listed = {normalize(name): version for name, version in server["packages"].items()}
        assert env["serverPackages"] == listed  # for the packages the user adds in the panel
        for package in packages.values():
            assert package["serverVersion"] == listed.get(normalize(package["name"])), package
    # cell code: its imports count too
    status, analysis = await api("POST", "kernels", kernel_id, "analyze",
                                 body={"code": "import pandas as pd\ny = pd.Series([x]).sum()"})
    assert status == 200
    assert {p["name"]: p for p in analysis["environment"]["packages"]}["pandas"]["reason"] == \
        "provides pandas (imported by the code)"

async def test_analyze_without_a_login_knows_no_server_versions(api, start_kernel, run_cell, live_server):
    kernel_id = await start_kernel()  # nobody signed in to the o16n server through this Jupyter server
    await run_cell(kernel_id, SETUP)
    status, analysis = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "predict"})
    assert status == 200, analysis
    env = analysis["environment"]
    assert env["packages"] and env["serverPackages"] is None
    assert not any("serverVersion" in p for p in env["packages"])  # unknown, which the panel does not call lacking


async def test_publish_without_environment_reports_no_skew_when_versions_agree(api, start_kernel, run_cell,
                                                                               live_server):
    _needs_environments(live_server)
    await _login(api)
    kernel_id = await start_kernel()
    await run_cell(kernel_id, SETUP)
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "EnvNone", "version": "1",
                                                        "functionName": "predict", "objects": ["clf", "names"]})
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "done", job
    assert "environment" not in {s["name"] for s in job["steps"]}
    assert job["versionSkew"] == [] and job["service"]["environment"] is None  # same Python as the server
    await api("DELETE", "services", "EnvNone", "1")


async def test_publish_with_an_environment_builds_it_as_a_step(api, start_kernel, run_cell, live_server):
    _needs_environments(live_server)
    await _login(api)
    kernel_id = await start_kernel()
    await run_cell(kernel_id, "def version() -> str:\n    import six\n    return six.__version__\n")
    spec = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "packages": ["six==1.16.0"]}
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "EnvSix", "version": "1",
                                                        "functionName": "version", "environment": spec})
    assert status == 202, answer
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "done", job
    steps = [s["name"] for s in job["steps"]]
    assert steps[:2] == ["capture", "environment"]
    detail = job["steps"][1]["detail"]
    assert detail == "reused" or detail.startswith("ready in "), detail
    assert job["environment"]["state"] == "ready" and job["service"]["environment"]["packages"] == ["six==1.16.0"]
    status, result = await api("POST", "services", "EnvSix", "1", "consume", body={"inputs": {}})
    assert status == 200 and result["outputParameters"]["result"] == "1.16.0", result
    status, environments = await api("GET", "environments")
    assert status == 200 and job["environment"]["key"] in {e["key"] for e in environments}
    await api("DELETE", "services", "EnvSix", "1")

    # an unknown package fails the environment step with the resolver's message; nothing is left
    bad = {**spec, "packages": ["o16n-no-such-package-anywhere==0.0.1"]}
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "EnvBad", "version": "1",
                                                        "functionName": "version", "environment": bad})
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "failed" and job["error"]["step"] == "environment", job
    assert job["error"]["field"] == "environment" and "o16n-no-such-package-anywhere" in job["error"]["message"]
    status, services = await api("GET", "services")
    assert not [s for s in services if s["name"] == "EnvBad"]


async def test_environment_bodies_are_checked(api, start_kernel):
    kernel_id = "not-started"
    for environment in ("3.11", {"packages": []}, {"python": "three"}, {"python": "3.11", "packages": "six"},
                        {"python": "3.11", "packages": ["==1.0"]}):
        status, error = await api("POST", "publish", body={"kernelId": kernel_id, "name": "E", "code": "y = 1",
                                                           "environment": environment})
        assert status == 400 and error["field"] == "environment", (environment, error)


# ====================================================================== a kernel in its own venv (uv)
def _uv() -> str | None:
    here = Path(sys.executable).parent / "uv"
    return str(here) if here.exists() else shutil.which("uv")


@pytest.fixture(scope="module")
def uv_kernel_env(tmp_path_factory):
    """A virtual environment made with uv: ipykernel, dill and markovify (which this one lacks)."""
    try:
        importlib.metadata.version(FOREIGN)
        pytest.fail(f"{FOREIGN} must be absent from the Jupyter server's environment for this test")
    except importlib.metadata.PackageNotFoundError:
        pass
    uv = _uv()
    if uv is None:
        pytest.fail("uv is not installed, though the o16n server depends on it")
    venv = tmp_path_factory.mktemp("uvkernel") / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    started = time.monotonic()
    subprocess.run([uv, "venv", "--quiet", "--python", python, str(venv)], check=True, env=env, timeout=300)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    "ipykernel", "dill", FOREIGN], check=True, env=env, timeout=600)
    print(f"\nuv kernel venv made in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return venv


@pytest.fixture
def uv_kernelspec(uv_kernel_env, jp_data_dir):
    """Register the venv's kernel in this Jupyter server's (temporary) data dir."""
    spec = jp_data_dir / "kernels" / "o16n-uv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(uv_kernel_env / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "o16n uv kernel", "language": "python"}))
    return "o16n-uv"


async def _start(jp_serverapp, kernel_name: str) -> str:
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(kernel_name=kernel_name)
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
    finally:
        client.stop_channels()
    return kernel_id


async def test_a_kernel_in_its_own_venv_captures_its_packages(api, jp_serverapp, uv_kernelspec, run_cell,
                                                              live_server):
    await _login(api)
    kernel_id = await _start(jp_serverapp, uv_kernelspec)
    out = await run_cell(kernel_id, FOREIGN_SETUP + "import sys\nprint('PREFIX', sys.prefix)\n")
    assert "uvkernel" in out  # the kernel runs from the uv venv, not from the Jupyter server's
    status, analysis = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "follows"})
    assert status == 200, analysis
    assert [o["name"] for o in analysis["objects"]] == ["model"]
    packages = {p["name"]: p for p in analysis["environment"]["packages"]}
    assert packages[FOREIGN]["reason"] == f"provides {FOREIGN} (model is a markovify.Text)"
    assert packages[FOREIGN]["serverVersion"] is None  # the server does not have it
    assert "unidecode" in packages and packages["unidecode"]["reason"] == "required by markovify"
    assert not {"ipykernel", "o16n"} & set(packages)


async def test_publish_from_a_venv_kernel_with_its_environment_and_consume(api, jp_serverapp, uv_kernelspec,
                                                                           run_cell, live_server):
    _needs_environments(live_server)
    await _login(api)
    kernel_id = await _start(jp_serverapp, uv_kernelspec)
    await run_cell(kernel_id, FOREIGN_SETUP)
    status, analysis = await api("POST", "kernels", kernel_id, "analyze", body={"functionName": "follows"})
    assert status == 200, analysis
    env = analysis["environment"]

    # without the environment: the server's own cannot even load the object; the job says which
    # package is missing and that an environment would bring it, and publishes nothing
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "Markov", "version": "plain",
                                                        "functionName": "follows", "objects": ["model"]})
    job = await wait_job(api, answer["jobId"])
    assert job["state"] == "failed" and job["error"]["step"] == "upload", job["error"]
    assert job["error"]["field"] == "environment" and "No module named 'markovify'" in job["error"]["message"]
    kernel_version = {p["name"]: p for p in env["packages"]}[FOREIGN]["version"]
    assert f"markovify=={kernel_version}" in job["error"]["message"]
    skew = {s["name"]: s for s in job["versionSkew"]}
    assert skew[FOREIGN] == {"name": FOREIGN, "kernelVersion": kernel_version, "serverVersion": None}
    status, services = await api("GET", "services")
    assert not [s for s in services if s["name"] == "Markov"]

    # with it (as the panel sends it: the analysis' pins): built, then published and consumed
    spec = {"python": env["python"], "packages": [f"{p['name']}=={p['version']}" for p in env["packages"]]}
    started = time.monotonic()
    status, answer = await api("POST", "publish", body={"kernelId": kernel_id, "name": "Markov", "version": "1",
                                                        "functionName": "follows", "objects": ["model"],
                                                        "environment": spec})
    assert status == 202, answer
    job = await wait_job(api, answer["jobId"], timeout=600)
    publish_seconds = time.monotonic() - started
    assert job["state"] == "done", job
    steps = {s["name"]: s for s in job["steps"]}
    assert steps["environment"]["state"] == "done", steps
    assert job["versionSkew"] == []
    started = time.monotonic()
    status, result = await api("POST", "services", "Markov", "1", "consume", body={"inputs": {"word": "The"}})
    first_consume = time.monotonic() - started
    assert status == 200 and result["success"], result
    assert result["outputParameters"]["result"] == ["cat", "dog"]
    print(f"\nvenv kernel publish with environment: {publish_seconds:.1f} s ({steps['environment']['detail']}); "
          f"first consume {first_consume:.2f} s", file=sys.stderr)
    await api("DELETE", "services", "Markov", "1")
