"""organizations.key_max_lifetime_days and .key_require_expiry: the org's API key lifetime policy

Revision ID: 0011_key_lifetime_policy
Revises: 0010_drop_users_session_version
Create Date: 2026-12-02 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_key_lifetime_policy'
down_revision = '0010_drop_users_session_version'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('organizations', sa.Column('key_max_lifetime_days', sa.Integer(), nullable=True))
    op.add_column('organizations', sa.Column('key_require_expiry', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))


def downgrade():
    op.drop_column('organizations', 'key_require_expiry')
    op.drop_column('organizations', 'key_max_lifetime_days')
