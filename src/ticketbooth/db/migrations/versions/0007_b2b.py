"""B2B accounts: their hierarchy and approval, users, roles, sales reps

Revision ID: 0007_b2b
Revises: 0006_cards
Create Date: 2026-12-05

Issue 16. A B2B account is an `accounts` row of account_type "B2B"; its users are `accounts` rows of
account_type "B2BUser" (their logins), joined to it in b2b_users. Roles 1-3 are Kibo's built-in roles
(their behaviors are defined in code); a merchant's roles are numbered from 1001 on, on both databases.
A B2B user's session names the user's own row in token_families.user_account_id.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0007_b2b'
down_revision = '0006_cards'
branch_labels = None
depends_on = None

# a merchant's roles are numbered from 1001 on (b2b/rules.py FIRST_MERCHANT_ROLE)


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    big = sa.BigInteger()
    op.create_table(
        'b2b_accounts',
        sa.Column('account_id', big, nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('parent_account_id', big, nullable=True),
        sa.Column('root_account_id', big, nullable=False),
        sa.Column('depth', sa.Integer(), nullable=False),
        sa.Column('approval_status', sa.String(20), nullable=False),
        sa.Column('price_list', sa.String(100), nullable=True),
        _ts('created_at'),
        _ts('updated_at'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name='fk_b2b_accounts_account_id_accounts',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['parent_account_id'], ['accounts.id'],
                                name='fk_b2b_accounts_parent_account_id_accounts'),
        sa.PrimaryKeyConstraint('account_id', name='pk_b2b_accounts'),
    )
    op.create_index('ix_b2b_accounts_parent_account_id', 'b2b_accounts', ['parent_account_id'])
    op.create_index('ix_b2b_accounts_root_account_id', 'b2b_accounts', ['root_account_id'])

    op.create_table(
        'b2b_users',
        sa.Column('account_id', big, nullable=False),
        sa.Column('user_account_id', big, nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('is_removed', sa.Boolean(), nullable=False),
        _ts('created_at'),
        sa.Column('created_by', sa.String(200), nullable=True),
        _ts('updated_at'),
        sa.Column('updated_by', sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name='fk_b2b_users_account_id_accounts',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_account_id'], ['accounts.id'],
                                name='fk_b2b_users_user_account_id_accounts', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', 'user_account_id', name='pk_b2b_users'),
    )
    op.create_index('ix_b2b_users_user_account_id', 'b2b_users', ['user_account_id'])

    roles = op.create_table(
        'b2b_roles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('is_system', sa.Boolean(), nullable=False),
        _ts('created_at'),
        sa.Column('created_by', sa.String(200), nullable=True),
        _ts('updated_at'),
        sa.Column('updated_by', sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_b2b_roles'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_b2b_roles_tenant_id', 'b2b_roles', ['tenant_id'])
    now = datetime.now(UTC)
    op.bulk_insert(roles, [
        {'id': role_id, 'tenant_id': None, 'name': name, 'is_system': True, 'created_at': now,
         'created_by': None, 'updated_at': now, 'updated_by': None}
        for role_id, name in ((1, 'Admin'), (2, 'Purchaser'), (3, 'Non-Purchaser'))
    ])
    # the sequences continue at 1001
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('b2b_roles', 'id'), 1000)")
    else:
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'b2b_roles'")
        op.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('b2b_roles', 1000)")

    op.create_table(
        'b2b_role_behaviors',
        sa.Column('role_id', sa.Integer(), nullable=False),
        sa.Column('behavior_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['role_id'], ['b2b_roles.id'], name='fk_b2b_role_behaviors_role_id_b2b_roles',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('role_id', 'behavior_id', name='pk_b2b_role_behaviors'),
    )
    op.create_table(
        'b2b_role_accounts',
        sa.Column('role_id', sa.Integer(), nullable=False),
        sa.Column('account_id', big, nullable=False),
        sa.Column('apply_to_future_children', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['role_id'], ['b2b_roles.id'], name='fk_b2b_role_accounts_role_id_b2b_roles',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name='fk_b2b_role_accounts_account_id_accounts', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('role_id', 'account_id', name='pk_b2b_role_accounts'),
    )
    op.create_index('ix_b2b_role_accounts_account_id', 'b2b_role_accounts', ['account_id'])

    op.create_table(
        'b2b_user_roles',
        sa.Column('account_id', big, nullable=False),
        sa.Column('user_account_id', big, nullable=False),
        sa.Column('role_id', sa.Integer(), nullable=False),
        _ts('created_at'),
        sa.Column('created_by', sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name='fk_b2b_user_roles_account_id_accounts',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_account_id'], ['accounts.id'],
                                name='fk_b2b_user_roles_user_account_id_accounts', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['role_id'], ['b2b_roles.id'], name='fk_b2b_user_roles_role_id_b2b_roles',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', 'user_account_id', 'role_id', name='pk_b2b_user_roles'),
    )
    op.create_index('ix_b2b_user_roles_user_account_id', 'b2b_user_roles', ['user_account_id'])
    op.create_index('ix_b2b_user_roles_role_id', 'b2b_user_roles', ['role_id'])

    op.create_table(
        'b2b_sales_reps',
        sa.Column('account_id', big, nullable=False),
        sa.Column('admin_user_id', sa.String(200), nullable=False),
        _ts('created_at'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name='fk_b2b_sales_reps_account_id_accounts',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', 'admin_user_id', name='pk_b2b_sales_reps'),
    )
    op.create_index('ix_b2b_sales_reps_admin_user_id', 'b2b_sales_reps', ['admin_user_id'])

    # a plain ADD COLUMN, also on SQLite (no table copy)
    op.add_column('token_families', sa.Column('user_account_id', big, nullable=True))


def downgrade() -> None:
    op.drop_column('token_families', 'user_account_id')
    for table in ('b2b_sales_reps', 'b2b_user_roles', 'b2b_role_accounts', 'b2b_role_behaviors', 'b2b_roles',
                  'b2b_users', 'b2b_accounts'):
        op.drop_table(table)
