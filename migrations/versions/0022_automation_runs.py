"""automations that run: trigger filters, re-entry, and one automation_runs row per enrolment

Revision ID: 0022_automation_runs
Revises: 0021_key_policy_events
Create Date: 2026-12-02 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_automation_runs'
down_revision = '0021_key_policy_events'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('automations') as batch:
        batch.add_column(sa.Column('trigger_list_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('trigger_tag_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('allow_reentry', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        'automation_runs',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('workspace_id', sa.Uuid(), nullable=False),
        sa.Column('automation_id', sa.Uuid(), nullable=False),
        sa.Column('contact_id', sa.Uuid(), nullable=False),
        sa.Column('entry', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('next_at', sa.DateTime(), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('runner_id', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('sending_step', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=False),
        sa.Column('chain', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['automation_id'], ['automations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('automation_id', 'contact_id', 'entry'),
    )
    op.create_index('ix_automation_runs_workspace_id', 'automation_runs', ['workspace_id'])
    op.create_index('ix_automation_runs_contact_id', 'automation_runs', ['contact_id'])
    op.create_index('ix_automation_runs_due', 'automation_runs', ['state', 'next_at'])
    op.create_index('ix_automation_runs_progress', 'automation_runs',
                    ['automation_id', 'state', 'step'])


def downgrade():
    op.drop_table('automation_runs')
    with op.batch_alter_table('automations') as batch:
        batch.drop_column('allow_reentry')
        batch.drop_column('trigger_tag_id')
        batch.drop_column('trigger_list_id')
