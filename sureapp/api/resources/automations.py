"""/automations: CRUD of automations (a trigger and its steps)."""
import uuid

from flask import g, url_for

from ...automations import services
from ...automations.schemas import (AutomationCreate, AutomationOut, AutomationPage,
                                    AutomationPatch, AutomationQuery)
from ...extensions import db
from ..operations import operation

TAG = "Automations"
RULE = "/automations/<uuid:automation_id>"


@operation("GET", "/automations", summary="List automations", tag=TAG, query=AutomationQuery,
           response=AutomationPage)
def list_automations(query: AutomationQuery):
    page = services.list_automations(g.workspace, query)
    return AutomationPage(data=[AutomationOut.of(a) for a in page.items],
                          next_cursor=page.next_cursor)


@operation("POST", "/automations", summary="Create an automation", tag=TAG, body=AutomationCreate,
           response=AutomationOut, status=201)
def create_automation(body: AutomationCreate):
    automation = services.create_automation(g.workspace, body)
    db.session.commit()
    return AutomationOut.of(automation), {"Location": url_for("api.show_automation",
                                                              automation_id=automation.id)}


@operation("GET", RULE, summary="Get an automation", tag=TAG, response=AutomationOut)
def show_automation(automation_id: uuid.UUID):
    return AutomationOut.of(services.get_automation(g.workspace, automation_id))


@operation("PUT", RULE, summary="Replace an automation", tag=TAG, body=AutomationCreate,
           response=AutomationOut)
def replace_automation(automation_id: uuid.UUID, body: AutomationCreate):
    automation = services.update_automation(g.workspace, automation_id, body, replace=True)
    db.session.commit()
    return AutomationOut.of(automation)


@operation("PATCH", RULE, summary="Update some fields of an automation", tag=TAG,
           body=AutomationPatch, response=AutomationOut)
def update_automation(automation_id: uuid.UUID, body: AutomationPatch):
    automation = services.update_automation(g.workspace, automation_id, body)
    db.session.commit()
    return AutomationOut.of(automation)


@operation("DELETE", RULE, summary="Delete an automation", tag=TAG, status=204)
def delete_automation(automation_id: uuid.UUID):
    services.delete_automation(g.workspace, automation_id)
    db.session.commit()
