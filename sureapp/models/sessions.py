"""Server-side browser sessions (issue 13 finding 5): one row per log-in."""
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, uuid_pk
from .tenancy import User


class UserSession(db.Model):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is kept here, so
    a database dump opens no session. `id` is public (the Sessions page ends sessions by it)."""

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # Written at most once a minute; idle expiry and the purge read it.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    # When the password was last entered in this session (log-in or sudo confirmation).
    password_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ip_address: Mapped[str] = mapped_column(String(45), default="", nullable=False)
    user_agent: Mapped[str] = mapped_column(String(255), default="", nullable=False)

    user: Mapped[User] = relationship()
