"""The Contacts table as the URL describes it: the filter (read into contacts/query.py's
ContactFilter, so the page matches exactly what the API and MCP match), the sort column and
direction, and the page. Input the page cannot use is reported inline and ignored, never a 500.
"""
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..errors import NotFound
from ..extensions import db
from ..models import CONTACT_STATUSES, Contact, Workspace
from ..pagination import InvalidCursor, Page
from ..tenancy.access import parse_uuid
from ..timeutil import from_local
from .query import (DEFAULT_DIRECTION, SORT_COLUMNS, ContactFilter, check_groups, ordering,
                    page_of_contacts)

PAGE_SIZE = 50
MAX_SEARCH_LENGTH = 200
BAD_DATE = "Enter the “Created since” date as YYYY-MM-DD; that filter was not applied."
BAD_CURSOR = "That page link is out of date or damaged, so the first page is shown."


@dataclass(frozen=True)
class ContactTable:
    """What the user asked to see: the filter, how it is sorted, and what the URL said that
    could not be used (`notices`, shown above the table)."""

    filter: ContactFilter = ContactFilter()
    since: date | None = None  # the "Created since" date as entered (workspace timezone)
    sort: str = "created"
    direction: str = "desc"
    cursor: str = ""  # the page shown ("" for the first), never part of query_args()
    notices: tuple[str, ...] = ()

    @property
    def is_filtered(self) -> bool:
        return self.filter.is_filtered

    @property
    def ordering(self):
        return ordering(self.sort, self.direction)

    def query_args(self, **overrides) -> dict:
        """The table as URL parameters (defaults left out), for links that keep it."""
        flt = self.filter
        values = {
            "q": flt.search or "", "status": flt.status or "",
            "list": str(flt.list_id) if flt.list_id else "",
            "tag": str(flt.tag_id) if flt.tag_id else "",
            "since": self.since.isoformat() if self.since else "",
            "sort": self.sort if self.sort != "created" else "",
            "dir": self.direction if self.direction != DEFAULT_DIRECTION[self.sort] else "",
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v}

    def sorted_by(self, sort: str) -> "ContactTable":
        """The table re-sorted by a column header: same column flips direction."""
        if sort == self.sort:
            return replace(self, direction="asc" if self.direction == "desc" else "desc")
        return replace(self, sort=sort, direction=DEFAULT_DIRECTION[sort])


def start_of_day_utc(day: date, tz_name: str) -> datetime:
    """The first instant of a local day, as the ContactFilter's exclusive `created_after`:
    one microsecond (the stored resolution) before local midnight, so midnight itself counts."""
    return from_local(datetime.combine(day, datetime.min.time()), tz_name) - timedelta(microseconds=1)


def parse_table(args: MultiDict, workspace: Workspace) -> ContactTable:
    """Read the table from request args. Unknown sorts and statuses fall back to the defaults,
    a bad date is a notice; a list or tag id that isn't this workspace's is NotFound (the 404
    page: never a silent look into another workspace)."""
    sort = args.get("sort", "created")
    if sort not in SORT_COLUMNS:
        sort = "created"
    direction = args.get("dir") or DEFAULT_DIRECTION[sort]
    if direction not in ("asc", "desc"):
        direction = DEFAULT_DIRECTION[sort]
    status = args.get("status", "")
    notices = []
    since = created_after = None
    if args.get("since"):
        try:
            since = date.fromisoformat(args["since"])
            created_after = start_of_day_utc(since, workspace.timezone)
        except (ValueError, OverflowError):
            since = None
            notices.append(BAD_DATE)
    flt = ContactFilter(
        search=args.get("q", "").strip()[:MAX_SEARCH_LENGTH],
        status=status if status in CONTACT_STATUSES else None,
        list_id=_group_id(args.get("list")),
        tag_id=_group_id(args.get("tag")),
        created_after=created_after,
    )
    check_groups(workspace, flt)
    return ContactTable(filter=flt, since=since, sort=sort, direction=direction,
                        cursor=args.get("cursor", ""), notices=tuple(notices))


def _group_id(raw: str | None) -> uuid.UUID | None:
    """A list/tag id from the URL; a malformed one is NotFound, like another workspace's."""
    if not raw:
        return None
    ident = parse_uuid(raw)
    if ident is None:
        raise NotFound("No such list or tag in this workspace.")
    return ident


def fetch_page(workspace: Workspace, table: ContactTable,
               options: tuple = ()) -> tuple[Page[Contact], ContactTable]:
    """The page the table's cursor points at, in its sort; a cursor the page cannot use
    (damaged, or made for another sort) gives the first page and a notice."""
    try:
        page = page_of_contacts(workspace, table.filter, table.cursor or None, PAGE_SIZE,
                                table.ordering, options)
    except InvalidCursor:
        table = replace(table, cursor="", notices=(*table.notices, BAD_CURSOR))
        page = page_of_contacts(workspace, table.filter, None, PAGE_SIZE, table.ordering, options)
    return page, table


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
