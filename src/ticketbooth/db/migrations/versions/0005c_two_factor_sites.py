"""token families: what their login proved

Revision ID: 0005c_two_factor_sites
Revises: 0005e_account_ids_never_reused
Create Date: 2026-12-05

A ticket acts only at the sites whose 2FA rule its login satisfied (issue 13, finding 5): a password
login at a site without 2FA must not act at a sibling site of the customer set that asks a second
factor. Each token family now records what its login proved: `amr` (RFC 8176 methods, such as
"pwd otp mfa") and `two_factor_met` (the site 2FA triggers it satisfied). Families from before this
revision have neither and so meet no trigger: at a site with a 2FA rule, their shoppers log in again;
elsewhere nothing changes.

A pending 2FA login (login_challenges) also counts apart the wrong codes sent with only its userId
(`user_id_failed_attempts`, issue 13e): Kibo's SDK model {userId, otpCode} keeps working, but a
stranger who knows the userId spends that allowance, not the tries of the client holding the pending
token. Existing challenges start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005c_two_factor_sites'
down_revision = '0005e_account_ids_never_reused'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amr', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('two_factor_met', sa.String(length=64), nullable=True))
    with op.batch_alter_table('login_challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id_failed_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('login_challenges', schema=None) as batch_op:
        batch_op.drop_column('user_id_failed_attempts')
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.drop_column('two_factor_met')
        batch_op.drop_column('amr')
