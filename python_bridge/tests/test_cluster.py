"""Several nodes behind a round-robin balancer, each with its OWN empty data dir, sharing only a real
PostgreSQL and a real S3-speaking server (moto): the seed walkthrough through the balancer with no
stickiness, simultaneous starts on an empty database, publish and delete seen by every node, a batch
that survives the death of its node, a cancel through another node, and sessions of a dead node.

Timings are printed (pytest -s shows them) and bounded generously: they are reported, not tuned for.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster_parts import Balancer, Postgres
from s3_server import S3Server
from server_process import LiveServer
from test_seed_walkthrough import test_double_service_with_batch as double_walkthrough
from test_seed_walkthrough import test_iris_walkthrough as iris_walkthrough

FAST = {  # quick failure detection for the tests
    "node_heartbeat_seconds": 0.5, "node_dead_after": 3, "batch_lease_seconds": 4, "batch_sweep_seconds": 0.5,
    "spare_workers": 1, "pool_max_size": 2,
}


class Cluster:
    def __init__(self, root: Path, postgres: Postgres, s3: S3Server) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.database_url = postgres.url(f"o16n_{uuid.uuid4().hex[:8]}")
        self.settings = {"database_url": self.database_url, "s3_endpoint_url": s3.url,
                         "artifact_url": f"s3://{s3.bucket(f'o16n-{uuid.uuid4().hex[:10]}')}/o16n", **FAST}
        self.nodes: list[LiveServer] = []

    def node(self) -> LiveServer:
        node = LiveServer(self.root / f"node{len(self.nodes)}", **self.settings)
        self.nodes.append(node)
        return node

    def token(self) -> str:
        return str(self.nodes[0].login()["access_token"])

    def client(self, url: str, token: str | None = None) -> httpx.Client:
        # No keep-alive: every request is a new connection, so no balancer can pin us to a node.
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token or self.token()}"}, timeout=120,
                            limits=httpx.Limits(max_keepalive_connections=0))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop(hard=True)


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Iterator[tuple[Postgres, S3Server]]:
    root = tmp_path_factory.mktemp("cluster-parts")
    postgres = Postgres(root / "pg").start()
    s3 = S3Server(root / "moto.log").start()
    saved = {k: os.environ.get(k) for k in s3.environment()}
    os.environ.update({k: v for k, v in s3.environment().items() if k != "O16N_S3_ENDPOINT_URL"})
    print(f"\nPostgreSQL: {postgres.kind}")
    yield postgres, s3
    s3.stop()
    postgres.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def cluster(parts, tmp_path_factory) -> Iterator[tuple[Cluster, Balancer]]:
    postgres, s3 = parts
    root = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(root, postgres, s3)
    started = [cluster.node() for _ in range(3)]
    start_together(started)
    balancer = Balancer(root, [n.port for n in started]).start()
    print(f"balancer: {balancer.kind}")
    yield cluster, balancer
    balancer.stop()
    cluster.stop()


def start_together(nodes: list[LiveServer]) -> None:
    errors: list[BaseException] = []

    def start(node: LiveServer) -> None:
        try:
            node.start()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def ready(node: LiveServer) -> bool:
    try:
        return httpx.get(node.url + "/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait(condition: Any, timeout: float, step: float = 0.05) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


DOUBLE = {"code": "y = x * 2", "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
          "outputParameterDefinitions": [{"name": "y", "type": "integer"}]}


# ------------------------------------------------------------------------------------------------
def test_three_nodes_started_at_once_on_an_empty_database_all_come_up(parts, tmp_path):
    postgres, s3 = parts
    for trial in range(10):
        cluster = Cluster(tmp_path / f"trial{trial}", postgres, s3)
        nodes = [cluster.node() for _ in range(3)]
        try:
            start_together(nodes)
            assert all(ready(n) for n in nodes), f"trial {trial}"
        finally:
            cluster.stop()


def test_the_seed_walkthrough_through_the_balancer(cluster):
    nodes, balancer = cluster
    with nodes.client(balancer.url) as client:
        iris_walkthrough(client, "admin")
        double_walkthrough(client)


def test_publish_on_one_node_is_served_by_all_and_delete_is_refused_everywhere_within_a_second(cluster):
    nodes, _ = cluster
    a, b, c = (nodes.client(n.url) for n in nodes.nodes[:3])
    name = f"Everywhere-{uuid.uuid4().hex[:6]}"
    assert a.post(f"/services/{name}/v1", json=DOUBLE).status_code == 201
    for other in (b, c):
        assert other.post(f"/api/{name}/v1", json={"x": 21}).json()["outputParameters"] == {"y": 42}
    assert a.delete(f"/services/{name}/v1").status_code == 200
    deleted_at = time.monotonic()
    refused = {}
    for label, other in (("B", b), ("C", c)):
        wait(lambda other=other: other.post(f"/api/{name}/v1", json={"x": 1}).status_code == 404, timeout=1.0,
             step=0.01)
        refused[label] = time.monotonic() - deleted_at
    print(f"\ndelete on A refused on B after {refused['B'] * 1000:.0f} ms, on C after {refused['C'] * 1000:.0f} ms")
    for client in (a, b, c):
        client.close()


def test_a_batch_survives_the_death_of_its_node(cluster, parts):
    nodes, balancer = cluster
    extra = nodes.node()  # the node that will die, so the others stay for later tests
    extra.start()
    name = f"Slowish-{uuid.uuid4().hex[:6]}"
    with nodes.client(extra.url) as on_extra, nodes.client(balancer.url) as anywhere:
        body = {**DOUBLE, "code": "import time\ntime.sleep(0.005)\ny = x * 2"}
        assert on_extra.post(f"/services/{name}/v1", json=body).status_code == 201
        started = on_extra.post(f"/api/{name}/v1/batch?parallelCount=4", json=[{"x": i} for i in range(2000)])
        execution = started.json()["batchExecutionId"]
        status = f"/api/{name}/v1/batch/{execution}"

        def progress() -> int:
            return int(anywhere.get(status, params={"showPartialResults": "false"}).json()["completedItemCount"])

        wait(lambda: progress() >= 200, timeout=120, step=0.2)
        assert extra.process is not None
        extra.process.send_signal(signal.SIGKILL)
        killed_at, before = time.monotonic(), progress()
        wait(lambda: progress() > before + 10, timeout=60, step=0.2)
        takeover = time.monotonic() - killed_at
        wait(lambda: anywhere.get(status).json()["state"] in ("Complete", "Failed"), timeout=300, step=0.5)
        final = anywhere.get(status).json()
        print(f"\nbatch of 2000: taken over {takeover:.1f} s after kill -9 (dead after {FAST['node_dead_after']} s); "
              f"{before} done before")
        assert final["state"] == "Complete", final["state"]
        results = final["batchExecutionResults"]
        assert len(results) == 2000 and all(r is not None for r in results)
        assert [r["outputParameters"]["y"] for r in results] == [2 * i for i in range(2000)]
        anywhere.delete(f"/services/{name}/v1")


def test_a_cancel_through_another_node_stops_the_items(cluster):
    nodes, _ = cluster
    a, b = nodes.nodes[0], nodes.nodes[1]
    name = f"Cancelled-{uuid.uuid4().hex[:6]}"
    with nodes.client(a.url) as on_a, nodes.client(b.url) as on_b:
        body = {**DOUBLE, "code": "import time\ntime.sleep(0.2)\ny = x"}
        assert on_a.post(f"/services/{name}/v1", json=body).status_code == 201
        started = on_a.post(f"/api/{name}/v1/batch?parallelCount=2", json=[{"x": i} for i in range(500)])
        execution = started.json()["batchExecutionId"]

        def busy_on_a() -> int:
            backends = on_a.get("/status").json()["components"]["backends"]["components"]
            return int(backends[a.url + "/"]["details"]["pythonActiveShellCount"])

        wait(lambda: busy_on_a() > 0, timeout=60)
        assert on_b.delete(f"/api/{name}/v1/batch/{execution}").status_code == 200
        stopped = wait(lambda: busy_on_a() == 0, timeout=5, step=0.02)
        time.sleep(1.0)
        assert busy_on_a() == 0, "node A went on with items after the cancel"
        print(f"\ncancel through B: node A's workers idle after {stopped * 1000:.0f} ms (an item takes 200 ms)")
        assert on_a.get(f"/api/{name}/v1/batch/{execution}").status_code == 404
        on_a.delete(f"/services/{name}/v1")


def test_a_session_of_a_killed_node_is_gone(cluster):
    nodes, balancer = cluster
    doomed = nodes.node()
    doomed.start()
    with nodes.client(doomed.url) as there, nodes.client(balancer.url) as anywhere:
        session = there.post("/sessions", json={}).json()["sessionId"]
        # Reachable through every node while its node lives (forwarded).
        for node in nodes.nodes[:3]:
            with nodes.client(node.url) as elsewhere:
                result = elsewhere.post(f"/sessions/{session}/execute", json={"code": "z = 1", "outputParameters": ["z"]})
                assert result.status_code == 200 and result.json()["outputParameters"] == [{"name": "z", "value": 1}]
        assert doomed.process is not None
        doomed.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait(lambda: anywhere.post(f"/sessions/{session}/execute", json={"code": "1"}).status_code == 410,
             timeout=FAST["node_dead_after"] + 5)
        gone = anywhere.post(f"/sessions/{session}/execute", json={"code": "1"})
        print(f"\nsession of a killed node: 410 after {time.monotonic() - killed_at:.1f} s: {gone.json()['message']}")
        assert "node" in gone.json()["message"]
        wait(lambda: session not in [s["id"] for s in anywhere.get("/sessions").json()],
             timeout=FAST["node_dead_after"] + 5)


def test_an_owner_sees_and_retires_nodes(cluster):
    nodes, _ = cluster
    leaving = nodes.node()
    leaving.start()
    with nodes.client(nodes.nodes[0].url) as owner:
        listed = owner.get("/computenodes").json()
        assert f"http://127.0.0.1:{leaving.port}" in listed["computeNodes"]
        assert all(n["state"] == "live" for n in listed["nodes"])
        assert owner.request("DELETE", "/computenodes",
                             json={"entries": [f"http://127.0.0.1:{leaving.port}"]}).status_code == 200
        wait(lambda: not ready(leaving), timeout=5)  # it drains: balancers stop sending it work
        assert f"http://127.0.0.1:{leaving.port}" not in owner.get("/computenodes").json()["computeNodes"]
        status = owner.get("/status").json()["components"]["backends"]["components"]
        assert len(status) >= 3
