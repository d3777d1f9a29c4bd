"""Bulk actions on many contacts: add to / remove from a list, add / remove a tag, change status,
delete — on selected rows or on every contact matching the current filter.

All or nothing: an action runs in ONE transaction, in chunks of CHUNK ids (each chunk one
set-based step through the contacts services, so memory and statement size stay bounded), and is
committed once at the end. Any error rolls everything back, so a selection is never left
half-changed (per-chunk commits could not promise that).

Up to INLINE_LIMIT contacts that transaction runs in the request. Larger selections can take
longer than a worker's request timeout, so they run the same single transaction as an atomic
background job (sureapp/jobs.py); the page polls its progress and shows the outcome: done, or
failed / interrupted with nothing changed.
"""
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from .. import jobs
from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import CONTACT_STATUSES, Contact, ContactEvent, ContactList, Job, Tag, Workspace
from ..tenancy.access import row_in_workspace
from ..timeutil import utcnow
from . import lists, outbox, tags
from .browse import owned_contact_ids
from .query import ContactFilter, matching_ids

ACTIONS = ("add_to_list", "remove_from_list", "add_tag", "remove_tag", "set_status", "delete")
CHUNK = 500
INLINE_LIMIT = 2000


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


def _owned(model, workspace: Workspace, raw: str, missing: str):
    if not raw:
        raise BulkError(missing)
    obj = row_in_workspace(model, workspace.id, raw)
    if obj is None:
        raise NotFound("No such list or tag in this workspace.")
    return obj


def plan(workspace: Workspace, action: str, flt: ContactFilter, *, scope: str = "selected",
         contact_ids: list[str] = (), list_id: str = "", tag_id: str = "",
         status: str = "") -> BulkPlan:
    """Resolve the selection and the target; another workspace's ids are NotFound."""
    if action not in ACTIONS:
        raise BulkError("Choose an action.")
    scope = "all" if scope == "all" else "selected"
    target = None
    if action in ("add_to_list", "remove_from_list"):
        target = _owned(ContactList, workspace, list_id, "Choose a list.")
    elif action in ("add_tag", "remove_tag"):
        target = _owned(Tag, workspace, tag_id, "Choose a tag.")
    elif status not in CONTACT_STATUSES and action == "set_status":
        raise BulkError("Choose a status.")
    if action != "set_status":
        status = ""
    if scope == "all":
        ids = list(db.session.scalars(matching_ids(workspace, flt)))
    else:
        ids = owned_contact_ids(workspace, [r for r in contact_ids if r])
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
    timeline = [{"contact_id": cid, "action": "updated", "source": source, "created_at": now,
                 "changes": {"status": {"from": old, "to": status}}} for cid, old in rows]
    db.session.execute(insert(ContactEvent), timeline)
    outbox.emit_timeline(workspace.id, [(e["contact_id"], e["action"], e["changes"])
                                        for e in timeline])
    return len(rows)


def delete_contacts(workspace: Workspace, contact_ids: list[uuid.UUID]) -> int:
    """Delete one chunk (memberships and timelines go with them: ON DELETE CASCADE), as
    services.delete_contact does for one contact; returns how many were deleted."""
    owned = [cid for (cid,) in _owned_rows(workspace, contact_ids)]
    if not owned:
        return 0
    outbox.emit_deleted(workspace.id, owned)
    db.session.execute(delete(Contact).where(Contact.id.in_(owned)),
                       execution_options={"synchronize_session": False})
    return len(owned)


def _chunks(ids: list):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def execute(workspace: Workspace, plan: BulkPlan, source: str, on_progress=None) -> str:
    """Run the plan in the current transaction (the caller commits or rolls back); returns the
    message for the user."""
    changed = 0
    done_ids = 0
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
        done_ids += len(chunk)
        if on_progress:
            on_progress(done_ids)
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


def apply(workspace: Workspace, plan: BulkPlan, source: str) -> str:
    """Run the plan in one transaction, in the request; rolls back on any error."""
    try:
        message = execute(workspace, plan, source)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return message


# ---- large selections: the same transaction as an atomic background job -----------------------

_TARGET_MODELS = {"list": ContactList, "tag": Tag}


def _run_job(ctx: jobs.JobContext) -> dict:
    p = ctx.params
    workspace = db.session.get(Workspace, ctx.workspace_id)
    target = None
    if p["target_kind"]:
        target = row_in_workspace(_TARGET_MODELS[p["target_kind"]], workspace.id, p["target_id"])
        if target is None:
            raise BulkError("the list or tag was deleted meanwhile")
    job_plan = BulkPlan(p["action"], [uuid.UUID(i) for i in p["contact_ids"]], p["scope"], target,
                        p["status"])
    ctx.progress(done=0, total=job_plan.count)
    message = execute(workspace, job_plan, p["source"],
                      on_progress=lambda done: ctx.progress(done=done, total=job_plan.count))
    return {"message": message}


JOB = jobs.register(
    "contacts.bulk", _run_job, atomic=True,
    interrupted_message="Nothing was changed: the server restarted while this ran. Start it again.",
    failure_message=lambda exc: "Nothing was changed: "
                                f"{exc.message if isinstance(exc, DomainError) else 'an unexpected error'}.")


def queue_job(workspace: Workspace, plan: BulkPlan, source: str, user_id) -> Job:
    """The plan as a queued job in the caller's transaction (the caller commits, then calls
    `jobs.start`: the job must exist before its thread looks for it)."""
    target_kind = {ContactList: "list", Tag: "tag"}.get(type(plan.target), "")
    job = jobs.create(JOB, workspace.id, user_id, title=plan.describe(), params={
        "action": plan.action, "scope": plan.scope, "status": plan.status, "source": source,
        "target_kind": target_kind, "target_id": str(plan.target.id) if plan.target else "",
        "contact_ids": [str(i) for i in plan.contact_ids],
    })
    job.progress = {"done": 0, "total": plan.count}
    return job


def load_job(job_id: str, workspace: Workspace, user_id):
    """The bulk job if it belongs to this user in this workspace, else None."""
    return jobs.get(job_id, kind=JOB, workspace_id=workspace.id, user_id=user_id)
