"""organizations.key_max_lifetime_days and .key_require_expiry: the org's API key lifetime policy

Revision ID: 0012_key_lifetime_policy
Revises: 0011_contacts_updated_index
Create Date: 2026-12-02 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_key_lifetime_policy'
down_revision = '0011_contacts_updated_index'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('organizations', sa.Column('key_max_lifetime_days', sa.Integer(), nullable=True))
    op.add_column('organizations', sa.Column('key_require_expiry', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))


def downgrade():
    op.drop_column('organizations', 'key_require_expiry')
    op.drop_column('organizations', 'key_max_lifetime_days')
