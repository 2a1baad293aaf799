"""one recipient's mail in the order it was queued

Revision ID: 0010_mail_order
Revises: 0010_federation
Create Date: 2026-12-05

The outbox sender sends a batch concurrently and several senders may run, so two messages queued for one
person could arrive in either order: a B2B user invited twice could receive the superseded code last. Each
message now carries `recipient_key` (a keyed hash of the address; the row still never names it) and a
message is claimed only when no earlier one to the same key is waiting (mail/store.py). The partial index
finds a recipient's waiting messages. Messages queued before this revision have no key and keep no order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_mail_order'
down_revision = '0010_federation'
branch_labels = None
depends_on = None

_WAITING = "sent_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("recipient_key", sa.String(64), nullable=True))
    op.create_index("ix_outbox_waiting_recipient", "outbox", ["recipient_key", "id"],
                    sqlite_where=sa.text(_WAITING), postgresql_where=sa.text(_WAITING))


def downgrade() -> None:
    op.drop_index("ix_outbox_waiting_recipient", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("recipient_key")
