"""Webhook endpoints: create, change, rotate the secret, delete, test, resend, the delivery log.
Shared by the API, MCP and the UI; raises domain errors and never commits.

The secret is returned only by `create_endpoint` and `rotate_secret` (the caller shows it once);
it is stored encrypted (signing.py). A URL is checked against the SSRF rule (netguard.py) each
time it is set, and again by the worker before every attempt.
"""
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from .. import events, netguard
from ..errors import Conflict, LimitExceeded, NotFound, ValidationFailed
from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, Workspace
from ..pagination import Page, keyset_page, newest_first
from ..tenancy.access import parse_uuid, row_in_workspace
from ..timeutil import utcnow
from . import signing
from .schemas import DeliveryQuery, WebhookCreate, WebhookOut, WebhookPatch, WebhookQuery

MAX_ENDPOINTS = 20  # per workspace
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret keeps signing this long


def _check_reachable(url: str) -> str:
    """ValidationFailed on `url` unless the SSRF rule allows it (DNS is asked)."""
    try:
        netguard.resolve_target(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_URLS"])
    except netguard.UnsafeURL as exc:
        raise ValidationFailed({"url": [exc.message]}) from None
    return url.strip()


def _encrypt(secret: str) -> str:
    return signing.encrypt(secret, current_app.config["SECRET_KEY"])


def list_endpoints(workspace: Workspace, query: WebhookQuery) -> Page[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace.id)
    return keyset_page(stmt, newest_first(WebhookEndpoint), query.limit, query.cursor)


def get_endpoint(workspace: Workspace, endpoint_id) -> WebhookEndpoint:
    """The workspace's endpoint; NotFound for a malformed id or another workspace's endpoint."""
    endpoint = row_in_workspace(WebhookEndpoint, workspace.id, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def create_endpoint(workspace: Workspace, data: WebhookCreate) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (shown once by the caller)."""
    count = db.session.scalar(select(func.count()).select_from(WebhookEndpoint)
                              .where(WebhookEndpoint.workspace_id == workspace.id))
    if count >= MAX_ENDPOINTS:
        raise LimitExceeded(f"A workspace can have at most {MAX_ENDPOINTS} webhook endpoints; "
                            "delete one first.", limit=MAX_ENDPOINTS)
    url = _check_reachable(data.url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(id=uuid.uuid4(), workspace_id=workspace.id, url=url,
                               events=list(data.events), description=data.description,
                               enabled=True, secret_encrypted=_encrypt(secret))
    db.session.add(endpoint)
    db.session.flush()
    events.forget_endpoints()
    return endpoint, secret


def update_endpoint(workspace: Workspace, endpoint_id, data: WebhookPatch) -> WebhookEndpoint:
    """Change the fields sent. Enabling clears an automatic disable and its failing streak."""
    endpoint = get_endpoint(workspace, endpoint_id)
    sent = data.model_fields_set
    if "url" in sent and data.url.strip() != endpoint.url:
        endpoint.url = _check_reachable(data.url)
    if "events" in sent:
        endpoint.events = list(data.events)
    if "description" in sent:
        endpoint.description = data.description
    if "enabled" in sent and data.enabled != endpoint.enabled:
        endpoint.enabled = data.enabled
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    db.session.flush()
    events.forget_endpoints()
    return endpoint


def rotate_secret(workspace: Workspace, endpoint_id) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing for ROTATION_OVERLAP (one previous slot: a
    second rotation within the window drops the oldest)."""
    endpoint = get_endpoint(workspace, endpoint_id)
    secret = signing.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret_encrypted = _encrypt(secret)
    db.session.flush()
    return endpoint, secret


def delete_endpoint(workspace: Workspace, endpoint_id) -> None:
    """Delete the endpoint with its delivery log (pending deliveries are dropped)."""
    db.session.delete(get_endpoint(workspace, endpoint_id))
    db.session.flush()
    events.forget_endpoints()


def send_test_event(workspace: Workspace, endpoint_id) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint only (also when it is disabled: testing
    is how one finds out whether it works again)."""
    endpoint = get_endpoint(workspace, endpoint_id)
    data = {"message": "A test event from sureapp: your endpoint receives and verifies events.",
            "webhook": WebhookOut.of(endpoint).model_dump(mode="json")}
    (event_id,) = events.emit("webhook.test", workspace.id, data, endpoint_ids=[endpoint.id])
    return db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id))


def get_delivery(workspace: Workspace, endpoint_id, delivery_id) -> WebhookDelivery:
    endpoint = get_endpoint(workspace, endpoint_id)
    ident = parse_uuid(delivery_id)
    delivery = db.session.get(WebhookDelivery, ident) if ident else None
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("No such delivery.")
    return delivery


def resend(workspace: Workspace, endpoint_id, delivery_id) -> WebhookDelivery:
    """Send a finished delivery's event again, as a new delivery with the same `webhook-id`
    (the log keeps the old one). Conflict while it is still being delivered."""
    old = get_delivery(workspace, endpoint_id, delivery_id)
    if old.status in ("pending", "sending"):
        raise Conflict("This delivery is still queued; it is retried automatically.")
    now = utcnow()
    new = WebhookDelivery(id=uuid.uuid4(), event_id=old.event_id, endpoint_id=old.endpoint_id,
                          status="pending", attempts=0, next_attempt_at=now, error="",
                          created_at=now)
    db.session.add(new)
    db.session.flush()
    events.deliveries_queued()
    return new


def list_deliveries(workspace: Workspace, endpoint_id, query: DeliveryQuery) -> Page[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    endpoint = get_endpoint(workspace, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if query.status:
        stmt = stmt.where(WebhookDelivery.status == query.status)
    return keyset_page(stmt, newest_first(WebhookDelivery), query.limit, query.cursor)


def auto_disabled(workspace: Workspace) -> list[WebhookEndpoint]:
    """Endpoints the system switched off (the managers' banner)."""
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.workspace_id == workspace.id, WebhookEndpoint.enabled.is_(False),
        WebhookEndpoint.disabled_reason != "").order_by(WebhookEndpoint.created_at)))
