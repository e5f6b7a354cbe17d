"""Property-based fuzzing of the whole core API from our own OpenAPI document (schemathesis):
whatever a client sends, the server answers with a status and a message, never a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_no_request_makes_the_server_fail(server_factory, tmp_path):
    server = server_factory(consume_timeout=5)
    token = server.login()["access_token"]
    with server.client() as client:
        (tmp_path / "swagger.json").write_text(client.get("/swagger.json").text)
    command = [
        str(Path(sys.executable).with_name("st")), "run", str(tmp_path / "swagger.json"),
        "--url", server.url, "-H", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "1", "--workers", "2",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
