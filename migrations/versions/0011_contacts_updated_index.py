"""contacts (workspace_id, updated_at) index: the `updated_after` filter

Revision ID: 0011_contacts_updated_index
Revises: 0010_drop_users_session_version
Create Date: 2026-12-02 01:15:00
"""
from alembic import op


revision = '0011_contacts_updated_index'
down_revision = '0010_drop_users_session_version'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_contacts_workspace_updated', 'contacts', ['workspace_id', 'updated_at'])


def downgrade():
    op.drop_index('ix_contacts_workspace_updated', table_name='contacts')
