"""The one statement of key authentication: the key row by digest, with its workspace's columns.

Built once at import and compiled once per dialect (prepared.PreparedRead: run on a pooled DBAPI
connection, no Session, no transaction); the row becomes a KeyContext (no ORM instance, no
identity map, no merge). Read fresh on every request: a revoke, expiry or regenerate is seen by
every worker on its next request. A pooled connection that died while idle (database
restarted) is retried once on a fresh one, which replaces a pre-ping round trip per checkout.
"""
from sqlalchemy import bindparam, or_, select

from ..extensions import db
from ..keys.abilities import split
from ..models import ApiKey, Workspace
from ..prepared import PreparedRead
from .context import KeyContext, WorkspaceRef

_keys, _workspaces = ApiKey.__table__, Workspace.__table__
# Both digests have unique indexes: at most one row, found through an index either way.
KEY_BY_DIGEST = PreparedRead(
    select(_keys.c.id, _keys.c.name, _keys.c.key_type, _keys.c.abilities, _keys.c.status,
           _keys.c.expires_at, _keys.c.key_hash, _keys.c.previous_key_expires_at,
           _keys.c.allowed_ips,
           _workspaces.c.id, _workspaces.c.org_id, _workspaces.c.name, _workspaces.c.timezone,
           _workspaces.c.contact_allocation)
    .join(_workspaces, _workspaces.c.id == _keys.c.workspace_id)
    .where(or_(_keys.c.key_hash == bindparam("digest"),
               _keys.c.previous_key_hash == bindparam("digest")))
)


def _context(row, digest: str) -> KeyContext:
    (key_id, name, key_type, abilities, status, expires_at, key_hash, previous_expires_at,
     allowed_ips, *workspace) = row
    return KeyContext(key_id, name, key_type, split(abilities), status, expires_at,
                      key_hash != digest, previous_expires_at, allowed_ips or "",
                      WorkspaceRef(*workspace))


def find_key(digest: str) -> KeyContext | None:
    """The key whose current or previous string has this digest, or None."""
    row = KEY_BY_DIGEST.first(db.engine, digest=digest)
    return None if row is None else _context(row, digest)
