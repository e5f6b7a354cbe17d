"""Alembic environment: the engine comes from o16n (see store/db.py), never from an ini file."""

from alembic import context

from o16n.server.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
