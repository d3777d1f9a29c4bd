"""The calling key as a plain value: what the API, MCP and services read about it.

Built from one row per request (lookup.py) and never cached: nothing here can go stale
between requests. Immutable NamedTuples rather than ORM instances, so a view cannot lazy-load,
flush or merge anything about the key by accident, and building one costs a tuple.
"""
import uuid
from datetime import datetime
from typing import NamedTuple


class WorkspaceRef(NamedTuple):
    """The key's workspace, as services need it (they read .id, .timezone, .contact_allocation)."""

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    timezone: str
    contact_allocation: int | None


class KeyContext(NamedTuple):
    """One authenticated key for the length of one request (`g.key` on /api and /mcp).

    Room to grow without touching callers: per-resource scopes (issue 18) parse `abilities`
    behind `allows()`, an IP allowlist is one more column read by the same statement."""

    id: uuid.UUID
    name: str
    key_type: str
    abilities: tuple[str, ...]
    status: str
    expires_at: datetime | None
    # The presented string is the one a regenerate replaced (valid only during its grace period).
    presented_previous: bool
    previous_key_expires_at: datetime | None
    workspace: WorkspaceRef

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.workspace.id

    @property
    def ability_list(self) -> list[str]:
        return list(self.abilities)

    def allows(self, ability: str) -> bool:
        """Whether the key holds `ability` (read / write / delete)."""
        return ability in self.abilities
