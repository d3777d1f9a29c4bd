"""The one statement of key authentication: the key row by digest, with its workspace's columns.

Built once at import as a Core statement, so SQLAlchemy compiles it once per dialect and every
request reuses the compiled form; the row becomes a KeyContext (no ORM instance, no session
identity map, no merge). Read fresh on every request: a revoke, expiry or regenerate is seen by
every worker on its next request.
"""
from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import ApiKey, Workspace
from .context import KeyContext, WorkspaceRef

READ_ONLY = {"isolation_level": "AUTOCOMMIT"}
_keys, _workspaces = ApiKey.__table__, Workspace.__table__
# Both digests have unique indexes: at most one row, found through an index either way.
KEY_BY_DIGEST = (
    select(_keys.c.id, _keys.c.name, _keys.c.key_type, _keys.c.abilities, _keys.c.status,
           _keys.c.expires_at, _keys.c.key_hash, _keys.c.previous_key_expires_at,
           _workspaces.c.id, _workspaces.c.org_id, _workspaces.c.name, _workspaces.c.timezone,
           _workspaces.c.contact_allocation)
    .join(_workspaces, _workspaces.c.id == _keys.c.workspace_id)
    .where(or_(_keys.c.key_hash == bindparam("digest"),
               _keys.c.previous_key_hash == bindparam("digest")))
)


def _context(row, digest: str) -> KeyContext:
    (key_id, name, key_type, abilities, status, expires_at, key_hash, previous_expires_at,
     *workspace) = row
    return KeyContext(key_id, name, key_type, tuple(abilities.split(",")) if abilities else (),
                      status, expires_at, key_hash != digest, previous_expires_at,
                      WorkspaceRef(*workspace))


def _connection(read_only: bool):
    # A read needs no transaction: autocommit spares PostgreSQL a BEGIN and a ROLLBACK round
    # trip; the rest of the request's statements run on this same connection. SQLite's driver
    # begins transactions only before writes, and switching its isolation level costs PRAGMAs.
    session = db.session()
    if read_only and session.get_bind().dialect.name != "sqlite":
        return session.connection(execution_options=READ_ONLY)
    return session.connection()


def find_key(digest: str, read_only: bool = False) -> KeyContext | None:
    """The key whose current or previous string has this digest, or None. The first statement
    of the request's session: `read_only` makes the whole request run without a transaction.

    This is the first statement of a keyed request, so a pooled connection that died while idle
    (database restarted) surfaces here: SQLAlchemy invalidates it and the pool, and the lookup
    is retried once on a fresh connection. That replaces a pre-ping round trip per checkout."""
    params = {"digest": digest}
    try:
        row = _connection(read_only).execute(KEY_BY_DIGEST, params).first()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.session.rollback()
        row = _connection(read_only).execute(KEY_BY_DIGEST, params).first()
    return None if row is None else _context(row, digest)
