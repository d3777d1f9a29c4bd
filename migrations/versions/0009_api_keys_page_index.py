"""api_keys (workspace_id, created_at, id): the API Keys table's keyset page needs no sort

Revision ID: 0009_api_keys_page_index
Revises: 0008_idempotent_requests
Create Date: 2026-12-02 01:00:00

The table pages newest first (pagination.newest_first: created_at, id descending) within one
workspace; with this index each page is an index range scan of PER_PAGE + 1 rows, read
backwards, however many keys the workspace has.
"""
from alembic import op


revision = '0009_api_keys_page_index'
down_revision = '0008_idempotent_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_api_keys_workspace_created', 'api_keys',
                    ['workspace_id', 'created_at', 'id'])


def downgrade():
    op.drop_index('ix_api_keys_workspace_created', table_name='api_keys')
