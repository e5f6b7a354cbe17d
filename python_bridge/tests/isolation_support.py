"""Helpers of the isolation and runtime suites: bubblewrap, publishing probes, counting processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest


def ensure_bwrap() -> None:
    """Install Debian's bubblewrap when running as root and it is missing; else skip, saying why."""
    if shutil.which("bwrap"):
        return
    if os.geteuid() != 0:
        pytest.skip("bubblewrap (bwrap) is not installed and installing it needs root: apt-get install bubblewrap")
    done = subprocess.run("apt-get update -qq && apt-get install -y -qq bubblewrap", shell=True, capture_output=True)
    if done.returncode != 0 or not shutil.which("bwrap"):
        pytest.skip(f"bubblewrap could not be installed: {done.stderr.decode(errors='replace')[-300:]}")


def backend(client: httpx.Client) -> dict:
    status = client.get("/status").json()
    return next(iter(status["components"]["backends"]["components"].values()))["details"]


def require_namespaces(client: httpx.Client) -> dict:
    """The isolation report, or a skip naming why the namespace sandbox is not in force here."""
    details = backend(client)
    report = details["workerIsolation"]
    if details["workerSandbox"] != "namespaces":
        pytest.skip(f"the namespace sandbox is not available on this machine: {report['warnings']}")
    return report


def unique(prefix: str = "Iso") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def params(**types: str) -> list[dict]:
    return [{"name": n, "type": t} for n, t in types.items()]


def publish(client: httpx.Client, name: str, code: str, *, version: str = "v1", inputs: dict | None = None,
            outputs: dict | None = None, **extra: object) -> None:
    body = {"code": code, "runtimeType": "Python", "inputParameterDefinitions": params(**(inputs or {})),
            "outputParameterDefinitions": params(**(outputs or {})), **extra}
    response = client.post(f"/services/{name}/{version}", json=body)
    assert response.status_code == 201, response.text


def consume(client: httpx.Client, name: str, version: str = "v1", **inputs: object) -> httpx.Response:
    return client.post(f"/api/{name}/{version}", json=inputs)


def session(client: httpx.Client) -> str:
    created = client.post("/sessions", json={})
    assert created.status_code == 201, created.text
    return created.json()["sessionId"]


def run(client: httpx.Client, session_id: str, code: str, outputs: list[str] | None = None, **inputs: object) -> dict:
    body = {"code": code, "outputParameters": outputs or [],
            "inputParameters": [{"name": k, "value": v} for k, v in inputs.items()]}
    response = client.post(f"/sessions/{session_id}/execute", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def children(pid: int) -> list[int]:
    """Direct children of a process (one per worker tree for an o16n server)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def descendants(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        out += [child, *descendants(child)]
    return out


def processes_with(marker: str) -> list[int]:
    """Pids on this machine whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def wait_until(condition, timeout: float = 15, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
