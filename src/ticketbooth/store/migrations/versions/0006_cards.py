"""saved payment cards

Revision ID: 0006_cards
Revises: 0005c_two_factor_sites
Create Date: 2026-12-06

An account's saved cards (issue 15, point 7), as Kibo's Card holds them: the payment service's card
id, name on card, type, last four digits, expiry, billing contact id and the default flag. Never a
card number or security code. `card_id` is unique in the tenant; the row id (AUTOINCREMENT on
SQLite) is never handed out twice; a partial unique index keeps one default card per account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_cards'
down_revision = '0005c_two_factor_sites'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('card_id', sa.String(length=100), nullable=False),
    sa.Column('name_on_card', sa.String(length=200), nullable=True),
    sa.Column('card_type', sa.String(length=50), nullable=True),
    sa.Column('expire_month', sa.Integer(), nullable=True),
    sa.Column('expire_year', sa.Integer(), nullable=True),
    sa.Column('card_number_part', sa.String(length=30), nullable=True),
    sa.Column('contact_id', sa.BigInteger(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_cards_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('tenant_id', 'card_id', name=op.f('uq_cards_tenant_id_card_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_cards_one_default', ['account_id'], unique=True,
                              sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))


def downgrade() -> None:
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ix_cards_one_default')
        batch_op.drop_index(batch_op.f('ix_cards_account_id'))
    op.drop_table('cards')
