"""Keyset pagination for API collections: newest first, stable on (created_at, id), with an
opaque cursor, so page 500 costs what page 1 costs and rows added meanwhile never shift a page."""
import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, tuple_

from .errors import ValidationFailed
from .extensions import db

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 25


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points at; a tampered or foreign cursor is a validation error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return datetime.fromisoformat(created).replace(tzinfo=None), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["This cursor is not valid; use the next_cursor of "
                                           "a previous page."]}, "The cursor is not valid.") from None


def keyset_page(stmt: Select, model, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page:
    """One page of `stmt` (a select of `model`), newest first; `next_cursor` is None at the end."""
    if cursor:
        created, row_id = decode_cursor(cursor)
        # A row-value comparison, so the index on (…, created_at, id) is entered right at the
        # cursor; the equivalent OR made SQLite walk every newer row first (7× slower 90 % deep).
        stmt = stmt.where(tuple_(model.created_at, model.id) < tuple_(created, row_id))
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return Page(rows, next_cursor)
