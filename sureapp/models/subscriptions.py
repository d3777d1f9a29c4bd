"""Double opt-in: one confirmation request per pending contact (subscriptions/confirmations.py)."""
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import created_at_column


class ConfirmationRequest(db.Model):
    """A contact asked to confirm by mail. `mail_due_at` is when the next mail goes out (NULL:
    none is due); claiming one moves it a lease ahead, so a crash mid-send retries later
    (a confirmation may arrive twice, never not at all)."""

    __tablename__ = "confirmation_requests"
    __table_args__ = (Index("ix_confirmation_requests_mail_due_at", "mail_due_at"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True)
    # The double opt-in list it joined (named in the mail); NULL once that list is deleted.
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contact_lists.id", ondelete="SET NULL"), nullable=True)
    mail_due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    mails_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_mailed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Why the last attempt failed, in our words (never the server's text: it may echo data).
    last_error: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
