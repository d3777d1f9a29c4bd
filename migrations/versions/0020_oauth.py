"""oauth_clients, oauth_grants, oauth_codes, oauth_refresh_tokens: OAuth 2.1 for /mcp

Revision ID: 0020_oauth
Revises: 0019_campaign_sending
Create Date: 2026-12-02 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_oauth'
down_revision = '0019_campaign_sending'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'oauth_clients',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('client_id', sa.String(length=2048), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('client_uri', sa.String(length=2048), nullable=False),
        sa.Column('redirect_uris', sa.JSON(), nullable=False),
        sa.Column('auth_method', sa.String(length=32), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('fetched_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('client_id'),
    )
    op.create_table(
        'oauth_grants',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('client_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('api_key_id', sa.Uuid(), nullable=False),
        sa.Column('resource', sa.String(length=2048), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_reason', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id'),
    )
    op.create_index('ix_oauth_grants_client_id', 'oauth_grants', ['client_id'])
    op.create_index('ix_oauth_grants_workspace_id', 'oauth_grants', ['workspace_id'])
    op.create_table(
        'oauth_codes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('redirect_uri', sa.Text(), nullable=False),
        sa.Column('code_challenge', sa.String(length=128), nullable=False),
        sa.Column('abilities', sa.String(length=512), nullable=False),
        sa.Column('resource', sa.String(length=2048), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('grant_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['oauth_clients.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['grant_id'], ['oauth_grants.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash'),
    )
    op.create_index('ix_oauth_codes_expires_at', 'oauth_codes', ['expires_at'])
    op.create_table(
        'oauth_refresh_tokens',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('grant_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['grant_id'], ['oauth_grants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_oauth_refresh_tokens_grant_id', 'oauth_refresh_tokens', ['grant_id'])
    op.create_index('ix_oauth_refresh_tokens_expires_at', 'oauth_refresh_tokens', ['expires_at'])


def downgrade():
    op.drop_table('oauth_refresh_tokens')
    op.drop_table('oauth_codes')
    op.drop_table('oauth_grants')
    op.drop_table('oauth_clients')
