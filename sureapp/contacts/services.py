"""Contacts: query, create, update, delete and bulk upsert, shared by the API, MCP, UI and imports.

Rules enforced here and nowhere else: emails are normalized and unique per workspace, the
workspace's contact allocation is never exceeded (also under concurrent writers), and every
change leaves a ContactEvent with its source ("API key: Zapier", "UI: ana@example.com", "Import").
These functions never commit: the caller owns the transaction (a bulk operation stays one).
"""
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, delete, func, insert, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..errors import Conflict, LimitExceeded, NotFound
from ..extensions import db
from ..models import (Contact, ContactEvent, ContactList, Tag, Workspace, list_members,
                      tag_members)
from ..pagination import Page
from ..prepared import PreparedRead
from ..schema_types import validation_errors
from ..sqlutil import lock_rows
from ..timeutil import utcnow
from . import groups, optin, outbox
from .groups import LISTS, TAGS
from .query import ContactFilter, check_groups, page_of_contacts
from .schemas import ContactCreate, ContactPatch, ContactQuery

PROFILE_FIELDS = ("email", "first_name", "last_name", "phone", "company", "job_title", "status",
                  "source", "custom_fields")
DUPLICATE_EMAIL = "A contact with this email already exists in this workspace."


# ---- reading --------------------------------------------------------------------------------

def _with_memberships(stmt):
    return stmt.options(selectinload(Contact.lists), selectinload(Contact.tags))


def get_contact(workspace: Workspace, contact_id) -> Contact:
    contact = db.session.scalar(_with_memberships(select(Contact)).where(
        Contact.id == contact_id, Contact.workspace_id == workspace.id))
    if contact is None:
        raise NotFound("No such contact.")
    return contact


_contacts = Contact.__table__
# The API's hot read as one Core statement built once (compiled once, no ORM objects): the
# contact's row joined to its list and tag memberships, one row per membership (a single row
# of NULL memberships when it has none), ordered by name as Contact.lists/.tags are. The
# memberships are filtered by the contact id inside the union, so each part uses its index.
_MEMBERSHIPS = union_all(*(
    select(literal(kind).label("kind"), group_id.label("group_id"), table.c.name.label("name"),
           members.c.contact_id.label("contact_id"))
    .join(table, table.c.id == group_id)
    .where(members.c.contact_id == bindparam("contact_id"))
    for kind, members, group_id, table in (
        ("list", list_members, list_members.c.list_id, ContactList.__table__),
        ("tag", tag_members, tag_members.c.tag_id, Tag.__table__))
)).subquery("memberships")
_CONTACT_WITH_MEMBERSHIPS = PreparedRead(
    select(_contacts, _MEMBERSHIPS.c.kind.label("membership_kind"),
           _MEMBERSHIPS.c.group_id.label("membership_group_id"))
    .select_from(_contacts.outerjoin(_MEMBERSHIPS, _MEMBERSHIPS.c.contact_id == _contacts.c.id))
    .where(_contacts.c.id == bindparam("contact_id"),
           _contacts.c.workspace_id == bindparam("workspace_id"))
    .order_by(_MEMBERSHIPS.c.kind, _MEMBERSHIPS.c.name)
)
_CONTACT_COLUMNS = tuple(column.name for column in _contacts.c)


def read_contact(workspace: Workspace, contact_id) -> dict:
    """get_contact for a read that changes nothing: the contact's columns plus `list_ids` and
    `tag_ids`, from one prepared statement (committed data: never inside a write)."""
    rows = _CONTACT_WITH_MEMBERSHIPS.rows(db.engine, contact_id=contact_id,
                                          workspace_id=workspace.id)
    if not rows:
        raise NotFound("No such contact.")
    contact = dict(zip(_CONTACT_COLUMNS, rows[0]), list_ids=[], tag_ids=[])
    for row in rows:
        kind, group_id = row[-2:]
        if kind is not None:
            contact[f"{kind}_ids"].append(group_id)
    return contact


def find_by_email(workspace: Workspace, email: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.workspace_id == workspace.id,
                                                   Contact.email == email))


def list_contacts(workspace: Workspace, query: ContactQuery) -> Page[Contact]:
    """A page of the workspace's contacts, newest first, filtered as asked (contacts/query.py
    decides what matches, the same for the API, MCP and the UI); NotFound for a list or tag
    of another workspace, InvalidCursor for a bad cursor."""
    flt = ContactFilter.of(query)
    check_groups(workspace, flt)
    return page_of_contacts(workspace, flt, query.cursor, query.limit,
                            options=(selectinload(Contact.lists), selectinload(Contact.tags)))


# ---- contact allocation ---------------------------------------------------------------------

def contact_count(workspace: Workspace) -> int:
    return db.session.scalar(select(func.count()).select_from(Contact)
                             .where(Contact.workspace_id == workspace.id))


def allocation_room(workspace: Workspace) -> int | None:
    """How many more contacts fit (None: unlimited). Read-only: good for a dry run."""
    if workspace.contact_allocation is None:
        return None
    return max(workspace.contact_allocation - contact_count(workspace), 0)


def allocation_error(allocation: int, current: int, adding: int) -> LimitExceeded:
    return LimitExceeded(
        f"This workspace's contact allocation is {allocation:,} contacts and it has "
        f"{current:,}; adding {adding:,} more would exceed it. Ask an Org Admin to raise "
        f"the allocation or delete contacts first.", limit=allocation)


def ensure_room_for(workspace: Workspace, adding: int) -> None:
    """Raise LimitExceeded unless `adding` new contacts fit the allocation.

    The workspace row is locked first (sqlutil.lock_rows), so concurrent creators are counted
    one at a time and the transaction that inserts holds the lock until it commits."""
    if adding <= 0 or workspace.contact_allocation is None:
        return
    lock_rows(Workspace, Workspace.id == workspace.id)
    allocation = db.session.scalar(select(Workspace.contact_allocation)
                                   .where(Workspace.id == workspace.id))
    if allocation is None:
        return
    current = contact_count(workspace)
    if current + adding > allocation:
        raise allocation_error(allocation, current, adding)


# ---- writing --------------------------------------------------------------------------------

def contact_event(contact: Contact, action: str, source: str,
                  changes: dict | None = None) -> ContactEvent:
    """A timeline entry; the caller adds it once the contact row exists (no ORM relationship
    orders the two inserts)."""
    return ContactEvent(contact_id=contact.id, action=action, changes=changes or {}, source=source)


def _fields_to_apply(data: BaseModel, replace: bool) -> set[str]:
    return set(type(data).model_fields) if replace else set(data.model_fields_set)


def _apply(workspace: Workspace, contact: Contact, data: BaseModel, fields: set[str],
           source: str, is_new: bool) -> list[ContactEvent]:
    """Write the chosen fields onto `contact`; returns the timeline entries for what changed.
    (Bulk upserts write the same with Core: _update_existing_contacts, _insert_new_contacts.)"""
    changes = {}
    for name in PROFILE_FIELDS:
        if name in fields:
            old, new = (None if is_new else getattr(contact, name)), getattr(data, name)
            if old != new:
                setattr(contact, name, new)
                changes[name] = new if is_new else {"from": old, "to": new}
    events = []
    if is_new:
        db.session.add(contact)
        events.append(contact_event(contact, "created", source, changes))
    elif changes:
        events.append(contact_event(contact, "updated", source, changes))
    for kind, attr, ids_field in ((LISTS, "lists", "list_ids"), (TAGS, "tags", "tag_ids")):
        if ids_field in fields:
            ids = getattr(data, ids_field)
            wanted = groups.resolve_groups(kind, workspace, ids)
            events += _set_groups(contact, kind, attr, wanted, source, is_new)
    return events


def _set_groups(contact, kind, attr, wanted, source, is_new) -> list[ContactEvent]:
    current = [] if is_new else list(getattr(contact, attr))
    current_ids = {g.id for g in current}
    wanted_ids = {g.id for g in wanted}
    setattr(contact, attr, wanted)
    added = [grp for grp in wanted if grp.id not in current_ids]
    removed = [grp for grp in current if grp.id not in wanted_ids]
    return [contact_event(contact, f"{kind.label}_{verb}", source,
                          {kind.label: {"id": str(grp.id), "name": grp.name}})
            for verb, changed in (("added", added), ("removed", removed)) for grp in changed]


def _flush_or_conflict(workspace: Workspace, events: list[ContactEvent]) -> None:
    """Write the contacts, then their timeline entries (which point at them) and webhook events."""
    try:
        db.session.flush()
        db.session.add_all(events)
        db.session.flush()
    except IntegrityError:
        # A concurrent writer took the email between our check and our insert.
        db.session.rollback()
        raise Conflict(DUPLICATE_EMAIL) from None
    outbox.emit_timeline(workspace.id, [(e.contact_id, e.action, e.changes) for e in events])


def create_contact(workspace: Workspace, data: ContactCreate, source: str, *,
                   confirmed_consent: bool = False) -> Contact:
    """A new contact; Conflict on a duplicate email, LimitExceeded past the allocation.
    `confirmed_consent`: the caller (a manager in the UI, an import) vouches that the person
    agreed, so double opt-in lists do not make it pending (contacts/optin.py)."""
    if find_by_email(workspace, data.email) is not None:
        raise Conflict(DUPLICATE_EMAIL)
    joined = groups.resolve_groups(LISTS, workspace, data.list_ids)  # 404 before any write
    groups.resolve_groups(TAGS, workspace, data.tag_ids)
    confirming = optin.confirming_list(joined, data.status, confirmed_consent)
    if confirming is not None:
        optin.check_can_mail(workspace.id, confirming)
        data = data.model_copy(update={"status": "pending"})
    ensure_room_for(workspace, 1)
    contact = Contact(id=uuid.uuid4(), workspace_id=workspace.id)
    events = _apply(workspace, contact, data, _fields_to_apply(data, replace=True), source,
                    is_new=True)
    _flush_or_conflict(workspace, events)
    if confirming is not None:
        optin.request_confirmations(workspace.id, [(contact.id, confirming.id)])
    return contact


def update_contact(workspace: Workspace, contact_id, data: ContactCreate | ContactPatch,
                   source: str, replace: bool = False) -> Contact:
    """PUT (replace=True: every field, omitted ones reset) or PATCH (only the fields sent)."""
    contact = get_contact(workspace, contact_id)
    fields = _fields_to_apply(data, replace)
    if "email" in fields and data.email != contact.email:
        if find_by_email(workspace, data.email) is not None:
            raise Conflict(DUPLICATE_EMAIL)
    _flush_or_conflict(workspace, _apply(workspace, contact, data, fields, source, is_new=False))
    return contact


def delete_contact(workspace: Workspace, contact_id) -> None:
    """Delete a contact with its memberships and timeline."""
    contact = get_contact(workspace, contact_id)
    outbox.emit_deleted(workspace.id, [contact.id])
    db.session.delete(contact)
    db.session.flush()


# ---- bulk upsert ----------------------------------------------------------------------------

@dataclass
class RowResult:
    index: int
    email: str | None
    status: str  # created · updated · failed
    id: uuid.UUID | None = None
    errors: dict[str, list[str]] | None = None


@dataclass
class BulkResult:
    results: list[RowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def _known_groups(kind, workspace, rows) -> dict:
    """id → list/tag for every id the rows name that belongs to the workspace."""
    wanted = {i for _, data in rows for i in getattr(data, f"{kind.label}_ids")}
    if not wanted:
        return {}
    return {g.id: g for g in db.session.scalars(select(kind.model).where(
        kind.model.id.in_(wanted), kind.model.workspace_id == workspace.id))}


def upsert_contacts(workspace: Workspace, rows: list, source: str, *,
                    confirmed_consent: bool = False) -> BulkResult:
    """Create or update contacts matched by email, validating each row on its own.

    Rows that fail validation (or name lists/tags outside the workspace) are reported and
    skipped; the rest are written in the caller's transaction. If the new contacts would not
    fit the allocation, nothing is written and LimitExceeded is raised. New contacts joining a
    double opt-in list are pending (see create_contact's `confirmed_consent`)."""
    result = BulkResult([None] * len(rows))
    valid: list[tuple[int, ContactCreate]] = []
    first_row_of: dict[str, int] = {}
    for index, row in enumerate(rows):
        email = row.get("email") if isinstance(row, dict) else None
        email = email if isinstance(email, str) else None
        try:
            data = ContactCreate.model_validate(row)
        except ValidationError as exc:
            result.results[index] = RowResult(index, email, "failed",
                                              errors=validation_errors(exc, root="row"))
            continue
        if data.email in first_row_of:
            result.results[index] = RowResult(index, data.email, "failed", errors={"email": [
                f"Appears more than once in this request (first at row {first_row_of[data.email]})."]})
            continue
        first_row_of[data.email] = index
        valid.append((index, data))

    known = {kind: _known_groups(kind, workspace, valid) for kind in (LISTS, TAGS)}
    checked = []
    for index, data in valid:
        errors = {}
        for kind in (LISTS, TAGS):
            ids_field = f"{kind.label}_ids"
            unknown = [str(i) for i in getattr(data, ids_field) if i not in known[kind]]
            if unknown:
                errors[ids_field] = [f"No such {kind.label}: {', '.join(unknown)}."]
        if errors:
            result.results[index] = RowResult(index, data.email, "failed", errors=errors)
        else:
            checked.append((index, data))

    known_groups = known[LISTS] | known[TAGS]  # uuid4s: lists and tags never share an id
    # Upserts into one workspace take turns: two batches inserting the same emails in different
    # orders would otherwise deadlock.
    lock_rows(Workspace, Workspace.id == workspace.id)
    existing = _existing_rows(workspace, [data.email for _, data in checked])

    updates, new_rows, confirming = [], [], {}  # confirming: row index → its double opt-in list
    for index, data in checked:
        row = existing.get(data.email)
        if row is not None:
            updates.append((row, data))
            result.results[index] = RowResult(index, data.email, "updated", row["id"])
            continue
        item = optin.confirming_list([known_groups[i] for i in data.list_ids], data.status,
                                     confirmed_consent)
        if item is not None:
            if not optin.can_mail(workspace.id):
                result.results[index] = RowResult(index, data.email, "failed", errors={
                    "list_ids": [optin.cannot_mail(item.name).message]})
                continue
            confirming[index] = item
            data = data.model_copy(update={"status": "pending"})
        new_rows.append((index, data))
    ensure_room_for(workspace, len(new_rows))
    _update_existing_contacts(workspace, updates, known_groups, source)
    pending = []
    for index, data, contact_id in _insert_new_contacts(workspace, new_rows, known_groups, source):
        result.results[index] = RowResult(index, data.email, "created", contact_id)
        if index in confirming:
            pending.append((contact_id, confirming[index].id))
    optin.request_confirmations(workspace.id, pending)
    return result


# The bulk paths below are SQLAlchemy Core, not the ORM: one ORM object per row (with its
# lists and tags loaded) cost about half of a 1,000-row update batch. They write exactly what
# _apply writes for one contact: the changed columns, membership rows, and timeline entries.
_EXISTING_BY_EMAIL = select(_contacts.c.id, *(_contacts.c[name] for name in PROFILE_FIELDS)).where(
    _contacts.c.workspace_id == bindparam("workspace_id"),
    _contacts.c.email.in_(bindparam("emails", expanding=True)))
_EVENTS = ContactEvent.__table__


@lru_cache(maxsize=128)
def _update_profile(columns: tuple[str, ...]):
    """UPDATE of just these profile columns (rows changing the same fields share one
    executemany; each column fewer is one JSON/text conversion fewer per row)."""
    return (update(_contacts).where(_contacts.c.id == bindparam("contact_id"))
            .values({**{name: bindparam(f"new_{name}") for name in columns},
                     "updated_at": bindparam("now")}))


IN_CHUNK = 500  # ids/emails per IN (…): far below SQLite's and PostgreSQL's parameter limits


def _existing_rows(workspace: Workspace, emails: list[str]) -> dict[str, dict]:
    """email → the contact's id and profile columns, for the emails that exist."""
    conn, found = db.session.connection(), {}
    for start in range(0, len(emails), IN_CHUNK):
        rows = conn.execute(_EXISTING_BY_EMAIL, {"workspace_id": workspace.id,
                                                 "emails": emails[start:start + IN_CHUNK]})
        names = tuple(rows.keys())
        for values in rows:
            row = dict(zip(names, values))
            found[row["email"]] = row
    return found


def _current_groups(kind, contact_ids: list) -> dict:
    """contact id → {group id: name} of its lists (or tags), for the given contacts."""
    members, group_table = kind.members, kind.model.__table__
    group_col = kind.member_group_col()
    current: dict = {contact_id: {} for contact_id in contact_ids}
    conn = db.session.connection()
    for start in range(0, len(contact_ids), IN_CHUNK):
        for contact_id, group_id, name in conn.execute(
                select(members.c.contact_id, group_col, group_table.c.name)
                .join(group_table, group_table.c.id == group_col)
                .where(members.c.contact_id.in_(contact_ids[start:start + IN_CHUNK]))
                .order_by(group_table.c.name)):
            current[contact_id][group_id] = name
    return current


def _update_existing_contacts(workspace: Workspace, updates: list, known_groups: dict,
                              source: str) -> None:
    """Apply each row's sent fields to its existing contact (PATCH semantics): one executemany
    UPDATE for the changed profiles, one INSERT and one DELETE per membership table, one
    INSERT of timeline entries."""
    if not updates:
        return
    now = utcnow()
    profiles: dict[tuple, list] = {}  # changed columns → UPDATE parameters
    events = []
    memberships = {kind: ([], []) for kind in (LISTS, TAGS)}  # (rows to add, rows to remove)
    current = {kind: _current_groups(kind, [row["id"] for row, data in updates
                                            if f"{kind.label}_ids" in data.model_fields_set])
               for kind in (LISTS, TAGS)}

    def event(contact_id, action, changes):
        return {"id": uuid.uuid4(), "contact_id": contact_id, "action": action,
                "changes": changes, "source": source, "created_at": now}

    for row, data in updates:
        sent = data.model_fields_set
        changes = {name: {"from": row[name], "to": getattr(data, name)} for name in PROFILE_FIELDS
                   if name in sent and row[name] != getattr(data, name)}
        if changes:
            profiles.setdefault(tuple(changes), []).append(
                {"contact_id": row["id"], "now": now,
                 **{f"new_{name}": change["to"] for name, change in changes.items()}})
            events.append(event(row["id"], "updated", changes))
        for kind in (LISTS, TAGS):
            if f"{kind.label}_ids" not in sent:
                continue
            had = current[kind][row["id"]]
            wanted = getattr(data, f"{kind.label}_ids")
            to_add, to_remove = memberships[kind]
            for group_id in wanted:
                if group_id not in had:
                    to_add.append({kind.group_column: group_id, "contact_id": row["id"]})
                    events.append(event(row["id"], f"{kind.label}_added", {kind.label: {
                        "id": str(group_id), "name": known_groups[group_id].name}}))
            for group_id, name in had.items():
                if group_id not in wanted:
                    to_remove.append({"group_id": group_id, "contact_id": row["id"]})
                    events.append(event(row["id"], f"{kind.label}_removed", {kind.label: {
                        "id": str(group_id), "name": name}}))

    for columns, params in profiles.items():
        db.session.execute(_update_profile(columns), params)
    for kind, (to_add, to_remove) in memberships.items():
        if to_add:
            db.session.execute(insert(kind.members), to_add)
        if to_remove:
            members = kind.members
            db.session.execute(delete(members).where(
                members.c.contact_id == bindparam("contact_id"),
                kind.member_group_col() == bindparam("group_id")), to_remove)
    if events:
        db.session.execute(insert(_EVENTS), events)
        outbox.emit_timeline(workspace.id, [(e["contact_id"], e["action"], e["changes"])
                                            for e in events])


def _insert_new_contacts(workspace: Workspace, new_rows, known_groups: dict, source: str):
    """Bulk-create contacts with a few multi-row INSERTs (contacts, memberships, timeline)
    instead of one ORM object each: a 1,000-row import is mostly new contacts. The rows'
    list/tag ids were already checked to belong to the workspace."""
    if not new_rows:
        return []
    now = utcnow()
    contacts, events, list_rows, tag_rows, created = [], [], [], [], []
    for index, data in new_rows:
        contact_id = uuid.uuid4()
        profile = {name: getattr(data, name) for name in PROFILE_FIELDS}
        contacts.append({"id": contact_id, "workspace_id": workspace.id, "created_at": now,
                         "updated_at": now, **profile})
        events.append({"id": uuid.uuid4(), "contact_id": contact_id, "action": "created",
                       "changes": profile, "source": source, "created_at": now})
        for kind, ids, target in ((LISTS, data.list_ids, list_rows), (TAGS, data.tag_ids, tag_rows)):
            for group_id in ids:
                target.append({kind.group_column: group_id, "contact_id": contact_id})
        created.append((index, data, contact_id))
    for kind, member_rows in ((LISTS, list_rows), (TAGS, tag_rows)):
        events += [{"id": uuid.uuid4(), "contact_id": row["contact_id"],
                    "action": f"{kind.label}_added", "source": source, "created_at": now,
                    "changes": {kind.label: {"id": str(row[kind.group_column]),
                                             "name": known_groups[row[kind.group_column]].name}}}
                   for row in member_rows]
    try:
        db.session.execute(insert(_contacts), contacts)
        for kind, member_rows in ((LISTS, list_rows), (TAGS, tag_rows)):
            if member_rows:
                db.session.execute(insert(kind.members), member_rows)
        db.session.execute(insert(_EVENTS), events)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(DUPLICATE_EMAIL) from None
    outbox.emit_timeline(workspace.id, [(e["contact_id"], e["action"], e["changes"])
                                        for e in events])
    return created

