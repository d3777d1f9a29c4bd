"""Column helpers shared by every model."""
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..timeutil import utcnow


def uuid_pk() -> Mapped[uuid.UUID]:
    """Public, unguessable primary key (native uuid on PostgreSQL, CHAR(32) on SQLite)."""
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow, nullable=False)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
