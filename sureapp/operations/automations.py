"""/automations: CRUD of automations (a trigger and its steps)."""
import uuid

from ..automations import services
from ..automations.schemas import (AutomationCreate, AutomationOut, AutomationPage,
                                   AutomationPatch, AutomationQuery)
from .registry import Caller, acknowledged, operation

RESOURCE = "automations"
TAG = "Automations"
RULE = "/automations/<uuid:automation_id>"


@operation("GET", "/automations", summary="List automations", tag=TAG,
           resource=RESOURCE, query=AutomationQuery,
           response=AutomationPage)
def list_automations(caller: Caller, query: AutomationQuery):
    page = services.list_automations(caller.workspace, query)
    return AutomationPage(data=[AutomationOut.of(a) for a in page.items],
                          next_cursor=page.next_cursor)


@operation("POST", "/automations", summary="Create an automation", tag=TAG,
           resource=RESOURCE, body=AutomationCreate,
           response=AutomationOut, status=201, location="show_automation")
def create_automation(caller: Caller, body: AutomationCreate):
    return AutomationOut.of(services.create_automation(caller.workspace, body))


@operation("GET", RULE, summary="Get an automation", tag=TAG,
           resource=RESOURCE, response=AutomationOut)
def show_automation(caller: Caller, automation_id: uuid.UUID):
    return AutomationOut.of(services.get_automation(caller.workspace, automation_id))


@operation("PUT", RULE, summary="Replace an automation", tag=TAG,
           resource=RESOURCE, body=AutomationCreate,
           response=AutomationOut)
def replace_automation(caller: Caller, automation_id: uuid.UUID, body: AutomationCreate):
    return AutomationOut.of(services.update_automation(caller.workspace, automation_id, body,
                                                       replace=True))


@operation("PATCH", RULE, summary="Update some fields of an automation", tag=TAG, resource=RESOURCE,
           body=AutomationPatch, response=AutomationOut)
def update_automation(caller: Caller, automation_id: uuid.UUID, body: AutomationPatch):
    return AutomationOut.of(services.update_automation(caller.workspace, automation_id, body))


@operation("DELETE", RULE, summary="Delete an automation", tag=TAG, resource=RESOURCE, status=204)
def delete_automation(caller: Caller, automation_id: uuid.UUID):
    services.delete_automation(caller.workspace, automation_id)
    return acknowledged("deleted", automation_id=automation_id)
