"""events: the event log, written with the change it reports

Revision ID: 0007_events
Revises: 0007_b2b
Create Date: 2026-12-05

Issue 17. One row per change or security event, in the same transaction as the change; ids only.
`dispatched_at` is set once the event's deliveries are created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_events'
down_revision = '0007_b2b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('event_id', sa.String(36), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('topic', sa.String(100), nullable=False),
        sa.Column('entity_id', sa.String(100), nullable=False),
        sa.Column('correlation_id', sa.String(100), nullable=True),
        sa.Column('is_test', sa.Boolean(), nullable=False),
        sa.Column('extended_properties', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_events'),
        sa.UniqueConstraint('event_id', name='uq_events_event_id'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_events_tenant_id_id', 'events', ['tenant_id', 'id'])
    op.create_index('ix_events_tenant_id_topic_id', 'events', ['tenant_id', 'topic', 'id'])
    op.create_index('ix_events_undispatched', 'events', ['id'], sqlite_where=sa.text('dispatched_at IS NULL'),
                    postgresql_where=sa.text('dispatched_at IS NULL'))


def downgrade() -> None:
    op.drop_table('events')
