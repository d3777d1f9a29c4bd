"""Sending (SPEC §11): a workspace's SMTP connections, and one row per campaign × contact."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import created_at_column, updated_at_column, uuid_pk

TLS_MODES = ("starttls", "tls", "none")  # STARTTLS on a plain port, implicit TLS (465), none


class SmtpConnection(db.Model):
    """An SMTP server a workspace sends through, and the From addresses it may send as."""

    __tablename__ = "smtp_connections"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    tls_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="starttls")
    username: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # Encrypted with a key derived from SECRET_KEY (sureapp/secretbox.py); never shown again.
    password_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # "ann@example.com" allows that address, "@example.com" any address of the domain.
    from_addresses: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    mails_per_minute: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    # The rate's fixed window, shared by every worker: one conditional UPDATE takes a slot.
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_in_window: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    def allows_sender(self, address: str) -> bool:
        address = address.strip().lower()
        domain = "@" + address.rpartition("@")[2]
        return any(entry == address or entry == domain for entry in self.from_addresses)

    @property
    def default_sender(self) -> str | None:
        """The first full address it may send as (a domain entry names no address)."""
        return next((entry for entry in self.from_addresses if not entry.startswith("@")), None)


class SmtpRateWindow(db.Model):
    """The rate window of a sender without a row of its own: the instance's SMTP_URL (id
    "smtp_url"), whose rate is SMTP_RATE_PER_MINUTE. Same columns as a connection's window, so
    sending/transport.py counts both with the one conditional UPDATE."""

    __tablename__ = "smtp_rate_windows"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_in_window: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# queued: waiting (next_attempt_at) · sending: claimed by a sender · sent · bounced (5xx for the
# address) · failed (retries used up, or refused for good) · skipped (no longer active, or the
# campaign was cancelled) · interrupted (its sender died while it was claimed: it may or may not
# have left, and is never sent again — at most once is the rule).
RECIPIENT_STATES = ("queued", "sending", "sent", "bounced", "failed", "skipped", "interrupted")
UNFINISHED_RECIPIENT_STATES = ("queued", "sending")


class CampaignRecipient(db.Model):
    """A campaign's mail to one contact: written when the campaign starts sending (its audience
    is fixed then), claimed before it is sent, so no contact gets a campaign twice."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipients_due", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    # Kept (NULL) when the contact is deleted: the campaign's counts stay true.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
