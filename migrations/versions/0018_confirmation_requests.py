"""confirmation_requests: double opt-in mails, one row per pending contact

Revision ID: 0018_confirmation_requests
Revises: 0017_list_subscription_settings
Create Date: 2026-12-02 07:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_confirmation_requests'
down_revision = '0017_list_subscription_settings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'confirmation_requests',
        sa.Column('contact_id', sa.Uuid(), nullable=False),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('list_id', sa.Uuid(), nullable=True),
        sa.Column('mail_due_at', sa.DateTime(), nullable=True),
        sa.Column('mails_sent', sa.Integer(), nullable=False),
        sa.Column('last_mailed_at', sa.DateTime(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=255), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['list_id'], ['contact_lists.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('contact_id'),
    )
    op.create_index('ix_confirmation_requests_mail_due_at', 'confirmation_requests',
                    ['mail_due_at'])
    op.create_index('ix_confirmation_requests_workspace_id', 'confirmation_requests',
                    ['workspace_id'])


def downgrade():
    op.drop_index('ix_confirmation_requests_workspace_id', 'confirmation_requests')
    op.drop_index('ix_confirmation_requests_mail_due_at', 'confirmation_requests')
    op.drop_table('confirmation_requests')
