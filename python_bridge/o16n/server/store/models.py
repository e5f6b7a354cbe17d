"""The database tables. Alembic migrations in `migrations/` create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Counter(Base):
    """Ids handed out once and never again (SQLite would reuse the highest id after a delete)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("provider", "external_id", name="uq_users_provider_external_id"),)
    # Assigned from the "users" counter: a removed user's id never comes back, so nothing the old
    # user owned (a live session, a grant) can fall to a new user.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # Owner | Contributor | Reader
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Where the user signs in: "local" (password_hash above), or a directory / identity provider
    # ("ldap", "oidc": password_hash is empty), which knows the user by an id that never changes.
    provider: Mapped[str] = mapped_column(String(20), default="local", server_default="local")
    external_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    external_name: Mapped[str | None] = mapped_column(String(300), nullable=True)  # the name the provider knows
    display_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    role_source: Mapped[str | None] = mapped_column(String(500), nullable=True)  # the group or claim the role came from
    role_checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # last time groups were read


class Grant(Base):
    """One access/refresh token pair. Access tokens carry the grant id; revoking it ends both."""

    __tablename__ = "grants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chain_id: Mapped[str] = mapped_column(String(64), index=True)  # every grant a refresh made from one login
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    chain_started_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Node(Base):
    """A node of the cluster (see cluster/nodes.py); `expected`: listed by an Owner, not seen yet."""

    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(300), index=True)  # its internal URL, for forwarded requests
    state: Mapped[str] = mapped_column(String(20))  # live | draining | dead | expected
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    capacity: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class SigningKey(Base):
    """A key that signs or verifies o16n's access tokens (see auth/keys.py)."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))  # hex
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Environment(Base):
    """A service environment (docs/environments.md): shared by the cluster; each node builds its own dir."""

    __tablename__ = "environments"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of python + sorted pins
    python: Mapped[str] = mapped_column(String(20))  # as asked: 3.11 or 3.11.7
    packages: Mapped[list] = mapped_column(JSON, default=list)  # normalized requirement strings, sorted
    state: Mapped[str] = mapped_column(String(20))  # building | ready | failed
    message: Mapped[str | None] = mapped_column(Text, nullable=True)  # why the build failed
    python_version: Mapped[str | None] = mapped_column(String(20), nullable=True)  # what it runs: 3.11.7
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    build_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    builder: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the node building it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SessionRecord(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    runtime_type: Mapped[str] = mapped_column(String(20), default="Python")
    node: Mapped[str] = mapped_column(String(200))  # the id of the node whose process holds its worker
    gone_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # set when its node stopped
    environment_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # None: the server's
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Snapshot(Base):
    __tablename__ = "snapshots"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    blob: Mapped[str] = mapped_column(String(64))  # sha256 of the zip in the artifact store
    content_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_services_name_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(200))
    publisher_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    runtime_type: Mapped[str] = mapped_column(String(20), default="Python")
    code: Mapped[str] = mapped_column(Text)
    init_code: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    operation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    inputs: Mapped[list] = mapped_column(JSON, default=list)
    outputs: Mapped[list] = mapped_column(JSON, default=list)
    output_file_names: Mapped[list] = mapped_column(JSON, default=list)
    snapshot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # as the publisher named it
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the service's own copy
    pool_initial_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pool_max_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    environment_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # None: the server's
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BatchExecution(Base):
    __tablename__ = "batch_executions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))  # Pending Ready InProgress Complete Failed
    parallel_count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    lease_node: Mapped[str | None] = mapped_column(String(300), nullable=True)  # the node running it
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BatchItem(Base):
    __tablename__ = "batch_items"
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("batch_executions.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    inputs: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
