"""What lists and tags have in common: lookup, paging with member counts, membership changes.

Both are named groups of contacts in one workspace; `LISTS` and `TAGS` describe each, and
sureapp/contacts/lists.py and tags.py add what differs (names vs. slugs, colors)."""
import uuid
from dataclasses import dataclass

from sqlalchemy import Table, delete, func, insert, select

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import Contact, ContactEvent, ContactList, Tag, Workspace, list_members, tag_members
from ..pagination import Page, keyset_page, newest_first
from ..sqlutil import contains_text
from ..timeutil import utcnow
from . import outbox
from .schemas import GroupQuery


@dataclass(frozen=True)
class GroupKind:
    model: type
    members: Table
    label: str  # "list" / "tag", for messages and event names
    group_column: str  # the members table's column pointing at the group

    def member_group_col(self):
        return self.members.c[self.group_column]


LISTS = GroupKind(ContactList, list_members, "list", "list_id")
TAGS = GroupKind(Tag, tag_members, "tag", "tag_id")


def get_group(kind: GroupKind, workspace: Workspace, group_id) -> object:
    group = db.session.scalar(select(kind.model).where(kind.model.id == group_id,
                                                       kind.model.workspace_id == workspace.id))
    if group is None:
        raise NotFound(f"No such {kind.label}.")
    return group


def ensure_unique(kind: GroupKind, workspace: Workspace, column: str, value, message: str,
                  except_id=None) -> None:
    """Conflict(message) if another group of this kind in the workspace has `value` in `column`
    (a list's name, a tag's slug); `except_id` is the group being renamed."""
    model = kind.model
    stmt = select(model.id).where(model.workspace_id == workspace.id,
                                  getattr(model, column) == value)
    if except_id is not None:
        stmt = stmt.where(model.id != except_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(message)


def resolve_groups(kind: GroupKind, workspace: Workspace, ids) -> list:
    """The groups with these ids, in that order; NotFound naming any that is not in the workspace."""
    ids = list(dict.fromkeys(ids or []))
    if not ids:
        return []
    found = {g.id: g for g in db.session.scalars(
        select(kind.model).where(kind.model.id.in_(ids), kind.model.workspace_id == workspace.id))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound(f"No such {kind.label}: {', '.join(missing)}.")
    return [found[i] for i in ids]


def member_counts(kind: GroupKind, group_ids) -> dict[uuid.UUID, int]:
    group_ids = list(group_ids)
    if not group_ids:
        return {}
    col = kind.member_group_col()
    rows = db.session.execute(select(col, func.count()).where(col.in_(group_ids)).group_by(col))
    return {group_id: count for group_id, count in rows}


def member_count(kind: GroupKind, group) -> int:
    return member_counts(kind, [group.id]).get(group.id, 0)


def list_groups(kind: GroupKind, workspace: Workspace, query: GroupQuery) -> tuple[Page, dict]:
    """A page of groups (newest first) and their member counts."""
    stmt = select(kind.model).where(kind.model.workspace_id == workspace.id)
    if query.search:
        stmt = stmt.where(contains_text(kind.model.name, query.search))
    page = keyset_page(stmt, newest_first(kind.model), query.limit, query.cursor)
    return page, member_counts(kind, [g.id for g in page.items])


def delete_group(kind: GroupKind, workspace: Workspace, group_id) -> None:
    db.session.delete(get_group(kind, workspace, group_id))
    db.session.flush()


def resolve_contacts(workspace: Workspace, contact_ids) -> list[uuid.UUID]:
    """The ids, checked to be contacts of this workspace (NotFound naming the others)."""
    ids = list(dict.fromkeys(contact_ids))
    found = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        # By primary key only, the workspace checked here: with `AND workspace_id = ?` SQLite
        # (no ANALYZE statistics) walks the workspace's whole index instead of the PK.
        rows = db.session.execute(select(Contact.id, Contact.workspace_id)
                                  .where(Contact.id.in_(chunk)))
        found.update(cid for cid, ws_id in rows if ws_id == workspace.id)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound(f"No such contact: {', '.join(missing[:20])}"
                       f"{' …' if len(missing) > 20 else ''}.")
    return ids


def _existing_members(kind: GroupKind, group, contact_ids) -> set[uuid.UUID]:
    col = kind.member_group_col()
    present = set()
    for start in range(0, len(contact_ids), 500):
        chunk = contact_ids[start:start + 500]
        present.update(db.session.scalars(select(kind.members.c.contact_id).where(
            col == group.id, kind.members.c.contact_id.in_(chunk))))
    return present


def add_members(kind: GroupKind, workspace: Workspace, group, contact_ids, source: str) -> int:
    """Add contacts of the workspace to the group; returns how many were not members yet."""
    ids = resolve_contacts(workspace, contact_ids)
    present = _existing_members(kind, group, ids)
    new = [i for i in ids if i not in present]
    if new:
        db.session.execute(insert(kind.members),
                           [{kind.group_column: group.id, "contact_id": i} for i in new])
        record_membership_events(kind, new, group, "added", source)
    return len(new)


def remove_members(kind: GroupKind, workspace: Workspace, group, contact_ids, source: str) -> int:
    """Remove contacts from the group; returns how many were members."""
    ids = resolve_contacts(workspace, contact_ids)
    members = _existing_members(kind, group, ids)
    present = [i for i in ids if i in members]
    if present:
        db.session.execute(delete(kind.members).where(kind.member_group_col() == group.id,
                                                      kind.members.c.contact_id.in_(present)))
        record_membership_events(kind, present, group, "removed", source)
    return len(present)


def remove_member(kind: GroupKind, workspace: Workspace, group, contact_id, source: str) -> None:
    """Remove one contact; NotFound if it is not in the workspace or not a member."""
    if not remove_members(kind, workspace, group, [contact_id], source):
        raise NotFound(f"This contact is not on this {kind.label}.")


def record_membership_events(kind: GroupKind, contact_ids, group, verb: str, source: str) -> None:
    """One timeline entry per contact: '<kind>_added' / '<kind>_removed' with the group's name."""
    changes = {kind.label: {"id": str(group.id), "name": group.name}}
    now = utcnow()
    action = f"{kind.label}_{verb}"
    db.session.execute(insert(ContactEvent), [
        {"id": uuid.uuid4(), "contact_id": cid, "action": action,
         "changes": changes, "source": source, "created_at": now} for cid in contact_ids])
    outbox.emit_timeline(group.workspace_id, [(cid, action, changes) for cid in contact_ids])
    # Membership rows were written with Core: let loaded relationships re-read them.
    touched = set(contact_ids)
    for contact in list(db.session.identity_map.values()):
        if isinstance(contact, Contact) and contact.id in touched:
            db.session.expire(contact, ["lists", "tags"])

