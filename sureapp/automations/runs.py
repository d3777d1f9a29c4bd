"""Automations that run: enrolment on a trigger, and the periodic task that advances runs.

Enrolment. `events.subscribe` calls `_enrol` from every emit of contact.created,
list.contact_added and tag.contact_added (whichever entry point made the change: UI, API, MCP,
CSV import, bulk actions, CLI) in the emitting transaction, so a run row exists if and only if
its change was committed. A workspace with no active automation of a trigger pays nothing:
`_interest` is read in the same statement as the webhook endpoints. A contact is enrolled once
per automation (a unique row per automation × contact × entry, written with ON CONFLICT DO
NOTHING, so racing transactions enrol once and never fail the change); with `allow_reentry` a
later trigger enrols them again once their previous run has finished, never while one is open.

The loop guard. A run remembers the chain of automations whose steps led to it (`chain`). While
a run's steps execute, that chain plus its own automation is the context of every event they
emit, and an automation in the chain never enrols the contact: an automation never triggers
itself, directly or through others (A adds a tag that starts B, whose step would start A
again), and a chain stops after MAX_CHAIN automations.

Advancing. `advance_due` (jobs.every) claims due runs with one conditional UPDATE (`FOR UPDATE
SKIP LOCKED` on PostgreSQL) that gives them a lease, then runs each one's steps until a wait,
the end, or a failure. A step's effect (a tag, a list) commits together with the run's new
position, so a restart never applies it twice; a run whose runner died is claimed again when
its lease ends. A send_email step commits `sending_step` before the mail is handed to SMTP: a
run found with it set after a crash may have been mailed, so it is never sent again (the run
goes on, noting it). Paused automations hold their runs where they are (nothing is claimed);
activating them again continues them, steps that came due meanwhile at once.
"""
import logging
import uuid
from contextvars import ContextVar
from functools import partial
from datetime import timedelta

from sqlalchemy import and_, case, func, select, update

from .. import events, jobs, sqlutil
from ..contacts import lists, tags
from ..errors import Conflict, DomainError, NotFound
from ..extensions import db
from ..models import Automation, AutomationRun, Workspace
from ..tenancy.access import row_in_workspace
from ..timeutil import utcnow
from . import mailing, services
from .schemas import WaitStep

log = logging.getLogger(__name__)

TRIGGER_EVENTS = {"contact_created": "contact.created", "list_joined": "list.contact_added",
                  "tag_added": "tag.contact_added"}
EVENT_TRIGGERS = {event: trigger for trigger, event in TRIGGER_EVENTS.items()}
MAX_CHAIN = 10
CLAIM_BATCH = 20
LEASE = timedelta(minutes=5)  # a run's steps take seconds; a dead runner's run waits this long
SEND_RETRIES = (60, 600, 3600)  # seconds before the 2nd, 3rd, 4th attempt of a failed send
IN_CHUNK = 500

# The automations whose steps are running in this context (the loop guard above).
_chain: ContextVar[tuple[str, ...]] = ContextVar("automation_chain", default=())


# ---- enrolment --------------------------------------------------------------------------------

def _interest(workspace_id):
    """The event types the workspace's active automations are triggered by."""
    return select(case(*((Automation.trigger == trigger, event)
                         for trigger, event in TRIGGER_EVENTS.items()))).where(
        Automation.workspace_id == workspace_id, Automation.status == "active")


def _watched(automation, item: dict) -> bool:
    """Does this event's list/tag match the automation's filter (None: any)?"""
    watched = automation.trigger_list_id or automation.trigger_tag_id
    if watched is None:
        return True
    group = item.get("list") or item.get("tag") or {}
    return group.get("id") == str(watched)


def _enrol(event_type: str, workspace_id, items: list[dict]) -> None:
    chain = _chain.get()
    if len(chain) >= MAX_CHAIN:
        return
    automations = [a for a in db.session.execute(
        select(Automation.id, Automation.trigger_list_id, Automation.trigger_tag_id,
               Automation.allow_reentry)
        .where(Automation.workspace_id == workspace_id, Automation.status == "active",
               Automation.trigger == EVENT_TRIGGERS[event_type])) if str(a.id) not in chain]
    wanted = [(automation, uuid.UUID(str(item.get("contact", item)["id"])))
              for item in items for automation in automations if _watched(automation, item)]
    if not wanted:
        return
    previous = _previous_runs({a.id for a, _ in wanted}, list({c for _, c in wanted}))
    now, rows, seen = utcnow(), [], set()
    for automation, contact_id in wanted:
        if (automation.id, contact_id) in seen:
            continue
        seen.add((automation.id, contact_id))
        last_entry, open_run = previous.get((automation.id, contact_id), (0, False))
        if last_entry and (open_run or not automation.allow_reentry):
            continue
        rows.append({"id": uuid.uuid4(), "workspace_id": workspace_id,
                     "automation_id": automation.id, "contact_id": contact_id,
                     "entry": last_entry + 1, "step": 0, "state": "scheduled", "next_at": now,
                     "runner_id": "", "attempts": 0, "last_error": "", "chain": list(chain),
                     "created_at": now, "updated_at": now})
    if rows:
        sqlutil.insert_new(AutomationRun.__table__, rows)
        events.deliveries_queued()


def _previous_runs(automation_ids, contact_ids) -> dict:
    """(automation id, contact id) → (highest entry, is a run still open)."""
    found = {}
    open_run = func.max(case((AutomationRun.state.in_(("scheduled", "running")), 1), else_=0))
    for start in range(0, len(contact_ids), IN_CHUNK):
        for automation_id, contact_id, entry, is_open in db.session.execute(
                select(AutomationRun.automation_id, AutomationRun.contact_id,
                       func.max(AutomationRun.entry), open_run)
                .where(AutomationRun.automation_id.in_(list(automation_ids)),
                       AutomationRun.contact_id.in_(contact_ids[start:start + IN_CHUNK]))
                .group_by(AutomationRun.automation_id, AutomationRun.contact_id)):
            found[(automation_id, contact_id)] = (entry, bool(is_open))
    return found


events.subscribe(_enrol, interest=_interest)


# ---- claiming ---------------------------------------------------------------------------------

def _due(now):
    return and_(AutomationRun.state.in_(("scheduled", "running")), AutomationRun.next_at <= now)


def claim(now=None, limit: int = CLAIM_BATCH) -> list:
    """Lease up to `limit` due runs of active automations (a scheduled run that is due, or a
    running one whose runner's lease ran out); returns (run id, lease) pairs."""
    now = now or utcnow()
    lease = now + LEASE
    due = (select(AutomationRun.id)
           .join(Automation, Automation.id == AutomationRun.automation_id)
           .where(Automation.status == "active", _due(now))
           .order_by(AutomationRun.next_at).limit(limit)
           .with_for_update(skip_locked=True, of=AutomationRun))
    with db.engine.begin() as conn:
        # The due condition again: on SQLite (no row locks) it is what makes the claim conditional.
        return [(run_id, lease) for run_id in conn.scalars(
            update(AutomationRun).where(AutomationRun.id.in_(due.scalar_subquery()), _due(now))
            .values(state="running", lease_until=lease, next_at=lease, runner_id=jobs.runner_id())
            .returning(AutomationRun.id))]


def _save(run: AutomationRun, lease, **values) -> bool:
    """Write the run's new state if it is still ours (its lease unchanged), in the session's
    transaction; the caller commits on True and rolls back on False."""
    won = db.session.execute(
        update(AutomationRun)
        .where(AutomationRun.id == run.id, AutomationRun.state == "running",
               AutomationRun.lease_until == lease)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
    return won


def _finish(run, lease, now, state: str, step: int, error: str = "") -> None:
    if _save(run, lease, state=state, step=step, next_at=None, lease_until=None,
             sending_step=None, last_error=error[:500], finished_at=now):
        db.session.commit()


# ---- one run ----------------------------------------------------------------------------------

class StepFailed(DomainError):
    """A step cannot be done (its tag or list is gone); the run fails with this message."""


def _apply_group_step(workspace: Workspace, automation: Automation, contact_id, step: dict) -> None:
    """add_tag / remove_tag / add_to_list / remove_from_list through the contacts services, so
    they write the timeline and emit their events (which may enrol the contact elsewhere)."""
    kind = step["type"]
    source = f"Automation: {automation.name}"[:255]
    try:
        if kind in ("add_tag", "remove_tag"):
            group = tags.get_tag(workspace, uuid.UUID(step["tag_id"]))
            change = tags.add_contacts_to_tag if kind == "add_tag" else tags.remove_contacts_from_tag
        else:
            group = lists.get_list(workspace, uuid.UUID(step["list_id"]))
            change = (lists.add_contacts_to_list if kind == "add_to_list"
                      else lists.remove_contacts_from_list)
    except DomainError:
        label = "tag" if "tag" in kind else "list"
        raise StepFailed(f"The {label} of this step no longer exists.") from None
    change(workspace, group, [contact_id], source=source)


def advance(run_id, lease, now=None) -> str | None:
    """Run a claimed run's steps from where it is until a wait, the end or a failure; returns
    its new state (None if it was no longer ours)."""
    now = now or utcnow()
    run = db.session.get(AutomationRun, run_id)
    if run is None or run.lease_until != lease:
        return None
    automation = db.session.get(Automation, run.automation_id)
    workspace = db.session.get(Workspace, run.workspace_id)
    steps, step, attempts = automation.steps or [], run.step, run.attempts
    token = _chain.set(tuple(run.chain or ()) + (str(automation.id),))
    try:
        note = ""
        while step < len(steps):
            definition = steps[step]
            kind = definition.get("type")
            if run.sending_step == step:
                # The runner died after handing this mail to SMTP: it may have gone out.
                note = ("The run was interrupted while this step's email was being sent; it was "
                        "not sent again, so it may not have arrived.")
                step, attempts = step + 1, 0
                if not _save(run, lease, step=step, attempts=0, sending_step=None, last_error=note):
                    return None
                db.session.commit()
                run.sending_step = None
                continue
            if kind == "wait":
                if attempts == 0:  # the wait starts now
                    until = now + WaitStep.model_validate(definition).duration
                    if _save(run, lease, state="scheduled", step=step, attempts=1, next_at=until,
                             lease_until=None, last_error=note):
                        db.session.commit()
                        return "scheduled"
                    return None
                step, attempts = step + 1, 0
                continue
            if kind == "send_email":
                # What the steps before it did commits with the at-most-once marker.
                marked = partial(_mark_sending, run, lease, step, attempts + 1)
                result = mailing.send(run, automation, workspace, step, definition, marked, now)
                if result is None:
                    return None
                if result.state is not None:
                    return _record_unsent(run, lease, now, step, attempts, result)
                step, attempts, note = step + 1, 0, ""
                if not _save(run, lease, step=step, attempts=0, sending_step=None, last_error=""):
                    return None
                db.session.commit()
                continue
            _apply_group_step(workspace, automation, run.contact_id, definition)
            step, attempts = step + 1, 0
        _finish(run, lease, now, "completed", step, note)
        return "completed"
    except StepFailed as exc:
        db.session.rollback()
        _finish(run, lease, now, "failed", step, exc.message)
        return "failed"
    finally:
        _chain.reset(token)


def _mark_sending(run, lease, step: int, attempts: int) -> bool:
    if not _save(run, lease, step=step, attempts=attempts, sending_step=step):
        return False
    db.session.commit()
    return True


def _record_unsent(run, lease, now, step, attempts, result) -> str | None:
    """A mail that did not go out: tried again later (a few times), or the run ends there."""
    if result.state == "scheduled" and result.retry_after is not None:
        # The sender's rate is used up: not an attempt (a burst of enrolments waits its turn).
        if not _save(run, lease, state="scheduled", step=step, attempts=attempts,
                     next_at=now + timedelta(seconds=result.retry_after), lease_until=None,
                     sending_step=None):
            return None
        db.session.commit()
        return "scheduled"
    tries = attempts + 1
    if result.state == "scheduled" and tries <= len(SEND_RETRIES):
        delay = SEND_RETRIES[tries - 1]
        if not _save(run, lease, state="scheduled", step=step, attempts=tries,
                     next_at=now + timedelta(seconds=delay), lease_until=None, sending_step=None,
                     last_error=f"{result.error} (attempt {tries}; trying again)"[:500]):
            return None
        db.session.commit()
        return "scheduled"
    state = "failed" if result.state == "scheduled" else result.state
    _finish(run, lease, now, state, step, result.error)
    return state


# ---- retrying a failed run --------------------------------------------------------------------

def retry_run(workspace: Workspace, automation_id, run_id, now=None) -> AutomationRun:
    """Resume a failed run at the step that failed: due now, for the periodic task (the one
    runner) to take. NotFound for another automation's or workspace's run; Conflict unless the
    run failed, the automation is active and the contact has not entered it again since. A mail
    whose sending was interrupted stays unsent (at most once); the step's retries start over."""
    automation = services.get_automation(workspace, automation_id)
    run = row_in_workspace(AutomationRun, workspace.id, run_id)
    if run is None or run.automation_id != automation.id:
        raise NotFound("No such run of this automation.")
    if run.state != "failed":
        raise Conflict(f"Only a failed run can be retried; this one is {run.state}.")
    if automation.status != "active":
        raise Conflict("The automation is paused: activate it, then retry the run (a paused "
                       "automation holds its runs).")
    if db.session.scalar(select(AutomationRun.id).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == run.contact_id, AutomationRun.entry > run.entry)
            .limit(1)) is not None:
        raise Conflict("The contact entered this automation again since; that later run is "
                       "the one that goes on.")
    steps = automation.steps or []
    waiting = run.step < len(steps) and steps[run.step].get("type") == "wait"
    now = now or utcnow()
    # Conditional on the state, so of two racing retries one resumes the run.
    if db.session.execute(
            update(AutomationRun)
            .where(AutomationRun.id == run.id, AutomationRun.state == "failed")
            .values(state="scheduled", next_at=now, lease_until=None, runner_id="",
                    attempts=run.attempts if waiting else 0,  # a wait that ended stays ended
                    last_error="", finished_at=None, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount != 1:
        raise Conflict("This run was retried already.")
    events.deliveries_queued()  # wakes the periodic task once the caller commits
    db.session.refresh(run)
    return run


# ---- the periodic task ------------------------------------------------------------------------

def _next_due():
    """When the earliest open run of an active automation is due (None: nothing to do)."""
    return db.session.scalar(
        select(func.min(AutomationRun.next_at))
        .join(Automation, Automation.id == AutomationRun.automation_id)
        .where(Automation.status == "active",
               AutomationRun.state.in_(("scheduled", "running"))))


def _advance_safely(run_id, lease, now) -> None:
    try:
        advance(run_id, lease, now)
    except Exception:  # a bug, or the database went away: stop this run visibly, not in a loop
        log.exception("automation run could not be advanced")
        db.session.rollback()
        with db.engine.begin() as conn:
            conn.execute(update(AutomationRun)
                         .where(AutomationRun.id == run_id, AutomationRun.lease_until == lease)
                         .values(state="failed", next_at=None, lease_until=None,
                                 finished_at=now or utcnow(), updated_at=utcnow(),
                                 last_error="An unexpected error stopped this run; it was "
                                            "logged for the administrator."))


def advance_due(now=None) -> float:
    """Advance every due run; returns how long to sleep before the next one is due. `now` is
    injected by tests (a wait of a day passes in an instant)."""
    next_due = _next_due()
    while next_due is not None and next_due <= (now or utcnow()):
        db.session.rollback()  # the claim runs on its own connection; end this read
        claimed = claim(now)
        for run_id, lease in claimed:
            _advance_safely(run_id, lease, now)
        db.session.rollback()
        next_due = _next_due()
        if not claimed:
            break  # due runs exist but are claimed elsewhere (another worker)
    db.session.rollback()
    if next_due is None:
        return jobs.MAX_IDLE_SECONDS
    return min(max((next_due - utcnow()).total_seconds(), 0.0), jobs.MAX_IDLE_SECONDS)


TASK = jobs.every("automations.advance", advance_due)
