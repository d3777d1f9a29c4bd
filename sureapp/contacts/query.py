"""Which contacts a filter matches, and in what order: the one query behind the Contacts page,
`GET /api/v1/contacts`, the MCP contact tools, CSV export and "all N matching" bulk actions.

What `search` means (everywhere; README "Searching contacts"): the text, trimmed and with runs
of whitespace read as one space, is found anywhere inside the contact's email, first name,
last name, company, or full name "first last" (so "ana lima" finds Ana Lima), ignoring case
(every letter on PostgreSQL; ASCII letters on SQLite). `%` and `_` are plain characters.
Every other field narrows the result further: all given fields must hold.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import Select, func, or_, select

from ..extensions import db
from ..models import Contact, Workspace, list_members, tag_members
from ..pagination import DEFAULT_LIMIT, Ordering, Page, keyset_page
from ..sqlutil import contains_text
from .groups import LISTS, TAGS, get_group

# Sort name → columns (the id last breaks ties, so every row has one place). Each is backed by
# an index that starts with workspace_id (see models/contacts.py), entered at the cursor.
SORT_COLUMNS: dict[str, tuple] = {
    "created": (Contact.created_at, Contact.id),
    "name": (Contact.first_name, Contact.last_name, Contact.id),
    "email": (Contact.email, Contact.id),
    "company": (Contact.company, Contact.id),
}
DEFAULT_DIRECTION = {"created": "desc", "name": "asc", "email": "asc", "company": "asc"}


def ordering(sort: str = "created", direction: str | None = None) -> Ordering:
    """The contacts in `sort` order; the API and MCP always use the default, newest first."""
    direction = direction or DEFAULT_DIRECTION[sort]
    return Ordering(sort, SORT_COLUMNS[sort], descending=direction == "desc")


NEWEST_FIRST = ordering()


def normalize_search(text: str | None) -> str:
    """The search text as it is matched: trimmed, inner runs of whitespace one space."""
    return " ".join((text or "").split())


def _search_condition(text: str):
    columns = [Contact.email, Contact.first_name, Contact.last_name, Contact.company]
    if " " in text:
        # Text without a space can only match inside one name, which the columns above cover.
        columns.append(Contact.first_name + " " + Contact.last_name)
    return or_(*(contains_text(col, text) for col in columns))


def _member_of(members_column, group_id):
    return Contact.id.in_(select(members_column.table.c.contact_id)
                          .where(members_column == group_id))


def narrows(condition: Callable):
    """A filter field: when it holds a value, `condition(value)` narrows the contacts."""
    return field(default=None, metadata={"condition": condition})


@dataclass(frozen=True)
class ContactFilter:
    """Which of a workspace's contacts to show. Each field declares its own SQL, so a new
    filter is one line here; unset fields (None, "") match everything."""

    search: str | None = narrows(_search_condition)
    status: str | None = narrows(lambda status: Contact.status == status)
    list_id: uuid.UUID | None = narrows(lambda list_id: _member_of(list_members.c.list_id, list_id))
    tag_id: uuid.UUID | None = narrows(lambda tag_id: _member_of(tag_members.c.tag_id, tag_id))
    created_after: datetime | None = narrows(lambda moment: Contact.created_at > moment)
    # Polling for changes ("updated contact" triggers): every change to a contact's fields
    # moves updated_at, and new contacts start with updated_at = created_at.
    updated_after: datetime | None = narrows(lambda moment: Contact.updated_at > moment)

    def __post_init__(self):
        object.__setattr__(self, "search", normalize_search(self.search) or None)

    @classmethod
    def of(cls, query) -> "ContactFilter":
        """The filter fields of anything that has them (the API's ContactQuery, MCP arguments)."""
        return cls(**{f.name: getattr(query, f.name, None) for f in fields(cls)})

    def _set_fields(self) -> list:
        return [f for f in fields(self) if getattr(self, f.name) not in (None, "")]

    @property
    def is_filtered(self) -> bool:
        return bool(self._set_fields())

    def conditions(self) -> list:
        """One SQL condition per field that holds a value."""
        return [f.metadata["condition"](getattr(self, f.name)) for f in self._set_fields()]


def check_groups(workspace: Workspace, flt: ContactFilter) -> None:
    """NotFound if the filter names a list or tag that is not this workspace's: another
    workspace's id is the same answer as a missing one, never a silent empty result."""
    for kind, group_id in ((LISTS, flt.list_id), (TAGS, flt.tag_id)):
        if group_id is not None:
            get_group(kind, workspace, group_id)


def matching(workspace: Workspace, flt: ContactFilter, *columns) -> Select:
    """SELECT of the workspace's contacts (or of `columns`) that match the filter, unordered."""
    return (select(*(columns or (Contact,)))
            .where(Contact.workspace_id == workspace.id, *flt.conditions()))


def matching_ids(workspace: Workspace, flt: ContactFilter) -> Select:
    """SELECT of the matching contact ids, for bulk actions on "all N matching"."""
    return matching(workspace, flt, Contact.id)


def count_matching(workspace: Workspace, flt: ContactFilter) -> int:
    # count(*), not count(id): the (workspace_id, …) indexes cover it without reading rows.
    return db.session.scalar(matching(workspace, flt, func.count()))


def page_of_contacts(workspace: Workspace, flt: ContactFilter, cursor: str | None = None,
                     limit: int = DEFAULT_LIMIT, order: Ordering = NEWEST_FIRST,
                     options: tuple = ()) -> Page[Contact]:
    """One keyset page of the matching contacts in `order`; InvalidCursor for a bad cursor."""
    return keyset_page(matching(workspace, flt).options(*options), order, limit, cursor)
