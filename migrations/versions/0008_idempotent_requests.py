"""idempotent_requests: Idempotency-Key claims and stored responses (24 h)

Revision ID: 0008_idempotent_requests
Revises: 0007_webhooks
Create Date: 2026-12-02 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_idempotent_requests'
down_revision = '0007_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('api_key_id', sa.Uuid(), nullable=False),
        sa.Column('key_digest', sa.String(length=64), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'key_digest', name='uq_idempotent_requests_key'),
    )
    op.create_index('ix_idempotent_requests_expires_at', 'idempotent_requests', ['expires_at'])


def downgrade():
    op.drop_index('ix_idempotent_requests_expires_at', table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
