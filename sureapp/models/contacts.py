"""Contacts, lists, tags and campaigns (SPEC §3)."""
import uuid
from datetime import datetime

from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table,
                        Text, UniqueConstraint, Uuid, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, updated_at_column, uuid_pk

CONTACT_STATUSES = ("active", "pending", "unsubscribed", "bounced", "invalid")
# Set by the system only (campaigns/sending.py): draft → scheduled → sending → sent, and
# paused (resumable) / cancelled (final) on the way.
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")

list_members = Table(
    "list_members",
    db.metadata,
    Column("list_id", Uuid, ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

tag_members = Table(
    "tag_members",
    db.metadata,
    Column("tag_id", Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

campaign_lists = Table(
    "campaign_lists",
    db.metadata,
    Column("campaign_id", Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", Uuid, ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True),
)


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        # Emails are stored normalized (trimmed, lower-case), so this is case-insensitive.
        UniqueConstraint("workspace_id", "email"),
        # Keyset pagination: newest first, id breaks ties.
        Index("ix_contacts_workspace_created", "workspace_id", "created_at", "id"),
        # The contacts page's other sortable columns (keyset pagination on each; email sorts
        # on the unique (workspace_id, email) index above).
        Index("ix_contacts_workspace_name", "workspace_id", "first_name", "last_name", "id"),
        Index("ix_contacts_workspace_company", "workspace_id", "company", "id"),
        # `updated_after` (polling for changes) narrows by this.
        Index("ix_contacts_workspace_updated", "workspace_id", "updated_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    first_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    company: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    job_title: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    source: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    custom_fields: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    lists: Mapped[list["ContactList"]] = relationship(
        secondary=list_members, back_populates="contacts", order_by="ContactList.name"
    )
    tags: Mapped[list["Tag"]] = relationship(
        secondary=tag_members, back_populates="contacts", order_by="Tag.name"
    )


class ContactEvent(db.Model):
    """A contact's timeline: created, updated fields, list/tag added/removed, with the source."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_contact_time", "contact_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Human-readable origin: "UI: ana@example.com", "API key: Zapier", "Import".
    source: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()


class ContactList(db.Model):
    __tablename__ = "contact_lists"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Contacts may join or leave it on their preferences page (subscriptions/); off by
    # default, since a list's name may be internal ("Churn risk").
    show_on_preferences: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                      server_default=false())
    # Contacts added from the API or MCP are `pending` until they confirm by mail.
    double_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                server_default=false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    contacts: Mapped[list[Contact]] = relationship(
        secondary=list_members, back_populates="lists", lazy="dynamic"
    )


class Tag(db.Model):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False, default="#6b7280")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    contacts: Mapped[list[Contact]] = relationship(
        secondary=tag_members, back_populates="tags", lazy="dynamic"
    )


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    from_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    from_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    content_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Gradual send: at most this many mails an hour (None: as fast as the SMTP rate allows).
    send_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When the sender may claim its next batch (the gradual pace, shared by every worker).
    next_send_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Why the system paused it ("" otherwise), e.g. the SMTP server refused the login.
    status_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    lists: Mapped[list[ContactList]] = relationship(secondary=campaign_lists)

