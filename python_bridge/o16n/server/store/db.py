"""The database engine: SQLite (WAL, synchronous FULL) by default, PostgreSQL by URL; migrated on start."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ...wire import jsonio

T = TypeVar("T")
log = logging.getLogger("o16n.store")

MIGRATIONS = Path(__file__).with_name("migrations")


def _dump_json(value: Any) -> str:
    return jsonio.dumps(value).decode()  # JSON columns (batch inputs and results): orjson's speed


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_dump_json, json_deserializer=orjson.loads)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, json_serializer=_dump_json, json_deserializer=orjson.loads)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; FULL makes a commit durable before we answer 201.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Any constant will do: every o16n node takes the same PostgreSQL advisory lock to migrate.
_MIGRATION_LOCK = 0x016E_0001


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, safe on every start).

    On PostgreSQL the migration holds an advisory lock for its transaction, so nodes starting at
    the same moment on an empty database migrate one after the other (the later ones find it done).
    """
    config = _alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(bind: Engine | Connection) -> str | None:
    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(bind: Engine | Connection) -> bool:
    """True when the database schema is at the newest revision this code knows."""
    return current_revision(bind) == head_revision()


def check_integrity(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            result = connection.execute(text("PRAGMA integrity_check")).scalar()
            if result != "ok":
                raise RuntimeError(f"the SQLite database failed its integrity check: {result}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class Database:
    """The engine and a way to run one transaction off the event loop (which never waits on SQL)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)

    def prepare(self, *, auto_migrate: bool = True, wait: float = 600.0) -> None:
        """Check and migrate; without `auto_migrate`, wait for `o16n db upgrade` to bring it up to date."""
        check_integrity(self.engine)
        if auto_migrate:
            migrate(self.engine)
            return
        deadline = time.monotonic() + wait
        while not is_current(self.engine):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the database is not at revision {head_revision()}: run 'o16n db upgrade'")
            log.info("waiting for 'o16n db upgrade' (database at %s, this node needs %s)",
                     current_revision(self.engine), head_revision())
            time.sleep(1.0)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction on a worker thread; commit if it returns, roll back if it raises."""

        def transaction() -> T:
            with self.sessions.begin() as session:
                return work(session)

        return await run_in_threadpool(transaction)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
