"""smtp_connections: a workspace's SMTP servers (password encrypted at rest), sender rules, rate

Revision ID: 0016_smtp_connections
Revises: 0015_once
Create Date: 2026-12-02 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_smtp_connections'
down_revision = '0015_once'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'smtp_connections',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('tls_mode', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('password_encrypted', sa.Text(), nullable=True),
        sa.Column('from_addresses', sa.JSON(), nullable=False),
        sa.Column('mails_per_minute', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=True),
        sa.Column('sent_in_window', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_smtp_connections_workspace_id', 'smtp_connections', ['workspace_id'])


def downgrade():
    op.drop_index('ix_smtp_connections_workspace_id', table_name='smtp_connections')
    op.drop_table('smtp_connections')
