"""contacts (workspace_id, updated_at) index: the `updated_after` filter

Revision ID: 0009_contacts_updated_index
Revises: 0008_idempotent_requests
Create Date: 2026-12-02 01:15:00
"""
from alembic import op


revision = '0009_contacts_updated_index'
down_revision = '0008_idempotent_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_contacts_workspace_updated', 'contacts', ['workspace_id', 'updated_at'])


def downgrade():
    op.drop_index('ix_contacts_workspace_updated', table_name='contacts')
