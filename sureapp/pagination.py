"""Keyset pagination, the one pager of every list (API collections, MCP list tools, the
Contacts page, CSV export, the API Keys table): no OFFSET, so page 500 costs what page 1 costs,
and rows added meanwhile never shift a page.

A list is paged in an `Ordering`: named columns, the last one unique (the id), all in one
direction, so the position of a row is one row value and the database enters the matching
index right at the cursor: `(created_at, id) < (:created_at, :id)`.

The cursor is opaque to clients but its format is fixed, versioned and checked field by field:
URL-safe base64 (no padding) of the JSON object
    {"v": 1, "o": "<ordering name>:<asc|desc>", "d": "after"|"before", "k": [<row values>]}
with datetimes as ISO 8601 (naive UTC), ids as UUID strings and text as strings. A cursor of
another ordering, another version, or anything else that does not decode is `InvalidCursor`
(a validation error: 422 on the API, a tool error on MCP; the UI shows the first page). The
API's first cursors (a bare JSON list `[created_at, id]`) still read as "after that row,
newest first", so a client that was walking a list across an upgrade can finish.
"""
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
CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 1024  # a real cursor is a few hundred characters at most
AFTER, BEFORE = "after", "before"


class InvalidCursor(ValidationFailed):
    def __init__(self):
        super().__init__({"cursor": ["This cursor is not valid; use the next_cursor of a "
                                     "previous page."]}, "The cursor is not valid.")


@dataclass(frozen=True)
class Ordering:
    """An order a list can be paged in: `columns` (mapped attributes, the last one unique so
    every row has exactly one place), all ascending or all descending."""

    name: str
    columns: tuple
    descending: bool

    @property
    def key(self) -> str:
        """How the cursor names this ordering: "created:desc"."""
        return f"{self.name}:{'desc' if self.descending else 'asc'}"

    def order_by(self, reverse: bool = False) -> list:
        descending = self.descending != reverse
        return [col.desc() if descending else col.asc() for col in self.columns]

    def past(self, values: list, direction: str = AFTER):
        """SQL condition: rows strictly after (or before) the row whose sort values these are."""
        keys, position = tuple_(*self.columns), tuple_(*values)
        greater = self.descending == (direction == BEFORE)
        return keys > position if greater else keys < position

    def values_of(self, row) -> list:
        return [getattr(row, col.key) for col in self.columns]


def newest_first(model) -> Ordering:
    """The API's order for every collection: created_at descending, the id breaking ties."""
    return Ordering("created", (model.created_at, model.id), descending=True)


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None = None


def _encode_value(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _decode_value(column, raw):
    if not isinstance(raw, str):
        raise ValueError("cursor values are strings")
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(raw).replace(tzinfo=None)
    if python_type is uuid.UUID:
        return uuid.UUID(raw)
    if python_type is str:
        return raw
    raise ValueError(f"no cursor form for {python_type.__name__}")


def encode_cursor(ordering: Ordering, values: list, direction: str = AFTER) -> str:
    """The cursor for the rows after (or before) the row with these sort values."""
    raw = json.dumps({"v": CURSOR_VERSION, "o": ordering.key, "d": direction,
                      "k": [_encode_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: Ordering) -> tuple[str, list]:
    """(direction, sort values) of a cursor made for `ordering`; InvalidCursor otherwise."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(data, list) and _is_newest_first(ordering):
            direction, raw_values = AFTER, data
        elif (isinstance(data, dict) and data.get("v") == CURSOR_VERSION
              and data.get("o") == ordering.key and data.get("d") in (AFTER, BEFORE)):
            direction, raw_values = data["d"], data.get("k")
        else:
            raise ValueError("not a cursor of this list")
        if not isinstance(raw_values, list) or len(raw_values) != len(ordering.columns):
            raise ValueError("wrong number of values")
        return direction, [_decode_value(c, v) for c, v in zip(ordering.columns, raw_values)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise InvalidCursor() from None


def _is_newest_first(ordering: Ordering) -> bool:
    """The only ordering the API's first (bare-list) cursors were made in."""
    return (ordering.key == "created:desc"
            and [col.key for col in ordering.columns] == ["created_at", "id"])


def keyset_page(stmt: Select, ordering: Ordering, limit: int = DEFAULT_LIMIT,
                cursor: str | None = None) -> Page:
    """One page of `stmt` (a select of one entity) in `ordering`, after or before `cursor`.

    `next_cursor` is None on the last page, `prev_cursor` None on the first."""
    direction, values = decode_cursor(cursor, ordering) if cursor else (AFTER, None)
    backwards = direction == BEFORE
    if values is not None:
        stmt = stmt.where(ordering.past(values, direction))
    stmt = stmt.order_by(*ordering.order_by(reverse=backwards)).limit(limit + 1)
    rows = list(db.session.scalars(stmt).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    # Going forward, rows lie before the cursor's row; going back, after it.
    has_next = more if not backwards else values is not None
    has_prev = values is not None if not backwards else more
    return Page(
        items=rows,
        next_cursor=encode_cursor(ordering, ordering.values_of(rows[-1])) if rows and has_next else None,
        prev_cursor=(encode_cursor(ordering, ordering.values_of(rows[0]), BEFORE)
                     if rows and has_prev else None),
    )
