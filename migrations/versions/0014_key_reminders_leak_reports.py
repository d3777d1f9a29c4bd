"""key_reminders (each expiry reminder claimed once) and leak_reports (leaked-key reports,
digests only, handled off the request path)

Revision ID: 0014_key_reminders_leak_reports
Revises: 0013_key_scopes
Create Date: 2026-12-02 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_key_reminders_leak_reports'
down_revision = '0013_key_scopes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_reminders',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('api_key_id', sa.Uuid(), nullable=False),
        sa.Column('lead_days', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.Column('mailed_to', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'lead_days', 'expires_at'),
    )
    op.create_table(
        'leak_reports',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('digests', sa.JSON(), nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('client_ip', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_leak_reports_processed_at', 'leak_reports', ['processed_at'])


def downgrade():
    op.drop_index('ix_leak_reports_processed_at', table_name='leak_reports')
    op.drop_table('leak_reports')
    op.drop_table('key_reminders')
