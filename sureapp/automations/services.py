"""Automations: CRUD. Never commits: the caller owns the transaction."""
from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import Automation, Workspace
from ..pagination import Page, keyset_page, newest_first
from .schemas import AutomationCreate, AutomationPatch, AutomationQuery


def get_automation(workspace: Workspace, automation_id) -> Automation:
    automation = db.session.scalar(select(Automation).where(
        Automation.id == automation_id, Automation.workspace_id == workspace.id))
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


def create_automation(workspace: Workspace, data: AutomationCreate) -> Automation:
    automation = Automation(workspace_id=workspace.id, **data.model_dump())
    db.session.add(automation)
    db.session.flush()
    return automation


def update_automation(workspace: Workspace, automation_id,
                      data: AutomationCreate | AutomationPatch, replace: bool = False) -> Automation:
    """PUT (replace=True: every field) or PATCH (only the fields sent)."""
    automation = get_automation(workspace, automation_id)
    fields = set(AutomationCreate.model_fields) if replace else set(data.model_fields_set)
    for name in fields:
        setattr(automation, name, getattr(data, name))
    db.session.flush()
    return automation


def delete_automation(workspace: Workspace, automation_id) -> None:
    db.session.delete(get_automation(workspace, automation_id))
    db.session.flush()
