"""Which contact changes emit which webhook events (sureapp/events.py), and their data.

The contacts services call this beside every timeline write (one contact or a bulk batch), so
every entry point emits alike. The rule, one place:
- a timeline "created" → contact.created; "updated" (profile fields) → contact.updated with
  `changed_fields`, plus contact.unsubscribed when the status became "unsubscribed";
- "list_added" / "list_removed" / "tag_added" / "tag_removed" → list.contact_added … with
  `{"list": {"id", "name"}, "contact": {…}}`;
- a deletion → contact.deleted with the contact as it was (emitted before the delete).
`data` holds the API's JSON for the contact (ContactOut), read once per batch with Core, and
only for event types some endpoint of the workspace receives.
"""
from collections.abc import Iterable

from pydantic import TypeAdapter
from sqlalchemy import select

from .. import events
from ..extensions import db
from ..models import Contact, ContactList, Tag, list_members, tag_members
from .schemas import ContactOut

IN_CHUNK = 500
_CONTACTS = TypeAdapter(list[ContactOut])

_MEMBERSHIP_EVENTS = {
    "list_added": ("list.contact_added", "list"), "list_removed": ("list.contact_removed", "list"),
    "tag_added": ("tag.contact_added", "tag"), "tag_removed": ("tag.contact_removed", "tag"),
}


def _contacts_json(workspace_id, contact_ids) -> dict:
    """contact id → the API's JSON for it, for the ids that are contacts of the workspace: two
    statements per IN_CHUNK contacts (rows; memberships), no ORM objects."""
    found: dict = {}
    table = Contact.__table__
    for start in range(0, len(contact_ids), IN_CHUNK):
        chunk = contact_ids[start:start + IN_CHUNK]
        rows = db.session.execute(select(table).where(table.c.id.in_(chunk),
                                                      table.c.workspace_id == workspace_id))
        names = tuple(rows.keys())
        chunk_rows = {}
        for values in rows:
            row = dict(zip(names, values), list_ids=[], tag_ids=[])
            chunk_rows[row["id"]] = row
        # Ordered by name, as the API's contact lists its list_ids and tag_ids.
        for field, members, group_col, groups in (
                ("list_ids", list_members, list_members.c.list_id, ContactList.__table__),
                ("tag_ids", tag_members, tag_members.c.tag_id, Tag.__table__)):
            for contact_id, group_id in db.session.execute(
                    select(members.c.contact_id, group_col)
                    .join(groups, groups.c.id == group_col)
                    .where(members.c.contact_id.in_(list(chunk_rows)))
                    .order_by(groups.c.name)):
                chunk_rows[contact_id][field].append(group_id)
        # One validate + dump for the chunk (pydantic's core loops, not Python).
        rows = _CONTACTS.dump_python(_CONTACTS.validate_python(list(chunk_rows.values())),
                                     mode="json")
        found.update(zip(chunk_rows, rows))
    return found


def emit_timeline(workspace_id, entries: Iterable[tuple]) -> None:
    """Emit the events of timeline entries: (contact_id, action, changes) each, just written."""
    planned: dict[str, list[tuple]] = {}  # event type → [(contact id, extra data)]
    for contact_id, action, changes in entries:
        if action == "created":
            planned.setdefault("contact.created", []).append((contact_id, None))
        elif action == "updated":
            planned.setdefault("contact.updated", []).append(
                (contact_id, {"changed_fields": sorted(changes)}))
            status = changes.get("status")
            if isinstance(status, dict) and status.get("to") == "unsubscribed":
                planned.setdefault("contact.unsubscribed", []).append((contact_id, None))
        elif action in _MEMBERSHIP_EVENTS:
            event_type, label = _MEMBERSHIP_EVENTS[action]
            planned.setdefault(event_type, []).append((contact_id, {label: changes[label]}))
    planned = {t: items for t, items in planned.items() if events.wanted(t, workspace_id)}
    if not planned:
        return
    contacts = _contacts_json(workspace_id, list({cid for items in planned.values()
                                                  for cid, _ in items}))
    for event_type, items in planned.items():
        if event_type.startswith(("list.", "tag.")):
            data = [{**extra, "contact": contacts[cid]} for cid, extra in items if cid in contacts]
        else:
            data = [{**contacts[cid], **(extra or {})} for cid, extra in items if cid in contacts]
        events.emit_many(event_type, workspace_id, data)


def emit_deleted(workspace_id, contact_ids) -> None:
    """contact.deleted for contacts about to be deleted (call before the DELETE)."""
    if contact_ids and events.wanted("contact.deleted", workspace_id):
        events.emit_many("contact.deleted", workspace_id,
                         list(_contacts_json(workspace_id, contact_ids).values()))
