"""purchase-order accounts and their transactions

Revision ID: 0008_po_accounts
Revises: 0007_events
Create Date: 2026-12-10

Kibo's purchase-order accounts (issue 16; purchase_orders/): at most one per account, with its credit
limit, available balance and overdraft allowance in integer minor units, and the log of transactions
that changed it, each with the balance after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_po_accounts'
down_revision = '0007_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('po_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('credit_limit', sa.BigInteger(), nullable=False),
    sa.Column('available_balance', sa.BigInteger(), nullable=False),
    sa.Column('overdraft_allowance', sa.BigInteger(), nullable=True),
    sa.Column('overdraft_allowance_type', sa.String(length=10), nullable=True),
    sa.Column('overdraft_amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_terms', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_po_accounts_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_po_accounts')),
    sa.UniqueConstraint('account_id', name=op.f('uq_po_accounts_account_id')),
    sqlite_autoincrement=True,
    )
    op.create_table('po_transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('po_account_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('transaction_type', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('credit_limit', sa.BigInteger(), nullable=False),
    sa.Column('available_balance', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.String(length=100), nullable=True),
    sa.Column('purchase_order_number', sa.String(length=100), nullable=True),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('additional_detail', sa.String(length=1000), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('transaction_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['po_account_id'], ['po_accounts.id'],
                            name=op.f('fk_po_transactions_po_account_id_po_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_po_transactions')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('po_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_po_transactions_po_account_id_id'), ['po_account_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('po_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_po_transactions_po_account_id_id'))
    op.drop_table('po_transactions')
    op.drop_table('po_accounts')
