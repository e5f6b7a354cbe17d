"""Identity: user ids are never reused (a counter), grants know their refresh chain.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO counters (name, last) SELECT 'users', COALESCE(MAX(id), 0) FROM users")
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("chain_id", sa.String(64), nullable=True))
    # Grants from before: each is a chain of its own.
    op.execute("UPDATE grants SET chain_id = id")
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("chain_id", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_grants_chain_id", ["chain_id"])


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_index("ix_grants_chain_id")
        batch.drop_column("chain_id")
    op.drop_table("counters")
