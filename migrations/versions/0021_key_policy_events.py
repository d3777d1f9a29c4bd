"""key policy audit: key_policy_events (each change of an organization's API key policy)

Revision ID: 0021_key_policy_events
Revises: 0020_oauth
Create Date: 2026-12-02 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_key_policy_events'
down_revision = '0020_oauth'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_policy_events',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('org_id', sa.Uuid(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('actor_id', sa.Uuid(), nullable=True),
        sa.Column('actor_label', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('key_policy_events') as batch:
        batch.create_index(batch.f('ix_key_policy_events_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('key_policy_events') as batch:
        batch.drop_index(batch.f('ix_key_policy_events_org_id'))
    op.drop_table('key_policy_events')
