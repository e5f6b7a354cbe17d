"""Nodes of a cluster register themselves; a session row says when its node stopped.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(300), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("capacity", sa.JSON, nullable=True),
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("gone_reason", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("gone_reason")
    op.drop_table("nodes")
