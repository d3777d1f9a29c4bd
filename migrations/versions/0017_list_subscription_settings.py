"""contact_lists.show_on_preferences and double_opt_in: the list settings of subscriptions/

Revision ID: 0017_list_subscription_settings
Revises: 0016_smtp_connections
Create Date: 2026-12-02 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_list_subscription_settings'
down_revision = '0016_smtp_connections'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite supports it), never a batch table copy: copying contact_lists
    # would cascade-delete every list membership (see 0010).
    op.add_column('contact_lists', sa.Column('show_on_preferences', sa.Boolean(),
                                             nullable=False, server_default=sa.false()))
    op.add_column('contact_lists', sa.Column('double_opt_in', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))


def downgrade():
    op.drop_column('contact_lists', 'double_opt_in')
    op.drop_column('contact_lists', 'show_on_preferences')
