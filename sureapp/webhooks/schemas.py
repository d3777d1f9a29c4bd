"""Webhook endpoint and delivery schemas: the one set of rules for the API, MCP and the UI form."""
import uuid
from typing import Annotated, Literal

from pydantic import (AfterValidator, BaseModel, Field, StrictBool, StringConstraints,
                      WithJsonSchema, create_model)

from ..contacts.schemas import ContactOut, Listing
from ..events import ALL_EVENTS, SUBSCRIBABLE
from ..keys.schemas import KeyOut
from ..netguard import MAX_URL_LENGTH, UnsafeURL, parse_url
from ..schema_types import Patch, Strict, UtcDatetime, text
from .signing import message_id

DESCRIPTION_MAX = 500


def _check_url(value: str) -> str:
    """The URL's shape (scheme, host, no credentials); where it resolves is the service's check."""
    try:
        parse_url(value)
    except UnsafeURL as exc:
        raise ValueError(exc.message) from None
    return value


def _check_events(value: list[str]) -> list[str]:
    unknown = [e for e in value if e != ALL_EVENTS and e not in SUBSCRIBABLE]
    if unknown:
        raise ValueError(f"Unknown event type: {', '.join(unknown)}. Use \"*\" or some of: "
                         f"{', '.join(SUBSCRIBABLE)}.")
    value = list(dict.fromkeys(value))
    return [ALL_EVENTS] if ALL_EVENTS in value else value


# What netguard.parse_url accepts, as a pattern both JSON Schema (ECMA-262) and Python read:
# http(s), no user info, a host name whose last label starts with a letter (so never one of
# the numeric forms getaddrinfo would read as an IPv4 address) or a dotted-quad IPv4 address,
# a port from 1 to 65535, and visible ASCII after it, no #fragment. (parse_url also takes
# IPv6 literals and non-ASCII host names; the document keeps to the forms most clients send.)
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = (f"^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:{_LABEL}\\.)*[A-Za-z](?:[A-Za-z0-9-]{{0,61}}"
               f"[A-Za-z0-9])?\\.?|(?:{_OCTET}\\.){{3}}{_OCTET})(?::{_PORT})?(?:[/?][!-\"$-~]*)?$")
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_URL_LENGTH),
                       AfterValidator(_check_url), WithJsonSchema({
    "type": "string", "minLength": 1, "maxLength": MAX_URL_LENGTH, "pattern": URL_PATTERN,
    "description": "http(s) URL the events are POSTed to, without user name, password or "
                   "#fragment; its host must resolve, and only to public addresses (unless the "
                   "server sets WEBHOOK_ALLOW_PRIVATE_URLS=1), when it is saved and again before "
                   "each delivery.",
    "examples": ["https://hooks.example.com/sureapp"]})]
EventType = Literal[(ALL_EVENTS, *SUBSCRIBABLE)]
EventList = Annotated[list[EventType], Field(min_length=1, max_length=len(SUBSCRIBABLE) + 1,
                                             examples=[["contact.created", "contact.updated"]]),
                      AfterValidator(_check_events)]
Description = text(DESCRIPTION_MAX)


class WebhookCreate(Strict):
    url: WebhookUrl
    events: EventList = Field(description='Event types to receive; `["*"]` for all of them.')
    description: Description = ""


class WebhookPatch(Patch):
    url: WebhookUrl = None
    events: EventList = None
    description: Description = None
    enabled: StrictBool = Field(None, description="false stops deliveries; true resumes them (and "
                                            "clears an automatic disable).")


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str = Field(description="Why the system disabled it (410 Gone, 5 days of "
                                             "failures); empty otherwise.")
    failing_since: UtcDatetime | None = Field(
        description="Start of the current run of failed deliveries; null after a success.")
    previous_secret_expires_at: UtcDatetime | None = Field(
        description="After a rotation, deliveries are also signed with the previous secret "
                    "until then.")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, endpoint) -> "WebhookOut":
        return cls.model_validate(endpoint, from_attributes=True)


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="`whsec_` + base64 of 32 random bytes. Shown only in this "
                                    "response: store it to verify signatures.",
                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class WebhookPage(BaseModel):
    data: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    webhook_id: str = Field(description="The `webhook-id` header sent (the same on every retry).",
                            examples=["msg_2b0c3c4f8a0e4d6f9a1b2c3d4e5f6a7b"])
    event_type: str
    status: Literal["pending", "sending", "succeeded", "failed"]
    attempts: int
    response_status: int | None = Field(description="The receiver's HTTP status on the last "
                                                    "attempt; null when none came back.")
    duration_ms: int | None
    error: str = Field(description="What went wrong on the last attempt; empty on success.")
    next_attempt_at: UtcDatetime | None = Field(description="When it is retried (pending only).")
    last_attempt_at: UtcDatetime | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, delivery) -> "DeliveryOut":
        return cls(id=delivery.id, webhook_id=message_id(delivery.event_id),
                   event_type=delivery.event.type, status=delivery.status,
                   attempts=delivery.attempts, response_status=delivery.response_status,
                   duration_ms=delivery.duration_ms, error=delivery.error,
                   next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
                   last_attempt_at=delivery.last_attempt_at, created_at=delivery.created_at)


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


class WebhookQuery(Listing):
    pass


class DeliveryQuery(Listing):
    status: Literal["pending", "sending", "succeeded", "failed"] | None = Field(
        None, description="Only deliveries in this state.")


# ---- what a delivery's body holds, per event type (the OpenAPI document's `webhooks`) ---------

class ContactUpdated(ContactOut):
    changed_fields: list[str] = Field(description="The profile fields this change set.",
                                      examples=[["first_name", "company"]])


class GroupRef(BaseModel):
    id: uuid.UUID
    name: str


class ListMembership(BaseModel):
    list: GroupRef
    contact: ContactOut


class TagMembership(BaseModel):
    tag: GroupRef
    contact: ContactOut


class TestEventData(BaseModel):
    message: str
    webhook: WebhookOut


EVENT_DATA: dict[str, type[BaseModel]] = {
    "contact.created": ContactOut, "contact.updated": ContactUpdated,
    "contact.deleted": ContactOut, "contact.unsubscribed": ContactOut,
    "list.contact_added": ListMembership, "list.contact_removed": ListMembership,
    "tag.contact_added": TagMembership, "tag.contact_removed": TagMembership,
    "api_key.created": KeyOut, "api_key.revoked": KeyOut, "api_key.regenerated": KeyOut,
    "api_key.deleted": KeyOut, "webhook.test": TestEventData,
}


def event_body(event_type: str) -> type[BaseModel]:
    """The model of a delivery's JSON body for one event type: {type, timestamp, data}."""
    name = "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Event"
    return create_model(name, __doc__=f"The body of a `{event_type}` delivery.",
                        type=(Literal[event_type], ...), timestamp=(UtcDatetime, ...),
                        data=(EVENT_DATA[event_type], ...))
