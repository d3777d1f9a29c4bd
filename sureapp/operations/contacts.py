"""/contacts: list, create, bulk upsert, show, replace, update, delete."""
import uuid

from ..contacts import services
from ..contacts.schemas import (BulkReport, BulkRowResult, BulkSummary, BulkUpsert, ContactCreate,
                                ContactOut, ContactPage, ContactPatch, ContactQuery)
from ..subscriptions import confirmations
from ..subscriptions.schemas import ConfirmationQueued
from .registry import Caller, acknowledged, operation

RESOURCE = "contacts"
TAG = "Contacts"
RULE = "/contacts/<uuid:contact_id>"


@operation("GET", "/contacts", summary="List contacts", tag=TAG,
           resource=RESOURCE, query=ContactQuery,
           response=ContactPage, problems=(404,),
           description="Newest first. Filter with `search`, `status`, `list_id`, `tag_id`, "
                       "`created_after` and `updated_after`; page with `limit` and `cursor`.")
def list_contacts(caller: Caller, query: ContactQuery):
    page = services.list_contacts(caller.workspace, query)
    return ContactPage(data=[ContactOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@operation("POST", "/contacts", summary="Create a contact", tag=TAG,
           resource=RESOURCE, body=ContactCreate,
           response=ContactOut, status=201, problems=(404, 409), location="show_contact",
           description="409 if the email exists in the workspace or the contact allocation is "
                       "reached; 404 if a list or tag id is not in the workspace.")
def create_contact(caller: Caller, body: ContactCreate):
    return ContactOut.of(services.create_contact(caller.workspace, body, caller.source))


@operation("POST", "/contacts/bulk", summary="Create or update up to 1,000 contacts by email",
           tag=TAG, resource=RESOURCE, body=BulkUpsert, response=BulkReport, problems=(409,),
           description="One transaction. Rows are matched by email: existing contacts are "
                       "updated with the fields sent, new ones created. Invalid rows are "
                       "reported as failed and skipped; if the new contacts would exceed the "
                       "contact allocation, nothing is written (409).")
def bulk_upsert_contacts(caller: Caller, body: BulkUpsert):
    result = services.upsert_contacts(caller.workspace, body.contacts, caller.source)
    return BulkReport(
        summary=BulkSummary(created=result.count("created"), updated=result.count("updated"),
                            failed=result.count("failed")),
        results=[BulkRowResult(index=r.index, email=r.email, status=r.status, id=r.id,
                               errors=r.errors) for r in result.results])


@operation("GET", RULE, summary="Get a contact", tag=TAG, resource=RESOURCE, response=ContactOut)
def show_contact(caller: Caller, contact_id: uuid.UUID):
    return ContactOut.model_validate(services.read_contact(caller.workspace, contact_id))


@operation("PUT", RULE, summary="Replace a contact", tag=TAG, resource=RESOURCE, body=ContactCreate,
           response=ContactOut, problems=(409,),
           description="Every field is set; omitted ones take their defaults (list_ids and "
                       "tag_ids omitted: removed from every list and tag).")
def replace_contact(caller: Caller, contact_id: uuid.UUID, body: ContactCreate):
    return ContactOut.of(services.update_contact(caller.workspace, contact_id, body,
                                                 caller.source, replace=True))


@operation("PATCH", RULE, summary="Update some fields of a contact", tag=TAG,
           resource=RESOURCE, body=ContactPatch,
           response=ContactOut, problems=(409,))
def update_contact(caller: Caller, contact_id: uuid.UUID, body: ContactPatch):
    return ContactOut.of(services.update_contact(caller.workspace, contact_id, body,
                                                 caller.source))


@operation("DELETE", RULE, summary="Delete a contact", tag=TAG, resource=RESOURCE, status=204)
def delete_contact(caller: Caller, contact_id: uuid.UUID):
    services.delete_contact(caller.workspace, contact_id)
    return acknowledged("deleted", contact_id=contact_id)


@operation("POST", f"{RULE}/confirmation", summary="Mail the double opt-in confirmation again",
           tag=TAG, resource=RESOURCE, response=ConfirmationQueued, status=202,
           problems=(404, 409),
           description="For a `pending` contact: its confirmation link is mailed again by the "
                       "background sender. 409 if the contact is not pending, the workspace "
                       "cannot send mail, or a confirmation went out less than 10 minutes ago "
                       "(the detail says when the next may).")
def resend_confirmation(caller: Caller, contact_id: uuid.UUID):
    contact = services.get_contact(caller.workspace, contact_id)
    confirmations.resend(contact)
    return ConfirmationQueued(contact_id=contact.id)
