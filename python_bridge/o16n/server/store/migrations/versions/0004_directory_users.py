"""Directory users: where a user signs in, the provider's id for them, and where their role came from.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("provider", sa.String(20), nullable=False, server_default="local"))
        batch.add_column(sa.Column("external_id", sa.String(300), nullable=True))
        batch.add_column(sa.Column("external_name", sa.String(300), nullable=True))
        batch.add_column(sa.Column("display_name", sa.String(300), nullable=True))
        batch.add_column(sa.Column("role_source", sa.String(500), nullable=True))
        batch.add_column(sa.Column("role_checked_at", sa.DateTime, nullable=True))
        # Local users have no external id (NULLs never collide).
        batch.create_unique_constraint("uq_users_provider_external_id", ["provider", "external_id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_provider_external_id", type_="unique")
        for column in ("role_checked_at", "role_source", "display_name", "external_name", "external_id", "provider"):
            batch.drop_column(column)
