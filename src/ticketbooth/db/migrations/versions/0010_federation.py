"""identity providers, linked identities, federation flows and exchange codes

Revision ID: 0010_federation
Revises: 0010_passkeys
Create Date: 2026-12-05

OpenID Connect federation (issue 19; federation/): a tenant's identity providers (client secret sealed), the
provider identities linked to accounts, sign-ins under way (hashes of state and nonce, the PKCE verifier
sealed) and the one-time exchange codes they end in (hashes only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_federation'
down_revision = '0010_passkeys'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('identity_providers',
    sa.Column('id', _BIG_ID, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=2000), nullable=False),
    sa.Column('client_id', sa.String(length=500), nullable=False),
    sa.Column('client_secret', sa.LargeBinary(), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('trust_email', sa.Boolean(), nullable=False),
    sa.Column('create_accounts', sa.Boolean(), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers')),
    sa.UniqueConstraint('tenant_id', 'alias', name=op.f('uq_identity_providers_tenant_id_alias')),
    sqlite_autoincrement=True,
    )
    op.create_table('linked_identities',
    sa.Column('id', _BIG_ID, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                            name=op.f('fk_linked_identities_provider_id_identity_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_linked_identities_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linked_identities')),
    sa.UniqueConstraint('provider_id', 'subject', name=op.f('uq_linked_identities_provider_id_subject')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('linked_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linked_identities_account_id'), ['account_id'], unique=False)
    op.create_table('federation_flows',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('verifier', sa.LargeBinary(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.BigInteger(), nullable=False),
    sa.Column('return_url', sa.Text(), nullable=False),
    sa.Column('link_account_id', sa.BigInteger(), nullable=True),
    sa.Column('previous_anonymous', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                            name=op.f('fk_federation_flows_provider_id_identity_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_account_id'], ['accounts.id'],
                            name=op.f('fk_federation_flows_link_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_flows')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_federation_flows_state_hash')),
    )
    with op.batch_alter_table('federation_flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_flows_expires_at'), ['expires_at'], unique=False)
    op.create_table('federation_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('flow_id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('identity_id', sa.BigInteger(), nullable=False),
    sa.Column('provider_mfa', sa.Boolean(), nullable=False),
    sa.Column('previous_anonymous', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_federation_codes_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['identity_id'], ['linked_identities.id'],
                            name=op.f('fk_federation_codes_identity_id_linked_identities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_federation_codes')),
    )
    with op.batch_alter_table('federation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_codes_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('federation_codes')
    op.drop_table('federation_flows')
    with op.batch_alter_table('linked_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_linked_identities_account_id'))
    op.drop_table('linked_identities')
    op.drop_table('identity_providers')
