"""Drop users.session_version: nothing reads or writes it since sessions are server-side records

Revision ID: 0010_drop_users_session_version
Revises: 0009_api_keys_page_index
Create Date: 2026-12-02 01:00:00

(user_sessions, migration 0003, is what ends sessions on log-out and password change.)
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_drop_users_session_version'
down_revision = '0009_api_keys_page_index'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35 drops it in place). Never
    # a batch table copy: on SQLite, dropping the old users table with foreign keys on would
    # cascade-delete every membership, session and invitation of every user.
    op.drop_column('users', 'session_version')


def downgrade():
    op.add_column('users', sa.Column('session_version', sa.Integer(), nullable=False,
                                     server_default=sa.text('1')))
