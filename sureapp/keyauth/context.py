"""The calling key as a plain value: what the API, MCP and services read about it.

Built from one row per request (lookup.py) and never cached: nothing here can go stale
between requests. Immutable NamedTuples rather than ORM instances, so a view cannot lazy-load,
flush or merge anything about the key by accident, and building one costs a tuple.
"""
import uuid
from datetime import datetime
from typing import NamedTuple

from ..keys.abilities import grants


class WorkspaceRef(NamedTuple):
    """The key's workspace, as services need it (they read .id, .timezone, .contact_allocation)."""

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    timezone: str
    contact_allocation: int | None


class KeyContext(NamedTuple):
    """One authenticated key for the length of one request (`g.key` on /api and /mcp).

    `abilities` holds the key's ability strings (keys/abilities.py: `read`, `contacts:write`…);
    `allowed_ips` its normalised IP allowlist ("" for any address)."""

    id: uuid.UUID
    name: str
    key_type: str
    abilities: tuple[str, ...]
    status: str
    expires_at: datetime | None
    # The presented string is the one a regenerate replaced (valid only during its grace period).
    presented_previous: bool
    previous_key_expires_at: datetime | None
    allowed_ips: str
    workspace: WorkspaceRef

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.workspace.id

    @property
    def ability_list(self) -> list[str]:
        return list(self.abilities)

    @property
    def allowed_ip_list(self) -> list[str]:
        return self.allowed_ips.split(",") if self.allowed_ips else []

    def allows(self, ability: str, resource: str | None = None) -> bool:
        """Whether the key may use `ability` (read / write / delete) on `resource` (None: on
        every resource)."""
        return grants(self.abilities, ability, resource)
