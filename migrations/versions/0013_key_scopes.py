"""api_keys: restricted abilities (RESOURCE:ABILITY strings) and an IP allowlist per key

Revision ID: 0013_key_scopes
Revises: 0012_key_lifetime_policy
Create Date: 2026-12-02 00:40:00

abilities widens from 32 to 512 characters: a key restricted to every scope of every resource
holds 21 strings such as automations:delete (302 characters). allowed_ips holds the key's
normalised addresses and CIDR ranges, "" for any address.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_key_scopes'
down_revision = '0012_key_lifetime_policy'
branch_labels = None
depends_on = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    # Plain ALTER TABLE on both backends (no batch table copy: on SQLite, copying api_keys with
    # foreign keys on would cascade-delete the audit trail and request log of every key).
    op.add_column('api_keys', sa.Column('allowed_ips', sa.Text(), nullable=False,
                                        server_default=sa.text("''")))
    if _is_sqlite():
        _replace_abilities_column_on_sqlite(sa.String(512))
    else:
        op.alter_column('api_keys', 'abilities', type_=sa.String(512),
                        existing_type=sa.String(32), existing_nullable=False)


def _replace_abilities_column_on_sqlite(type_) -> None:
    """SQLite cannot change a column's declared type in place: add the new column, copy, drop
    the old one, rename (SQLite ≥ 3.35; abilities has no index or constraint to move)."""
    op.add_column('api_keys', sa.Column('abilities_new', type_, nullable=False,
                                        server_default=sa.text("''")))
    op.execute("UPDATE api_keys SET abilities_new = abilities")
    op.drop_column('api_keys', 'abilities')
    op.alter_column('api_keys', 'abilities_new', new_column_name='abilities')


def downgrade():
    # The old code knows only read/write/delete, and a restricted key must not keep working
    # with an ability it never had: it is revoked (and left with read, which fits the column).
    op.execute("UPDATE api_keys SET status = 'revoked', revoked_at = CURRENT_TIMESTAMP, "
               "abilities = 'read' WHERE abilities LIKE '%:%'")
    if _is_sqlite():
        _replace_abilities_column_on_sqlite(sa.String(32))
    else:
        op.alter_column('api_keys', 'abilities', type_=sa.String(32),
                        existing_type=sa.String(512), existing_nullable=False)
    op.drop_column('api_keys', 'allowed_ips')  # SQLite ≥ 3.35 drops a column in place
