"""webhooks: push subscriptions and their deliveries

Revision ID: 0008_webhooks
Revises: 0007_events
Create Date: 2026-12-05

Issue 17. A subscription (Kibo's ApplicationSubscription) with its sealed signing secret; one delivery per
event and subscription, claimed with a lease, retried until delivered or given up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_webhooks'
down_revision = '0008_po_accounts'  # re-chained here after purchase orders (console-ops merge)
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'webhook_subscriptions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(200), nullable=False),
        sa.Column('endpoint', sa.String(2000), nullable=False),
        sa.Column('topics', sa.JSON(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('secret', sa.LargeBinary(), nullable=False),
        _ts('created_at'),
        _ts('updated_at'),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_subscriptions'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_webhook_subscriptions_tenant_id_id', 'webhook_subscriptions', ['tenant_id', 'id'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(36), nullable=False),
        sa.Column('topic', sa.String(100), nullable=False),
        sa.Column('entity_id', sa.String(100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        _ts('created_at'),
        _ts('retry_since'),
        _ts('next_attempt_at'),
        sa.Column('claimed_by', sa.String(64), nullable=True),
        _ts('claimed_until', nullable=True),
        _ts('last_attempt_at', nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=True),
        _ts('delivered_at', nullable=True),
        _ts('failed_at', nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'],
                                name='fk_webhook_deliveries_subscription_id_webhook_subscriptions', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_deliveries'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_webhook_deliveries_status_next_attempt_at', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_subscription_id_entity_id_id', 'webhook_deliveries',
                    ['subscription_id', 'entity_id', 'id'])
    op.create_index('ix_webhook_deliveries_subscription_id_id', 'webhook_deliveries', ['subscription_id', 'id'])


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
