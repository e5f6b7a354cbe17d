"""Storage: migrations create exactly the models, SQLite is durable, PostgreSQL serves several nodes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from server_process import LiveServer
from sqlalchemy import text

from o16n.server.store import db
from o16n.server.store.models import Base


def test_migrations_match_the_models(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'o16n.db'}")
    db.migrate(engine)
    db.migrate(engine)  # idempotent: every start runs it
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.check_integrity(engine)


def test_two_nodes_share_postgresql(tmp_path):
    import pgserver

    postgres = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    url = postgres.get_uri()
    shared = tmp_path / "shared"
    first = LiveServer(shared, database_url=url).start()
    second = LiveServer(shared, database_url=url).start()
    try:
        with first.client() as a:
            body = {"code": "y = x * 2", "inputParameterDefinitions": [{"name": "x", "type": "integer"}],
                    "outputParameterDefinitions": [{"name": "y", "type": "integer"}]}
            assert a.post("/services/Double/v1", json=body).status_code == 201
            status = a.get("/status").json()
            assert status["components"]["database"]["details"]["type"] == "postgresql"
        # A token from one node works on the other; the service published on one is served by both.
        tokens = first.login()
        with second.client() as b:
            b.headers["Authorization"] = f"Bearer {tokens['access_token']}"
            assert b.post("/api/Double/v1", json={"x": 21}).json()["outputParameters"] == {"y": 42}
            started = b.post("/api/Double/v1/batch", json=[{"x": i} for i in range(5)]).json()["batchExecutionId"]
        with first.client() as a:
            assert started in a.get("/api/Double/v1/batch").json()
        first.restart()
        with first.client() as a:
            assert a.post("/api/Double/v1", json={"x": 2}).json()["outputParameters"] == {"y": 4}
    finally:
        first.stop()
        second.stop()
        postgres.cleanup()


def test_health_needs_no_token_and_tells_nothing(live_server):
    import httpx

    live = httpx.get(live_server.url + "/health/live")
    ready = httpx.get(live_server.url + "/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "live"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_a_node_waits_for_db_upgrade_when_told_to(tmp_path):
    """With O16N_AUTO_MIGRATE=false a node does not migrate: it waits until `o16n db upgrade` did."""
    import subprocess
    import sys
    import threading

    data = tmp_path / "data"
    server = LiveServer(data, auto_migrate="false")
    starting = threading.Thread(target=server.start)
    starting.start()
    starting.join(timeout=4)
    assert starting.is_alive(), "the node must not serve before the schema is current"
    upgraded = subprocess.run([sys.executable, "-m", "o16n.cli", "db", "upgrade", "--data-dir", str(data)],
                              capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0 and "(current)" in upgraded.stdout, upgraded.stdout + upgraded.stderr
    starting.join(timeout=60)
    try:
        assert not starting.is_alive()
        with server.client() as admin:
            assert admin.get("/status").status_code == 200
    finally:
        server.stop()
