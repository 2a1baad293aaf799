"""b2b core: the sessions of a B2B user's own row, found by index

Revision ID: 0008_b2b_core
Revises: 0007_events
Create Date: 2026-12-05

Issue 16. Ending every session of a login (a password change, a reset, a lock) now ends the sessions whose
`user_account_id` is that login too (a B2B user's tickets are for their B2B accounts): an index keeps that a
lookup.
"""

from __future__ import annotations

from alembic import op

revision = '0008_b2b_core'
down_revision = '0007_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_token_families_user_account_id'), 'token_families', ['user_account_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_token_families_user_account_id'), table_name='token_families')
