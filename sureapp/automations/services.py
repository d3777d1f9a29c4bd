"""Automations: CRUD, the checks of triggers and steps, and each automation's progress. Never
commits: the caller owns the transaction."""
from collections import Counter

from sqlalchemy import func, select

from .. import events
from ..contacts.groups import LISTS, TAGS
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import Automation, AutomationRun, Workspace
from ..pagination import Page, keyset_page, newest_first
from ..sending import render
from ..tenancy.access import row_in_workspace
from .schemas import (AutomationCreate, AutomationPatch, AutomationProgress, AutomationQuery,
                      RunQuery, StepProgress)

FIELDS = tuple(AutomationCreate.model_fields)
UNFINISHED = ("scheduled", "running")


def get_automation(workspace: Workspace, automation_id) -> Automation:
    automation = row_in_workspace(Automation, workspace.id, automation_id)
    if automation is None:
        raise NotFound("No such automation.")
    return automation


def list_automations(workspace: Workspace, query: AutomationQuery) -> Page[Automation]:
    stmt = select(Automation).where(Automation.workspace_id == workspace.id)
    if query.status:
        stmt = stmt.where(Automation.status == query.status)
    if query.trigger:
        stmt = stmt.where(Automation.trigger == query.trigger)
    return keyset_page(stmt, newest_first(Automation), query.limit, query.cursor)


def _check_references(workspace: Workspace, automation: Automation, fields: set,
                      saved_steps=()) -> None:
    """The trigger's list/tag and every step's tag/list are this workspace's, a trigger filter
    matches its trigger, and every mail's merge tags and spintax render. A step saved before
    (`saved_steps`) is not checked again: its tag may have been deleted since, which fails its
    runs visibly, and moving or removing other steps must not be refused for it.

    What the request alone gets wrong is a ValidationFailed naming each field (the document
    says so too: a filter of another trigger, mail text that cannot render); a list or tag that
    is not this workspace's is a NotFound, as everywhere ids are resolved; a filter sent alone
    that the stored trigger cannot take is a Conflict with the automation as it is."""
    errors: dict[str, list[str]] = {}
    missing: list[str] = []
    conflicts: list[str] = []
    for field, kind, trigger in (("trigger_list_id", LISTS, "list_joined"),
                                 ("trigger_tag_id", TAGS, "tag_added")):
        value = getattr(automation, field)
        if value is None:
            continue
        if automation.trigger != trigger:
            message = f"Only a {trigger} automation watches one {kind.label}."
            if "trigger" in fields:
                errors[field] = [message]
            else:
                conflicts.append(f"{field}: {message} This one's trigger is {automation.trigger}.")
        elif row_in_workspace(kind.model, workspace.id, value) is None:
            missing.append(f"No such {kind.label} in this workspace.")
    for index, step in enumerate(automation.steps):
        if step in saved_steps:
            continue
        if step["type"] == "send_email":
            for field in ("subject", "body"):
                if found := render.problems(step[field]):
                    errors[f"steps.{index}.send_email.{field}"] = found
        for field, kind in (("tag_id", TAGS), ("list_id", LISTS)):
            if field in step and row_in_workspace(kind.model, workspace.id, step[field]) is None:
                missing.append(f"Step {index + 1}: no such {kind.label} in this workspace.")
    if errors:
        raise ValidationFailed(errors)
    if missing:
        raise NotFound(" ".join(missing))
    if conflicts:
        raise Conflict(" ".join(conflicts))


def _apply(workspace: Workspace, automation: Automation, data, fields) -> None:
    saved_steps = list(automation.steps or [])
    for name in FIELDS:
        if name not in fields:
            continue
        value = getattr(data, name)
        if name == "steps":
            value = [step.model_dump(mode="json") for step in value]
        setattr(automation, name, value)
    if "trigger" in fields and "trigger_list_id" not in fields and automation.trigger != "list_joined":
        automation.trigger_list_id = None  # a PATCH of the trigger drops the old one's filter
    if "trigger" in fields and "trigger_tag_id" not in fields and automation.trigger != "tag_added":
        automation.trigger_tag_id = None
    _check_references(workspace, automation, fields, saved_steps)
    events.forget_endpoints()  # which events this workspace listens to may have changed


def create_automation(workspace: Workspace, data: AutomationCreate) -> Automation:
    automation = Automation(workspace_id=workspace.id)
    _apply(workspace, automation, data, set(FIELDS))
    db.session.add(automation)
    db.session.flush()
    return automation


def update_automation(workspace: Workspace, automation_id,
                      data: AutomationCreate | AutomationPatch, replace: bool = False) -> Automation:
    """PUT (replace=True: every field) or PATCH (only the fields sent). Runs in progress keep
    their step number: after the steps change, each continues at that position."""
    automation = get_automation(workspace, automation_id)
    with db.session.no_autoflush:
        _apply(workspace, automation, data, set(FIELDS) if replace else set(data.model_fields_set))
    db.session.flush()
    return automation


def set_status(workspace: Workspace, automation_id, status: str) -> Automation:
    """Activate or pause (the UI's buttons)."""
    return update_automation(workspace, automation_id, AutomationPatch(status=status))


def delete_automation(workspace: Workspace, automation_id) -> None:
    """Delete the automation and its runs."""
    db.session.delete(get_automation(workspace, automation_id))
    events.forget_endpoints()
    db.session.flush()


# ---- progress ---------------------------------------------------------------------------------

def progress_of(automations: list[Automation]) -> dict:
    """automation id → AutomationProgress: how many runs are at each step, finished or not; one
    GROUP BY for all of them."""
    counts: dict = {a.id: Counter() for a in automations}
    if automations:
        rows = db.session.execute(
            select(AutomationRun.automation_id, AutomationRun.state, AutomationRun.step,
                   func.count())
            .where(AutomationRun.automation_id.in_(list(counts)))
            .group_by(AutomationRun.automation_id, AutomationRun.state, AutomationRun.step))
        for automation_id, state, step, count in rows:
            counts[automation_id][(state, step)] += count
    found = {}
    for automation in automations:
        counter, steps = counts[automation.id], automation.steps or []

        def total(*states):
            return sum(n for (state, _step), n in counter.items() if state in states)

        found[automation.id] = AutomationProgress(
            enrolled=sum(counter.values()), in_progress=total(*UNFINISHED),
            completed=total("completed"), failed=total("failed"), exited=total("exited"),
            steps=[StepProgress(index=i, type=step.get("type", ""),
                                in_progress=counter[("scheduled", i)] + counter[("running", i)],
                                failed=counter[("failed", i)], exited=counter[("exited", i)])
                   for i, step in enumerate(steps)])
    return found


def list_runs(workspace: Workspace, automation_id, query: RunQuery) -> Page[AutomationRun]:
    """The automation's runs, newest first (each contact's progress)."""
    automation = get_automation(workspace, automation_id)
    stmt = select(AutomationRun).where(AutomationRun.automation_id == automation.id)
    if query.state:
        stmt = stmt.where(AutomationRun.state == query.state)
    return keyset_page(stmt, newest_first(AutomationRun), query.limit, query.cursor)


def group_names(workspace: Workspace) -> dict[str, str]:
    """id (as steps store it) → name of the workspace's lists and tags, to describe steps."""
    names = {}
    for kind in (LISTS, TAGS):
        names.update((str(group_id), name) for group_id, name in db.session.execute(
            select(kind.model.id, kind.model.name).where(kind.model.workspace_id == workspace.id)))
    return names

