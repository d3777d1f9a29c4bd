"""the instance's SMTP_URL has a rate (SMTP_RATE_PER_MINUTE): its window in smtp_rate_windows

Revision ID: 0023_smtp_rate_windows
Revises: 0022_automation_runs
Create Date: 2026-12-02 14:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_smtp_rate_windows'
down_revision = '0022_automation_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'smtp_rate_windows',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=True),
        sa.Column('sent_in_window', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('smtp_rate_windows')
