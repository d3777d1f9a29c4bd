"""API keys, their lifecycle audit and their request log (SPEC §2)."""
import uuid
from datetime import datetime

from sqlalchemy import (JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, uuid_pk

ABILITIES = ("read", "write", "delete")
KEY_TYPES = ("api", "mcp", "suremails")
# Which surfaces each key type may call.
KEY_TYPE_SURFACES = {"api": {"api", "mcp"}, "mcp": {"mcp"}, "suremails": {"api"}}


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_workspace_name", "workspace_id", "name"),
        # The API Keys table's keyset order (newest first) within a workspace: no sort step.
        Index("ix_api_keys_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    key_type: Mapped[str] = mapped_column(String(16), nullable=False, default="api")
    # Canonical comma-separated ability strings (keys/abilities.py): read, contacts:write, …
    # (every scope of every resource fits: 302 characters today).
    abilities: Mapped[str] = mapped_column(String(512), nullable=False)
    # Normalised comma-separated addresses and CIDR ranges the key may be used from
    # (keys/allowlist.py); "" means from anywhere.
    allowed_ips: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"),
                                             default="")
    # SHA-256 hex digest of the key string; the plaintext is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_first4: Mapped[str] = mapped_column(String(4), nullable=False)
    key_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    # After a regenerate with a grace period, the old string keeps working until this time.
    previous_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    previous_key_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = created_at_column()
    # Bumped by every change through the ORM; an UPDATE matches only the version it read, so
    # two changes can never silently overwrite each other (keys/services.py: compare-and-set).
    # Last Used is written around it (usage/recorder.py), so using a key never conflicts.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))

    workspace = relationship("Workspace")
    created_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}

    @property
    def ability_list(self) -> list[str]:
        return self.abilities.split(",") if self.abilities else []

    @property
    def allowed_ip_list(self) -> list[str]:
        return self.allowed_ips.split(",") if self.allowed_ips else []

    @property
    def masked(self) -> str:
        return f"{self.key_first4}…{self.key_last4}"


class ApiKeyEvent(db.Model):
    """Lifecycle audit: created, edited (with changes), revoked, activated, regenerated…"""

    __tablename__ = "api_key_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # Who acted when there is no user (e.g. "CLI").
    actor_label: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()

    actor = relationship("User")


class KeyPolicyEvent(db.Model):
    """Audit of an organization's API key policy: each change, with what changed, who and when
    (the key lifecycle's twin, api_key_events, for the rule every key of the org obeys)."""

    __tablename__ = "key_policy_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {field: {from, to}}
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor_label: Mapped[str] = mapped_column(String(255), nullable=False, default="")  # "CLI"
    created_at: Mapped[datetime] = created_at_column()

    actor = relationship("User")


class ApiRequestLog(db.Model):
    """One row per API/MCP request made with a key; written in batches off the request path."""

    __tablename__ = "api_request_logs"
    __table_args__ = (Index("ix_api_request_logs_key_time", "api_key_id", "created_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(512), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    # Why a request naming this key was refused (keys/state.Refusal.code: revoked, expired,
    # regenerated, wrong_type, scope, ip); NULL for every request the key was allowed to make.
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The route it called ("GET /api/v1/contacts/{contact_id}"; the tool on /mcp), so the key
    # page can rank what a key calls without every id making a path of its own.
    route: Mapped[str] = mapped_column(String(255), nullable=False, server_default="")
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # The X-Request-Id the response carried (errorlog.request_id): a client's report names it.
    request_id: Mapped[str] = mapped_column(String(128), nullable=False, default="",
                                            server_default="")


class LeakReport(db.Model):
    """A report of key strings found in public (POST /api/v1/leaked-keys), handled off the
    request path (keys/leaks.py). Only the SHA-256 digests of well-formed strings are kept."""

    __tablename__ = "leak_reports"

    id: Mapped[uuid.UUID] = uuid_pk()
    digests: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    source: Mapped[str] = mapped_column(String(100), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False, default="")
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    # Set by the worker that claims the report (one conditional UPDATE: exactly one does).
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class KeyReminder(db.Model):
    """One expiry reminder of one key, claimed by inserting this row before anything is sent:
    the unique (key, lead, expiry) lets exactly one worker claim it (keys/reminders.py). A new
    expiry is a new reminder; the rows also feed the keys page's banner."""

    __tablename__ = "key_reminders"
    __table_args__ = (UniqueConstraint("api_key_id", "lead_days", "expires_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False
    )
    lead_days: Mapped[int] = mapped_column(Integer, nullable=False)  # 7 or 1
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    mailed_to: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # mails accepted
