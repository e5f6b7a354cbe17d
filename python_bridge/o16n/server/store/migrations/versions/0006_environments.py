"""Service environments (built with uv, one per Python version + pins); services and sessions name theirs.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("python", sa.String(20), nullable=False),
        sa.Column("packages", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("python_version", sa.String(20), nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("build_seconds", sa.Float, nullable=True),
        sa.Column("builder", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_used_at", sa.DateTime, nullable=False),
    )
    for table in ("services", "sessions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("environment_key", sa.String(64), nullable=True))
            batch.create_index(f"ix_{table}_environment_key", ["environment_key"])


def downgrade() -> None:
    for table in ("services", "sessions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_environment_key")
            batch.drop_column("environment_key")
    op.drop_table("environments")
