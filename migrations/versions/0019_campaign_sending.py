"""campaign sending: campaign_recipients (one row per campaign × contact), gradual pace, timings

Revision ID: 0019_campaign_sending
Revises: 0018_confirmation_requests
Create Date: 2026-12-02 06:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_campaign_sending'
down_revision = '0018_confirmation_requests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('send_per_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('next_send_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('finished_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('status_reason', sa.String(length=500), nullable=False,
                                   server_default=''))
    # Until now a status was only a label and nothing was ever sent: a campaign marked
    # 'scheduled' or 'sent' becomes a draft, so none starts mailing without someone asking.
    op.execute("UPDATE campaigns SET status = 'draft' WHERE status IN ('scheduled', 'sent')")
    op.create_table(
        'campaign_recipients',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.Column('contact_id', sa.Uuid(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=128), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('unsubscribed_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'contact_id'),
    )
    op.create_index('ix_campaign_recipients_due', 'campaign_recipients',
                    ['campaign_id', 'status', 'next_attempt_at'])
    op.create_index('ix_campaign_recipients_contact_id', 'campaign_recipients', ['contact_id'])


def downgrade():
    op.drop_index('ix_campaign_recipients_contact_id', table_name='campaign_recipients')
    op.drop_index('ix_campaign_recipients_due', table_name='campaign_recipients')
    op.drop_table('campaign_recipients')
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('status_reason')
        batch.drop_column('finished_at')
        batch.drop_column('started_at')
        batch.drop_column('next_send_at')
        batch.drop_column('send_per_hour')
