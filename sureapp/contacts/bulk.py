"""Bulk actions on many contacts: add to / remove from a list, add / remove a tag, change status,
delete — on selected rows or on every contact matching the current filter.

All or nothing: an action runs in ONE transaction, in chunks of CHUNK ids (each chunk one
set-based step through the contacts services, so memory and statement size stay bounded), and is
committed once at the end. Any error rolls everything back, so a selection is never left
half-changed (per-chunk commits could not promise that).

Up to INLINE_LIMIT contacts that transaction runs in the request. Larger selections can take
longer than a worker's request timeout, so they run the same single transaction in a background
thread; the page polls its progress (a status file under instance/, readable by every worker
while the transaction is still open) and shows the outcome: done, or failed with nothing changed.
"""
import json
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app
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
INLINE_LIMIT = 2000
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
JOB_TTL_SECONDS = 24 * 3600


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


def apply(workspace: Workspace, plan: BulkPlan, source: str, on_progress=None) -> str:
    """Run the plan in one transaction; returns the message for the user. Rolls back on any error."""
    changed = 0
    done_ids = 0
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
            done_ids += len(chunk)
            if on_progress:
                on_progress(done_ids)
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



# ---- large selections: the same transaction in a background thread ----------------------------

def _jobs_root() -> Path:
    root = Path(current_app.config.get("CONTACT_BULK_DIR")
                or Path(current_app.instance_path) / "bulk")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _write_status(path: Path, status: dict) -> None:
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(status))
    os.replace(tmp, path)  # atomic: a poll never reads half a file


def load_status(job_id: str, workspace: Workspace, user_id) -> dict | None:
    """The job's status if it belongs to this user in this workspace, else None."""
    if not JOB_ID.match(job_id or ""):
        return None
    path = _jobs_root() / f"{job_id}.json"
    if not path.is_file():
        return None
    status = json.loads(path.read_text())
    if status["workspace_id"] != str(workspace.id) or status["user_id"] != str(user_id):
        return None
    return status


def _cleanup_old_jobs() -> None:
    cutoff = time.time() - JOB_TTL_SECONDS
    for path in _jobs_root().glob("*.json"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


_running: dict[str, threading.Thread] = {}


def start_in_background(workspace: Workspace, plan: BulkPlan, source: str, user_id) -> str:
    """Start the plan in a thread (its own app context and session); returns the job id."""
    _cleanup_old_jobs()
    job_id = secrets.token_hex(16)
    path = _jobs_root() / f"{job_id}.json"
    status = {"workspace_id": str(workspace.id), "user_id": str(user_id), "state": "running",
              "done": 0, "total": plan.count, "title": plan.describe(), "message": ""}
    _write_status(path, status)
    app = current_app._get_current_object()
    workspace_id, target_id = workspace.id, plan.target.id if plan.target else None
    target_model = type(plan.target) if plan.target else None

    def work():
        with app.app_context():
            try:
                ws = db.session.get(Workspace, workspace_id)
                target = db.session.get(target_model, target_id) if target_model else None
                job_plan = BulkPlan(plan.action, plan.contact_ids, plan.scope, target, plan.status)

                def progress(done):
                    _write_status(path, {**status, "done": done})

                message = apply(ws, job_plan, source, on_progress=progress)
                _write_status(path, {**status, "state": "done", "done": plan.count,
                                     "message": message})
            except Exception as exc:  # rolled back by apply(): nothing was changed
                app.logger.exception("bulk action %s failed", job_id)
                reason = exc.message if isinstance(exc, DomainError) else "an unexpected error"
                _write_status(path, {**status, "state": "failed",
                                     "message": f"Nothing was changed: {reason}."})
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"bulk-{job_id[:8]}", daemon=True)
    _running[job_id] = thread
    thread.start()
    return job_id


def wait_for(job_id: str, timeout: float = 60) -> None:
    """Block until a background bulk action ends (tests)."""
    thread = _running.pop(job_id, None)
    if thread:
        thread.join(timeout)
