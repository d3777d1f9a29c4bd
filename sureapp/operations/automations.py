"""/automations: CRUD of automations (a trigger and its steps), their progress and runs, and
retrying a failed run."""
import uuid

from ..automations import runs, services
from ..automations.schemas import (AutomationCreate, AutomationOut, AutomationPage,
                                   AutomationPatch, AutomationQuery, RunOut, RunPage, RunQuery)
from .registry import Caller, acknowledged, operation

RESOURCE = "automations"
TAG = "Automations"
RULE = "/automations/<uuid:automation_id>"


@operation("GET", "/automations", summary="List automations", tag=TAG,
           resource=RESOURCE, query=AutomationQuery,
           response=AutomationPage)
def list_automations(caller: Caller, query: AutomationQuery):
    page = services.list_automations(caller.workspace, query)
    progress = services.progress_of(page.items)
    return AutomationPage(data=[AutomationOut.of(a, progress[a.id]) for a in page.items],
                          next_cursor=page.next_cursor)


def _out(automation) -> AutomationOut:
    return AutomationOut.of(automation, services.progress_of([automation])[automation.id])


@operation("POST", "/automations", summary="Create an automation", tag=TAG,
           resource=RESOURCE, body=AutomationCreate, problems=(404,),  # a list or tag not ours
           response=AutomationOut, status=201, location="show_automation")
def create_automation(caller: Caller, body: AutomationCreate):
    return _out(services.create_automation(caller.workspace, body))


@operation("GET", RULE, summary="Get an automation", tag=TAG,
           resource=RESOURCE, response=AutomationOut)
def show_automation(caller: Caller, automation_id: uuid.UUID):
    return _out(services.get_automation(caller.workspace, automation_id))


@operation("PUT", RULE, summary="Replace an automation", tag=TAG,
           resource=RESOURCE, body=AutomationCreate,
           response=AutomationOut)
def replace_automation(caller: Caller, automation_id: uuid.UUID, body: AutomationCreate):
    return _out(services.update_automation(caller.workspace, automation_id, body, replace=True))


@operation("PATCH", RULE, summary="Update some fields of an automation", tag=TAG, resource=RESOURCE,
           body=AutomationPatch, response=AutomationOut)
def update_automation(caller: Caller, automation_id: uuid.UUID, body: AutomationPatch):
    return _out(services.update_automation(caller.workspace, automation_id, body))


@operation("DELETE", RULE, summary="Delete an automation", tag=TAG, resource=RESOURCE, status=204)
def delete_automation(caller: Caller, automation_id: uuid.UUID):
    services.delete_automation(caller.workspace, automation_id)
    return acknowledged("deleted", automation_id=automation_id)


@operation("GET", RULE + "/runs", summary="List an automation's runs (each contact's progress)",
           tag=TAG, resource=RESOURCE, query=RunQuery, response=RunPage)
def list_automation_runs(caller: Caller, automation_id: uuid.UUID, query: RunQuery):
    page = services.list_runs(caller.workspace, automation_id, query)
    return RunPage(data=[RunOut.of(run) for run in page.items], next_cursor=page.next_cursor)


@operation("POST", RULE + "/runs/<uuid:run_id>/retry", summary="Retry a failed run", tag=TAG,
           resource=RESOURCE, response=RunOut, status=202, problems=(409,),
           description="Resumes a failed run at the step that failed (`step`): it is "
                       "`scheduled`, due now, and the background runner continues it (that "
                       "step's retries start over; a mail whose sending was interrupted is not "
                       "sent again). 404 if the automation or the run is not this workspace's "
                       "(a deleted automation's runs are deleted with it). 409 unless the run is "
                       "`failed`, if the automation is paused (activate it first), or if the "
                       "contact has entered the automation again since.")
def retry_automation_run(caller: Caller, automation_id: uuid.UUID, run_id: uuid.UUID):
    return RunOut.of(runs.retry_run(caller.workspace, automation_id, run_id))
