"""examples/iris.ipynb runs end to end in a real kernel against a real server."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "iris.ipynb"


def test_notebook_is_valid_and_credential_free():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    text = NOTEBOOK.read_text()
    assert "O16N_URL" in text and "password=" not in text
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"


def test_iris_notebook_executes(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's future default; silences its warning
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager

    nb = nbformat.read(NOTEBOOK, as_version=4)
    name = f"IrisNb{int(time.time()) % 100000}"
    env = dict(os.environ, O16N_URL=live_server.url, O16N_USER=live_server.admin_user,
               O16N_PASSWORD=live_server.admin_password, O16N_SERVICE_NAME=name)
    env.pop("O16N_CREDENTIALS_FILE", None)
    # run the kernel with this interpreter (the venv), whatever kernelspecs the machine has
    spec_dir = tmp_path / "kernels" / "o16n-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "o16n test", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="o16n-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.kernel_manager_class = _manager_with(ksm)
    client.execute(env=env)

    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    errors = [o for outs in outputs.values() for o in outs if o.get("output_type") == "error"]
    assert not errors, errors
    mimes = [o.get("data", {}) for outs in outputs.values() for o in outs if o.get("data")]
    results = [m["application/vnd.o16n.result+json"] for m in mimes if "application/vnd.o16n.result+json" in m]
    assert results and results[0]["outputParameters"] == {"result": "versicolor"}
    assert results[-1]["outputParameters"] == {"result": "virginica"}
    assert any("<table" in m.get("text/html", "") and name in m.get("text/html", "") for m in mimes)
    printed = "".join(o.get("text", "") for outs in outputs.values() for o in outs if o.get("output_type") == "stream")
    assert "setosa" in printed


def _manager_with(ksm):
    from jupyter_client.manager import KernelManager

    class _Manager(KernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.kernel_spec_manager = ksm

    return _Manager
