"""Sending (SPEC §11): a workspace's SMTP connections."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
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
