"""Users, organizations, workspaces, memberships and invitations (SPEC §1)."""
import enum
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        Uuid, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, uuid_pk


class Role(enum.IntEnum):
    """Lowest to highest; a higher role can do everything a lower one can."""

    MEMBER = 1
    MANAGER = 2
    ADMIN = 3
    OWNER = 4

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return {"ADMIN": "Org Admin", "OWNER": "Org Owner"}.get(self.name, self.name.title())

    @property
    def is_org_role(self) -> bool:
        return self >= Role.ADMIN

    @classmethod
    def from_slug(cls, slug: str) -> "Role":
        return cls[slug.upper()]


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    # The switchers remember the last choice per user; a stale id is simply ignored (no FK).
    last_workspace_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # The API key lifetime policy of every workspace here (sureapp/keys/lifetime.py).
    key_max_lifetime_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key_require_expiry: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                                     server_default=false())

    workspaces: Mapped[list["Workspace"]] = relationship(
        back_populates="organization", order_by="Workspace.name", cascade="all, delete-orphan"
    )


class OrgMembership(db.Model):
    """Every user in an org has one; role is member (no org-wide power), admin or owner."""

    __tablename__ = "org_memberships"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id"),
        # Exactly one owner per organization, enforced by the database.
        Index("uq_org_memberships_one_owner", "org_id", unique=True,
              sqlite_where=text("role = 'owner'"), postgresql_where=text("role = 'owner'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="member")
    created_at: Mapped[datetime] = created_at_column()

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship()


class Workspace(db.Model):
    __tablename__ = "workspaces"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    # Maximum number of contacts; None means unlimited.
    contact_allocation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = created_at_column()

    organization: Mapped[Organization] = relationship(back_populates="workspaces")


class WorkspaceMembership(db.Model):
    __tablename__ = "workspace_memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="member")
    created_at: Mapped[datetime] = created_at_column()

    workspace: Mapped[Workspace] = relationship()
    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """A single-use, expiring invitation; only the SHA-256 of its token is stored."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    workspace: Mapped[Workspace] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
