"""The contacts table's queries: filters, sorting and keyset pagination (no OFFSET, so page 500
costs what page 1 costs), shared by the page, bulk "all matching" selections and CSV export."""
import base64
import binascii
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from flask import abort
from sqlalchemy import Select, func, or_, select, tuple_
from werkzeug.datastructures import MultiDict

from ..errors import NotFound
from ..extensions import db
from ..models import CONTACT_STATUSES, Contact, ContactList, Tag, Workspace, list_members, tag_members
from ..sqlutil import contains_text
from ..tenancy.access import parse_uuid
from ..web import load_in_workspace_or_404

PAGE_SIZE = 50
MAX_SEARCH_LENGTH = 200

# Sort name → the columns that order it (the id last breaks ties, so every row has one place).
# Each tuple is backed by an index that starts with workspace_id (see models/contacts.py).
SORTS: dict[str, tuple] = {
    "created": (Contact.created_at, Contact.id),
    "name": (Contact.first_name, Contact.last_name, Contact.id),
    "email": (Contact.email, Contact.id),
    "company": (Contact.company, Contact.id),
}
DEFAULT_DIRECTION = {"created": "desc", "name": "asc", "email": "asc", "company": "asc"}


@dataclass(frozen=True)
class ContactFilter:
    """What the user asked to see; every field comes from the query string and is validated."""

    search: str = ""
    status: str = ""
    list_id: uuid.UUID | None = None
    tag_id: uuid.UUID | None = None
    sort: str = "created"
    direction: str = "desc"

    @property
    def is_filtered(self) -> bool:
        return bool(self.search or self.status or self.list_id or self.tag_id)

    def query_args(self, **overrides) -> dict:
        """The filter as URL parameters (defaults left out), for links that keep it."""
        values = {
            "q": self.search, "status": self.status,
            "list": str(self.list_id) if self.list_id else "",
            "tag": str(self.tag_id) if self.tag_id else "",
            "sort": self.sort if self.sort != "created" else "",
            "dir": self.direction if self.direction != DEFAULT_DIRECTION[self.sort] else "",
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    def sorted_by(self, sort: str) -> "ContactFilter":
        """The filter re-sorted by a column header: same column flips direction."""
        if sort == self.sort:
            return replace(self, direction="asc" if self.direction == "desc" else "desc")
        return replace(self, sort=sort, direction=DEFAULT_DIRECTION[sort])


def parse_filter(args: MultiDict, workspace: Workspace) -> ContactFilter:
    """Read the filter from request args; unknown values fall back to defaults, and a list or
    tag id that isn't this workspace's is a 404 (never a silent look into another workspace)."""
    sort = args.get("sort", "created")
    if sort not in SORTS:
        sort = "created"
    direction = args.get("dir") or DEFAULT_DIRECTION[sort]
    if direction not in ("asc", "desc"):
        direction = DEFAULT_DIRECTION[sort]
    status = args.get("status", "")
    return ContactFilter(
        search=args.get("q", "").strip()[:MAX_SEARCH_LENGTH],
        status=status if status in CONTACT_STATUSES else "",
        list_id=_owned_id(ContactList, args.get("list"), workspace),
        tag_id=_owned_id(Tag, args.get("tag"), workspace),
        sort=sort,
        direction=direction,
    )


def _owned_id(model, raw: str | None, workspace: Workspace) -> uuid.UUID | None:
    return load_in_workspace_or_404(model, workspace, raw).id if raw else None


def filtered(workspace: Workspace, flt: ContactFilter, *columns) -> Select:
    """SELECT of the workspace's contacts (or of `columns`) that match the filter, unordered."""
    query = select(*(columns or (Contact,))).where(Contact.workspace_id == workspace.id)
    if flt.status:
        query = query.where(Contact.status == flt.status)
    if flt.list_id:
        query = query.where(Contact.id.in_(
            select(list_members.c.contact_id).where(list_members.c.list_id == flt.list_id)))
    if flt.tag_id:
        query = query.where(Contact.id.in_(
            select(tag_members.c.contact_id).where(tag_members.c.tag_id == flt.tag_id)))
    if flt.search:
        columns = [Contact.email, Contact.first_name, Contact.last_name, Contact.company]
        if " " in flt.search:  # "ana lima" spans both name columns
            columns.append(Contact.first_name + " " + Contact.last_name)
        query = query.where(or_(*(contains_text(col, flt.search) for col in columns)))
    return query


def ordered(query: Select, flt: ContactFilter, reverse: bool = False) -> Select:
    descending = (flt.direction == "desc") != reverse
    return query.order_by(*(col.desc() if descending else col.asc() for col in SORTS[flt.sort]))


def count_matching(workspace: Workspace, flt: ContactFilter) -> int:
    # count(*), not count(id): the (workspace_id, …) indexes cover it without reading rows.
    return db.session.scalar(filtered(workspace, flt, func.count()))


# ---- keyset cursors -----------------------------------------------------------------------------

def _sort_values(contact: Contact, flt: ContactFilter) -> list:
    return [getattr(contact, col.key) for col in SORTS[flt.sort]]


def encode_cursor(contact: Contact, flt: ContactFilter, direction: str) -> str:
    """Opaque token: the sort values of the row to continue from, and which way to go."""
    values = [v.isoformat() if isinstance(v, datetime) else str(v) for v in _sort_values(contact, flt)]
    raw = json.dumps({"s": flt.sort, "d": direction, "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, flt: ContactFilter) -> tuple[str, list] | None:
    """(direction, values) or None for a missing, tampered or stale (other sort) cursor."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["s"] != flt.sort or data["d"] not in ("after", "before"):
            return None
        columns = SORTS[flt.sort]
        if len(data["v"]) != len(columns):
            return None
        values = []
        for col, raw in zip(columns, data["v"]):
            if col is Contact.created_at:
                values.append(datetime.fromisoformat(raw))
            elif col is Contact.id:
                values.append(uuid.UUID(raw))
            else:
                values.append(str(raw))
        return data["d"], values
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        return None


@dataclass
class Page:
    contacts: list[Contact]
    next_cursor: str | None
    prev_cursor: str | None


def fetch_page(workspace: Workspace, flt: ContactFilter, cursor: str = "",
               page_size: int = PAGE_SIZE, options: tuple = ()) -> Page:
    """One page after (or before) the cursor, using the sort's index instead of OFFSET."""
    decoded = decode_cursor(cursor, flt)
    query = filtered(workspace, flt)
    backwards = decoded is not None and decoded[0] == "before"
    if decoded:
        keys = tuple_(*SORTS[flt.sort])
        values = tuple_(*decoded[1])
        # Rows strictly past the cursor in the direction of travel.
        forward_is_greater = (flt.direction == "asc") != backwards
        query = query.where(keys > values if forward_is_greater else keys < values)
    rows = list(db.session.scalars(
        ordered(query, flt, reverse=backwards).options(*options).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_prev = (decoded is not None) if not backwards else more
    return Page(
        contacts=rows,
        next_cursor=encode_cursor(rows[-1], flt, "after") if rows and has_next else None,
        prev_cursor=encode_cursor(rows[0], flt, "before") if rows and has_prev else None,
    )


def matching_ids(workspace: Workspace, flt: ContactFilter) -> Select:
    """SELECT of the matching contact ids, for bulk operations on "all N matching"."""
    return filtered(workspace, flt, Contact.id)


def owned_contact_ids(workspace: Workspace, raw_ids) -> list[uuid.UUID]:
    """The given ids that are contacts of this workspace; any other id is NotFound."""
    ids = {parse_uuid(r) for r in raw_ids}
    if None in ids:
        raise NotFound("No such contact in this workspace.")
    found: set[uuid.UUID] = set()
    id_list = list(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start:start + 500]
        # By primary key only, workspace checked on the rows: with workspace_id in the WHERE,
        # SQLite (no ANALYZE statistics) walks the workspace's whole index instead.
        found.update(cid for cid, ws_id in db.session.execute(
            select(Contact.id, Contact.workspace_id).where(Contact.id.in_(chunk)))
            if ws_id == workspace.id)
    if found != ids:
        raise NotFound("No such contact in this workspace.")
    return sorted(found)

