"""accounts.locked_by_admin: an administrator's lock told apart from a lock by failed passwords

Revision ID: 0005b_lockout_per_account
Revises: 0004
Create Date: 2026-12-05

A password reset or a one-time-code login lifts a lock reached by failed passwords, never one an
administrator set (issue 13, finding 9). Until now the two were told apart by a guess (a lock with an
end, or a failed-login count at the tenant's limit, was taken for a failure lock), which an
administrator's lock of an account the failures had locked already defeated. The lock now says who set
it. Existing locks are marked by the old rule, with each tenant's own limit: a lock without an end and
with fewer failures than the limit was an administrator's.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0005b_lockout_per_account'
down_revision = '0004'
branch_labels = None
depends_on = None

DEFAULT_MAX_FAILED_LOGINS = 10  # LockoutPolicy.max_failed_logins's default

tenants = sa.table("tenants", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
accounts = sa.table("accounts", sa.column("tenant_id", sa.Integer), sa.column("is_locked", sa.Boolean),
                    sa.column("lock_expires_at", sa.DateTime), sa.column("failed_login_count", sa.Integer),
                    sa.column("locked_by_admin", sa.Boolean))


def _max_failed_logins(settings: Any) -> int:
    if isinstance(settings, str):
        settings = json.loads(settings)
    lockout = settings.get("lockout") if isinstance(settings, dict) else None
    value = lockout.get("max_failed_logins") if isinstance(lockout, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MAX_FAILED_LOGINS


def upgrade() -> None:
    # a plain ADD COLUMN, also on SQLite: a batch operation would copy the table, and dropping the old
    # one would cascade to the rows that reference accounts (login names, devices, ...)
    op.add_column('accounts', sa.Column('locked_by_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    bind = op.get_bind()
    for tenant_id, settings in bind.execute(sa.select(tenants.c.id, tenants.c.settings)).all():
        bind.execute(accounts.update().where(
            accounts.c.tenant_id == tenant_id, accounts.c.is_locked.is_(True), accounts.c.lock_expires_at.is_(None),
            accounts.c.failed_login_count < _max_failed_logins(settings),
        ).values(locked_by_admin=True))


def downgrade() -> None:
    op.drop_column('accounts', 'locked_by_admin')  # not in a batch, for the reason given in upgrade()
