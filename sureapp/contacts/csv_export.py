"""CSV export of the contacts matching a filter, streamed in keyset batches and safe to open in
a spreadsheet (cells that a spreadsheet would run as a formula are escaped)."""
import csv
import io
from collections import defaultdict

from sqlalchemy import select

from ..extensions import db
from ..models import Contact, ContactList, Tag, Workspace, list_members, tag_members
from ..timeutil import iso_utc
from ..validation import FORMULA_LEADERS
from .query import ContactFilter, matching, page_of_contacts

FIELD_COLUMNS = ("email", "first_name", "last_name", "phone", "company", "job_title", "status",
                 "source")
# OWASP "CSV injection": a leading = + - @ (or tab/CR, which some apps strip first) starts a formula.
FORMULA_PREFIXES = (*FORMULA_LEADERS, "\t", "\r")
BATCH = 1000
MAX_BATCHES = 100_000  # bounds the loop far beyond any workspace's size


def escape_cell(value) -> str:
    """Text a spreadsheet shows as text: a formula-looking cell gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def custom_field_keys(workspace: Workspace, flt: ContactFilter) -> list[str]:
    """Every custom field key used by the matching contacts: one column each."""
    keys: set[str] = set()
    for (fields,) in db.session.execute(matching(workspace, flt, Contact.custom_fields)):
        keys.update((fields or {}).keys())
    return sorted(keys)


def _names_by_contact(ids, table, model) -> dict:
    """{contact_id: [list or tag names]} for one batch, in two queries instead of one per row."""
    names = defaultdict(list)
    owner_col = table.c.list_id if model is ContactList else table.c.tag_id
    for contact_id, name in db.session.execute(
            select(table.c.contact_id, model.name).join(model, model.id == owner_col)
            .where(table.c.contact_id.in_(ids)).order_by(model.name)):
        names[contact_id].append(name)
    return names


def export_rows(workspace: Workspace, flt: ContactFilter):
    """Yield CSV text chunks (header first), one per batch, for a streamed response."""
    keys = custom_field_keys(workspace, flt)
    header = [*FIELD_COLUMNS, "lists", "tags", *keys, "created_at", "updated_at"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # Custom-field keys stored before validation.py refused formula-looking ones are header
    # cells: escaped like every data cell.
    writer.writerow([escape_cell(name) for name in header])
    yield buffer.getvalue()
    cursor = None
    for _ in range(MAX_BATCHES):
        page = page_of_contacts(workspace, flt, cursor, BATCH)
        ids = [c.id for c in page.items]
        lists = _names_by_contact(ids, list_members, ContactList) if ids else {}
        tags = _names_by_contact(ids, tag_members, Tag) if ids else {}
        buffer.seek(0)
        buffer.truncate()
        for c in page.items:
            custom = c.custom_fields or {}
            writer.writerow([escape_cell(v) for v in (
                *(getattr(c, f) for f in FIELD_COLUMNS),
                "; ".join(lists.get(c.id, [])), "; ".join(tags.get(c.id, [])),
                *(custom.get(k, "") for k in keys),
                iso_utc(c.created_at), iso_utc(c.updated_at))])
        yield buffer.getvalue()
        if not page.next_cursor:
            return
        cursor = page.next_cursor
        db.session.expunge_all()  # flat memory on large exports
