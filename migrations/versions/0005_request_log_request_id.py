"""api_request_logs.request_id: the X-Request-Id of each logged request

Revision ID: 0005_request_log_request_id
Revises: 0004_api_key_version
Create Date: 2026-12-02 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_request_log_request_id'
down_revision = '0004_api_key_version'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE (no batch copy): existing rows get "" (their id was never kept).
    op.add_column('api_request_logs', sa.Column('request_id', sa.String(length=128),
                                                nullable=False, server_default=''))


def downgrade():
    op.drop_column('api_request_logs', 'request_id')
