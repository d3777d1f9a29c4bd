"""One-time reveals and single-use form tokens (sureapp/once.py uses them)."""
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import created_at_column


class OneTimeReveal(db.Model):
    """A secret waiting to be shown once, encrypted: the key to decrypt it is not stored here
    but in the browser that asked for it (a cookie scoped to the reveal page)."""

    __tablename__ = "one_time_reveals"

    # secrets.token_urlsafe(32): the reveal page's URL carries it.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    purpose: Mapped[str] = mapped_column(String(64), nullable=False)  # e.g. "key.created"
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False)  # e.g. the key's id
    # AES-256-GCM: 12-byte nonce + ciphertext + tag; the id, user, purpose and subject are
    # authenticated with it, so a row cannot be replayed for another subject.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    created_at: Mapped[datetime] = created_at_column()


class FormSubmission(db.Model):
    """A form token that was used: a browser resending the same form finds it and is sent to
    what the first submission produced instead of acting twice."""

    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    result_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
