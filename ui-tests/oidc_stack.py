"""For the browser test of the OpenID Connect device sign-in (tests/signin.spec.ts): the OpenID
provider of the Python tests (node-oidc-provider), an o16n server that takes its tokens, and a
JupyterLab whose o16n extension signs in to that server with a device code.

    python oidc_stack.py STATE_DIR PORT

JupyterLab runs on PORT with jupyter_server_test_config.py (O16N_UI_OIDC carries the c.O16n.*
settings). SIGTERM stops all three.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python_bridge" / "tests"))

from oidc_server import OidcProvider  # noqa: E402 - the tests' own helpers
from server_process import LiveServer  # noqa: E402


def main() -> None:
    state, port = Path(sys.argv[1]), sys.argv[2]
    (state / "o16n").mkdir(parents=True, exist_ok=True)
    provider = OidcProvider(state / "oidc").start()
    server: LiveServer | None = None
    lab: subprocess.Popen[bytes] | None = None

    def stop(*_: Any) -> None:
        if lab is not None and lab.poll() is None:
            lab.terminate()
            try:
                lab.wait(timeout=30)
            except subprocess.TimeoutExpired:
                lab.kill()
        if server is not None:
            server.stop()
        provider.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server = LiveServer(state / "o16n" / "data", **provider.settings()).start()
        settings = {"server_url": server.url, "oidc_flow": "device_code", "oidc_issuer": provider.issuer,
                    "oidc_client_id": "lab-device", "oidc_scope": "openid offline_access api",
                    "oidc_resource": "urn:o16n:rs256"}
        env = dict(os.environ, O16N_UI_PORT=port, O16N_UI_STATE_DIR=str(state / "lab"),
                   O16N_UI_OIDC=json.dumps(settings))
        lab = subprocess.Popen(["jupyter", "lab", "--config", "jupyter_server_test_config.py"], cwd=HERE, env=env)
        lab.wait()
    finally:
        stop()


if __name__ == "__main__":
    main()
