"""applications.storefront_server: an application that is a storefront's server

Revision ID: 0006s_storefront_servers
Revises: 0005c_two_factor_sites
Create Date: 2026-12-06

A storefront's server calls for all its shoppers from one address (issue 15, point 8). An application
flagged `storefront_server` has its proven calls rate limited per shopper address it forwards, else
against a budget of its own, instead of per its own address (login/limits.py). Existing
applications are not storefront servers: nothing changes for them until the flag is set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006s_storefront_servers'
down_revision = '0005c_two_factor_sites'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN, also on SQLite: a batch operation would copy the table, and app_refresh_tokens
    # refers to it
    op.add_column('applications', sa.Column('storefront_server', sa.Boolean(), server_default=sa.false(),
                                            nullable=False))


def downgrade() -> None:
    op.drop_column('applications', 'storefront_server')  # not in a batch, for the reason given in upgrade()
