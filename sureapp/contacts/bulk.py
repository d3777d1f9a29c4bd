"""Bulk actions on many contacts: add to / remove from a list, add / remove a tag, change status,
delete — on selected rows or on every contact matching the current filter.

All or nothing: the whole action runs in ONE transaction, in chunks of CHUNK ids (each chunk one
set-based statement through the contacts services, so memory and statement size stay bounded),
and is committed once at the end. Any error rolls everything back, so a selection is never left
half-changed. A background job with per-chunk commits could not promise that, and one
transaction over 100,000 contacts takes seconds, not minutes (see bench/), so it stays in the
request.
"""
import uuid
from dataclasses import dataclass

from flask import abort
from sqlalchemy import delete, insert, select, update
from ..errors import DomainError
from ..extensions import db
from ..models import CONTACT_STATUSES, Contact, ContactEvent, ContactList, Role, Tag, Workspace
from ..tenancy.access import parse_uuid
from ..timeutil import utcnow
from . import lists, tags
from .browse import ContactFilter, matching_ids, owned_contact_ids
from .forms import BULK_ACTIONS, BulkForm
from .permissions import can_delete

CHUNK = 500


class BulkError(DomainError):
    """The action can't run as asked (nothing selected, no list chosen…)."""


@dataclass
class BulkPlan:
    """What will happen, resolved and checked before the confirm dialog states it."""

    action: str
    contact_ids: list[uuid.UUID]
    scope: str  # "selected" or "all"
    target: ContactList | Tag | None = None
    status: str = ""

    @property
    def count(self) -> int:
        return len(self.contact_ids)

    def describe(self) -> str:
        n = f"{self.count:,} contact{'s' if self.count != 1 else ''}"
        return {
            "add_to_list": f"Add {n} to the list “{self.target.name if self.target else ''}”",
            "remove_from_list": f"Remove {n} from the list “{self.target.name if self.target else ''}”",
            "add_tag": f"Tag {n} with “{self.target.name if self.target else ''}”",
            "remove_tag": f"Remove the tag “{self.target.name if self.target else ''}” from {n}",
            "set_status": f"Set the status of {n} to {self.status}",
            "delete": f"Delete {n} permanently",
        }[self.action]


def fill_choices(form: BulkForm, lists, tags, role: Role) -> None:
    form.list_id.choices = [("", "Choose a list")] + [(str(x.id), x.name) for x in lists]
    form.tag_id.choices = [("", "Choose a tag")] + [(str(x.id), x.name) for x in tags]
    if not can_delete(role):
        form.action.choices = [(k, v) for k, v in BULK_ACTIONS.items() if k != "delete"]


def _owned(model, workspace: Workspace, raw: str, missing: str):
    if not raw:
        raise BulkError(missing)
    ident = parse_uuid(raw)
    obj = db.session.get(model, ident) if ident else None
    if obj is None or obj.workspace_id != workspace.id:
        abort(404)
    return obj


def plan(workspace: Workspace, form: BulkForm, flt: ContactFilter, raw_ids: list[str]) -> BulkPlan:
    """Resolve the selection and the target; another workspace's ids are a 404."""
    action = form.action.data
    scope = "all" if form.scope.data == "all" else "selected"
    target, status = None, ""
    if action in ("add_to_list", "remove_from_list"):
        target = _owned(ContactList, workspace, form.list_id.data, "Choose a list.")
    elif action in ("add_tag", "remove_tag"):
        target = _owned(Tag, workspace, form.tag_id.data, "Choose a tag.")
    elif action == "set_status":
        status = form.new_status.data
        if status not in CONTACT_STATUSES:
            raise BulkError("Choose a status.")
    if scope == "all":
        ids = list(db.session.scalars(matching_ids(workspace, flt)))
    else:
        ids = owned_contact_ids(workspace, [r for r in raw_ids if r])
    if not ids:
        raise BulkError("Select at least one contact." if scope == "selected"
                        else "No contacts match this filter.")
    return BulkPlan(action=action, contact_ids=ids, scope=scope, target=target, status=status)


def _owned_rows(workspace: Workspace, contact_ids: list[uuid.UUID], *columns) -> list:
    """(id, *columns) of the chunk's contacts that are this workspace's. Looked up by primary
    key and checked here: with workspace_id in the WHERE, SQLite walks the workspace's index."""
    rows = db.session.execute(select(Contact.id, Contact.workspace_id, *columns)
                              .where(Contact.id.in_(contact_ids)))
    return [(row[0], *row[2:]) for row in rows if row[1] == workspace.id]


def set_status(workspace: Workspace, contact_ids: list[uuid.UUID], status: str, source: str) -> int:
    """Set-based status change of one chunk, with the same "updated" timeline entry (and
    {"from", "to"} change format) that services.update_contact records; returns how many changed."""
    rows = [(cid, old) for cid, old in _owned_rows(workspace, contact_ids, Contact.status)
            if old != status]
    if not rows:
        return 0
    now = utcnow()
    db.session.execute(update(Contact).where(Contact.id.in_([cid for cid, _ in rows]))
                       .values(status=status, updated_at=now),
                       execution_options={"synchronize_session": False})
    # One executemany, not an ORM object per contact.
    db.session.execute(insert(ContactEvent), [
        {"contact_id": cid, "action": "updated", "source": source, "created_at": now,
         "changes": {"status": {"from": old, "to": status}}} for cid, old in rows])
    return len(rows)


def delete_contacts(workspace: Workspace, contact_ids: list[uuid.UUID]) -> int:
    """Delete one chunk (memberships and timelines go with them: ON DELETE CASCADE), as
    services.delete_contact does for one contact; returns how many were deleted."""
    owned = [cid for (cid,) in _owned_rows(workspace, contact_ids)]
    if not owned:
        return 0
    db.session.execute(delete(Contact).where(Contact.id.in_(owned)),
                       execution_options={"synchronize_session": False})
    return len(owned)


def _chunks(ids: list):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def apply(workspace: Workspace, plan: BulkPlan, source: str) -> str:
    """Run the plan in one transaction; returns the message for the user. Rolls back on any error."""
    changed = 0
    try:
        for chunk in _chunks(plan.contact_ids):
            if plan.action == "add_to_list":
                changed += lists.add_contacts_to_list(workspace, plan.target, chunk, source)
            elif plan.action == "remove_from_list":
                changed += lists.remove_contacts_from_list(workspace, plan.target, chunk, source)
            elif plan.action == "add_tag":
                changed += tags.add_contacts_to_tag(workspace, plan.target, chunk, source)
            elif plan.action == "remove_tag":
                changed += tags.remove_contacts_from_tag(workspace, plan.target, chunk, source)
            elif plan.action == "set_status":
                changed += set_status(workspace, chunk, plan.status, source)
            elif plan.action == "delete":
                changed += delete_contacts(workspace, chunk)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    n = plan.count
    unchanged = n - changed
    done = {
        "add_to_list": f"Added {changed:,} contacts to “{getattr(plan.target, 'name', '')}”",
        "remove_from_list": f"Removed {changed:,} contacts from “{getattr(plan.target, 'name', '')}”",
        "add_tag": f"Tagged {changed:,} contacts with “{getattr(plan.target, 'name', '')}”",
        "remove_tag": f"Removed “{getattr(plan.target, 'name', '')}” from {changed:,} contacts",
        "set_status": f"Set {changed:,} contacts to {plan.status}",
        "delete": f"Deleted {changed:,} contacts",
    }[plan.action]
    return done + (f" ({unchanged:,} already were)." if unchanged and plan.action != "delete" else ".")

