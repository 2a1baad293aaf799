"""Alembic environment: migrations always run on a connection handed in by ticketbooth.db.database."""

from __future__ import annotations

from alembic import context

from ticketbooth.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `ticketbooth migrate`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
