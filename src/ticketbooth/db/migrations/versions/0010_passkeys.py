"""passkeys: shoppers' and staff members' WebAuthn credentials, and the challenges of their ceremonies

Revision ID: 0010_passkeys
Revises: 0009_console_search
Create Date: 2026-12-05

Issue 19 (passkeys/): `passkeys` (a shopper's credentials: public key, sign counter, backup flags, the
relying party), `passkey_challenges` (one ceremony waiting for the browser: single use, short-lived) and
`staff_passkeys` (the console's staff members' credentials, used by staff/).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_passkeys'
down_revision = '0009_console_search'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _credential_columns() -> list[sa.Column[object]]:
    return [
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('aaguid', sa.String(length=36), nullable=False),
        sa.Column('transports', sa.JSON(), nullable=False),
        sa.Column('backup_eligible', sa.Boolean(), nullable=False),
        sa.Column('backed_up', sa.Boolean(), nullable=False),
        sa.Column('rp_id', sa.String(length=253), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table('passkeys',
    sa.Column('id', _BIG_ID, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_set_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    *_credential_columns(),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_passkeys_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
    sa.UniqueConstraint('customer_set_id', 'credential_id', name=op.f('uq_passkeys_customer_set_id_credential_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkeys_account_id'), ['account_id'], unique=False)
    op.create_table('passkey_challenges',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('staff_id', sa.BigInteger(), nullable=True),
    sa.Column('challenge', sa.LargeBinary(), nullable=False),
    sa.Column('rp_id', sa.String(length=253), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_passkey_challenges_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_passkey_challenges_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_challenges')),
    )
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_challenges_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passkey_challenges_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passkey_challenges_expires_at'), ['expires_at'], unique=False)
    op.create_table('staff_passkeys',
    sa.Column('id', _BIG_ID, nullable=False),
    sa.Column('staff_id', sa.BigInteger(), nullable=False),
    *_credential_columns(),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_passkeys_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_passkeys')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_staff_passkeys_credential_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('staff_passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_passkeys_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_passkeys_staff_id'))
    op.drop_table('staff_passkeys')
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_challenges_expires_at'))
        batch_op.drop_index(batch_op.f('ix_passkey_challenges_staff_id'))
        batch_op.drop_index(batch_op.f('ix_passkey_challenges_account_id'))
    op.drop_table('passkey_challenges')
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkeys_account_id'))
    op.drop_table('passkeys')
