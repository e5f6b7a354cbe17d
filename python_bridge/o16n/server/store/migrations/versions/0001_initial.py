"""Initial schema: users, token grants, sessions, snapshots, services, batch executions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("refresh_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("chain_started_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("runtime_type", sa.String(20), nullable=False),
        sa.Column("node", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("blob", sa.String(64), nullable=False),
        sa.Column("content_size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("publisher_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("runtime_type", sa.String(20), nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("init_code", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("operation_id", sa.String(200), nullable=True),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("output_file_names", sa.JSON, nullable=False),
        sa.Column("snapshot_id", sa.String(64), nullable=True),
        sa.Column("blob", sa.String(64), nullable=True),
        sa.Column("pool_initial_size", sa.Integer, nullable=True),
        sa.Column("pool_max_size", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_services_name_version"),
    )
    op.create_table(
        "batch_executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("parallel_count", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("lease_node", sa.String(300), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "batch_items",
        sa.Column("execution_id", sa.String(64), sa.ForeignKey("batch_executions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("index", sa.Integer, primary_key=True),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    for table in ("batch_items", "batch_executions", "services", "snapshots", "sessions", "grants", "users"):
        op.drop_table(table)
