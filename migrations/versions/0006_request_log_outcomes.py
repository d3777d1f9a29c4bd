"""api_request_logs.reason and .route: refused requests are logged on their key with the reason,
and the key page ranks the routes a key calls

Revision ID: 0006_request_log_outcomes
Revises: 0005_request_log_request_id
Create Date: 2026-12-02 00:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_request_log_outcomes'
down_revision = '0005_request_log_request_id'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both backends (no batch copy of a table that may be large).
    op.add_column('api_request_logs', sa.Column('reason', sa.String(length=32), nullable=True))
    op.add_column('api_request_logs', sa.Column('route', sa.String(length=255), nullable=False,
                                                server_default=''))


def downgrade():
    op.drop_column('api_request_logs', 'route')
    op.drop_column('api_request_logs', 'reason')
