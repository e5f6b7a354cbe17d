"""JupyterLab restarts, with a real Jupyter server process stopped and started again in the test:
the embedded server keeps its port, and publish jobs survive (#13 items 5, 7, 10)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_client import BlockingKernelClient
from o16n.client import connect
from server_process import ADMIN_PASSWORD

pytestmark = pytest.mark.timeout(600)
TOKEN = "restart-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Jupyter:
    """`python -m jupyter_server` with only the o16n extension, in its own directories."""

    def __init__(self, home: Path, o16n: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime_dir = home / "runtime"
        self.root = home / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        config = {"ServerApp": {"jpserver_extensions": {"o16n.jupyter": True, "jupyterlab": False, "jupyter_lsp": False,
                                                        "jupyter_server_terminals": False, "notebook_shim": False},
                                "root_dir": str(self.root), "open_browser": False},
                  "IdentityProvider": {"token": TOKEN}, "O16n": o16n}
        self.config = home / "jupyter_server_config.json"
        self.config.write_text(json.dumps(config))
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("O16N_", "JUPYTER_"))},
                    "JUPYTER_RUNTIME_DIR": str(self.runtime_dir), "JUPYTER_DATA_DIR": str(home / "data"),
                    "JUPYTER_CONFIG_DIR": str(home / "config"), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "jupyter.log"

    def start(self) -> Jupyter:
        command = [sys.executable, "-m", "jupyter_server", f"--config={self.config}", f"--port={self.port}",
                   "--port-retries=0"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if self.api("GET", "o16n/status")[1].get("connected"):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"Jupyter did not connect to o16n:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = httpx.request(method, f"{self.url}/{path}", json=body, timeout=120,
                                 headers={"Authorization": f"token {TOKEN}"})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def kernel(self, code: str) -> str:
        """Start a kernel and run `code` in it; returns the kernel id."""
        status, kernel = self.api("POST", "api/kernels", {"name": "python3"})
        assert status == 201, kernel
        client = BlockingKernelClient(connection_file=str(self.runtime_dir / f"kernel-{kernel['id']}.json"))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive(code, timeout=120)
            assert reply["content"]["status"] == "ok", reply
        finally:
            client.stop_channels()
        return str(kernel["id"])

    def job(self, job_id: str, until: Any, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, job = self.api("GET", f"o16n/publish/{job_id}")
            assert status == 200, job
            if until(job):
                return dict(job)
            time.sleep(0.1)
        raise AssertionError(f"job {job_id}: {job}")


SLOW = """
import time
class Slow:
    def __reduce__(self):
        time.sleep(60)
        return (int, (1,))
slow = Slow()
"""


def test_embedded_port_and_jobs_survive_a_restart(tmp_path):
    jupyter = Jupyter(tmp_path, {"data_dir": str(tmp_path / "o16n-data")}).start()
    try:
        _, status = jupyter.api("GET", "o16n/status")
        embedded = status["embedded"]
        assert status["url"] == f"http://127.0.0.1:{embedded['port']}" and status["login"] == "logged in"
        assert embedded["passwordFile"] == str(tmp_path / "o16n-data" / "admin-password")
        password = Path(embedded["passwordFile"]).read_text().strip()
        with connect(status["url"], "admin", password) as client:
            client.service("Triple").version("1").code_str("y = 3 * x").inputs(x=float).outputs(y=float).deploy()
        # a publish in flight when Jupyter stops: the kernel is still serializing its object
        kernel = jupyter.kernel(SLOW)
        code, started = jupyter.api("POST", "o16n/publish", {
            "kernelId": kernel, "name": "Slow", "version": "1", "code": "y = 1", "objects": ["slow"],
            "notebook": "work/slow.ipynb"})
        assert code == 202, started
        jupyter.job(started["jobId"], lambda j: j["step"] == "capture")
    finally:
        jupyter.stop()

    again = Jupyter(tmp_path, {"data_dir": str(tmp_path / "o16n-data")}).start()
    try:
        _, status = again.api("GET", "o16n/status")
        assert status["embedded"]["port"] == embedded["port"] and status["connected"] is True  # same address
        code, job = again.api("GET", f"o16n/publish/{started['jobId']}")
        assert code == 200 and job["state"] == "failed", job
        assert job["error"]["step"] == "capture" and "stopping" in job["error"]["message"]
        assert job["notebook"] == "work/slow.ipynb" and job["name"] == "Slow"
        code, listed = again.api("GET", "o16n/publish?notebook=work/slow.ipynb")
        assert code == 200 and [j["jobId"] for j in listed["jobs"]] == [started["jobId"]]
        assert again.api("GET", "o16n/publish?notebook=other.ipynb")[1] == {"jobs": []}
        code, result = again.api("POST", "o16n/services/Triple/1/consume", {"inputs": {"x": 2}})
        assert code == 200 and result["outputParameters"] == {"y": 6.0}
        code, _ = again.api("GET", "o16n/services/Slow/1")
        assert code == 404
    finally:
        again.stop()


def test_a_job_cut_off_by_a_crash_is_cleaned_up_after_the_restart(tmp_path, server_factory):
    server = server_factory()
    env = {"O16N_URL": server.url, "O16N_USER": "admin", "O16N_PASSWORD": ADMIN_PASSWORD}
    settings = {"data_dir": str(tmp_path / "o16n-data"), "capture_dir": str(tmp_path / "capture")}
    jupyter = Jupyter(tmp_path, settings, env).start()
    jobs_dir = tmp_path / "o16n-data" / "publish-jobs"
    stopped = False
    try:
        kernel = jupyter.kernel("import numpy as np\nbig = np.ones(12_500_000)\n")  # 100 MB
        code, started = jupyter.api("POST", "o16n/publish", {
            "kernelId": kernel, "name": "Big", "version": "1", "code": "n = 1", "objects": ["big"]})
        assert code == 202, started
        record = jobs_dir / f"{started['jobId']}.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # as soon as the job has made a session on the o16n server ...
            try:
                if json.loads(record.read_text()).get("created", {}).get("session"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # ... freeze the upload there
        stopped = True
        jupyter.stop(signal.SIGKILL)  # and JupyterLab dies: no chance to clean up
    finally:
        if stopped:
            os.kill(server.process.pid, signal.SIGCONT)
        jupyter.stop()
    with server.client() as admin:
        assert len(admin.get("/sessions").json()) == 1  # left behind by the crash

    again = Jupyter(tmp_path, settings, env).start()
    try:
        job = again.job(started["jobId"], lambda j: j["steps"][-1]["state"] in ("done", "failed"))
        assert job["state"] == "failed" and job["error"]["step"] == "upload", job
        assert "JupyterLab stopped" in job["error"]["message"]
        assert job["steps"][-1] == {"name": "cleanup", "state": "done", "detail": "what the job had created was removed"}
        with server.client() as admin:
            assert admin.get("/sessions").json() == [] and admin.get("/snapshots").json() == []
            assert admin.get("/services/Big/1").status_code == 404
    finally:
        again.stop()
