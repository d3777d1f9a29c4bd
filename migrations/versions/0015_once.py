"""one_time_reveals and form_submissions: show-once secrets after a redirect, single-use forms

Revision ID: 0015_once
Revises: 0014_key_reminders_leak_reports
Create Date: 2026-12-02 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_once'
down_revision = '0014_key_reminders_leak_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'one_time_reveals',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('purpose', sa.String(length=64), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=False),
        sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_one_time_reveals_expires_at', 'one_time_reveals', ['expires_at'])
    op.create_table(
        'form_submissions',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('result_url', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token'),
    )
    op.create_index('ix_form_submissions_created_at', 'form_submissions', ['created_at'])


def downgrade():
    op.drop_index('ix_form_submissions_created_at', table_name='form_submissions')
    op.drop_table('form_submissions')
    op.drop_index('ix_one_time_reveals_expires_at', table_name='one_time_reveals')
    op.drop_table('one_time_reveals')
