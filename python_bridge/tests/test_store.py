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
