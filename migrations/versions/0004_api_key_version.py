"""api_keys.version: every key change is a compare-and-set

Revision ID: 0004_api_key_version
Revises: 0003_user_sessions
Create Date: 2026-12-01 21:30:00

Also repairs what the race this closes could leave behind: a revoked key that still carried
the string a regenerate replaced (a revoked key never keeps a grace string).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_api_key_version'
down_revision = '0003_user_sessions'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both backends (no batch table copy: on SQLite, copying api_keys with
    # foreign keys on would cascade-delete the audit trail and request log of every key).
    op.add_column('api_keys', sa.Column('version', sa.Integer(), nullable=False,
                                        server_default=sa.text('1')))
    op.execute("UPDATE api_keys SET previous_key_hash = NULL, previous_key_expires_at = NULL "
               "WHERE status = 'revoked'")


def downgrade():
    op.drop_column('api_keys', 'version')  # SQLite ≥ 3.35 drops a column in place
