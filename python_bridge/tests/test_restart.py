"""Nothing published is lost: services, snapshots, tokens and batch executions survive a restart,
also a hard kill in the middle of a batch."""

from __future__ import annotations

import time


def wait_for_state(client, path, states, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(path).json()
        if status["state"] in states:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{path} did not reach {states}: {status}")


def test_hard_kill_in_the_middle_loses_nothing(server_factory):
    server = server_factory()
    tokens = server.login()
    client = server.client()
    session_id = client.post("/sessions", json={}).json()["sessionId"]
    client.post(f"/sessions/{session_id}/execute", json={"code": "offset = 100"})
    snapshot_id = client.post(f"/sessions/{session_id}/snapshot", json={"name": "kept"}).json()["snapshotId"]
    body = {
        "code": "import time\ntime.sleep(0.1)\ny = x + offset",
        "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
        "outputParameterDefinitions": [{"name": "y", "type": "integer"}],
        "snapshotId": snapshot_id,
    }
    assert client.post("/services/Slow/v1", json=body).status_code == 201
    started = client.post("/api/Slow/v1/batch?parallelCount=1", json=[{"x": i} for i in range(40)])
    execution_id = started.json()["batchExecutionId"]
    wait_for_state(client, f"/api/Slow/v1/batch/{execution_id}", ("InProgress",))
    time.sleep(1)
    client.close()

    server.restart(hard=True)

    # The old access token still works: the signing key and the grant are on disk.
    with server.client() as again:
        again.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        assert again.get("/services/Slow/v1").status_code == 200
        assert again.post("/api/Slow/v1", json={"x": 1}).json()["outputParameters"] == {"y": 101}
        assert any(s["id"] == snapshot_id for s in again.get("/snapshots").json())
        final = wait_for_state(again, f"/api/Slow/v1/batch/{execution_id}", ("Complete", "Failed"))
        assert final["state"] == "Complete"
        assert [r["outputParameters"]["y"] for r in final["batchExecutionResults"]] == [i + 100 for i in range(40)]
        # Sessions are processes: they end with the server, and say so (410 since nodes register).
        gone = again.post(f"/sessions/{session_id}/execute", json={"code": "1"})
        assert gone.status_code == 410 and "restarted" in gone.json()["message"]
        assert session_id not in [s["id"] for s in again.get("/sessions").json()]


def test_graceful_restart_keeps_services_consumable(server_factory):
    server = server_factory()
    with server.client() as client:
        for version in ("v1", "v2"):
            client.post(f"/services/Echo/{version}", json={"code": f"y = '{version}:' + x",
                        "inputParameterDefinitions": [{"name": "x", "type": "character"}],
                        "outputParameterDefinitions": [{"name": "y", "type": "character"}]})
    server.restart()
    with server.client() as client:
        assert [s["version"] for s in client.get("/services/Echo").json()] == ["v1", "v2"]
        assert client.post("/api/Echo/v2", json={"x": "hi"}).json()["outputParameters"] == {"y": "v2:hi"}
