"""/webhooks: endpoints that receive signed events (Standard Webhooks), their delivery log, a
test event and secret rotation."""
import uuid
from functools import partial

from ..webhooks import services
from ..webhooks.schemas import (DeliveryOut, DeliveryPage, DeliveryQuery, WebhookCreate,
                                WebhookOut, WebhookPage, WebhookPatch, WebhookQuery,
                                WebhookWithSecret)
from .registry import Caller, acknowledged, operation

operation = partial(operation, resource="webhooks")  # every operation here: webhooks:ABILITY
TAG = "Webhooks"
RULE = "/webhooks/<uuid:webhook_id>"
SIGNING = ("Each delivery is a POST with `webhook-id`, `webhook-timestamp` and `webhook-signature` "
           "(`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the base64-decoded "
           "part of the secret after `whsec_`; several space-separated during a rotation).")


def _with_secret(endpoint, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookOut.of(endpoint).model_dump(), secret=secret)


@operation("GET", "/webhooks", summary="List webhook endpoints", tag=TAG, query=WebhookQuery,
           response=WebhookPage, description="Newest first; page with `limit` and `cursor`.")
def list_webhooks(caller: Caller, query: WebhookQuery):
    page = services.list_endpoints(caller.workspace, query)
    return WebhookPage(data=[WebhookOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@operation("POST", "/webhooks", summary="Create a webhook endpoint", tag=TAG, body=WebhookCreate,
           response=WebhookWithSecret, status=201, problems=(409,), location="show_webhook",
           description="The response carries the signing `secret`, this once. 422 if the URL is "
                       "not http(s) or resolves to a loopback, private, link-local, shared or "
                       "reserved address; 409 past 20 endpoints per workspace. " + SIGNING)
def create_webhook(caller: Caller, body: WebhookCreate):
    endpoint, secret = services.create_endpoint(caller.workspace, body)
    return _with_secret(endpoint, secret)


@operation("GET", RULE, summary="Get a webhook endpoint", tag=TAG, response=WebhookOut)
def show_webhook(caller: Caller, webhook_id: uuid.UUID):
    return WebhookOut.of(services.get_endpoint(caller.workspace, webhook_id))


@operation("PATCH", RULE, summary="Update a webhook endpoint", tag=TAG, body=WebhookPatch,
           response=WebhookOut,
           description="Change `url`, `events`, `description` or `enabled`; the URL is checked "
                       "as on create.")
def update_webhook(caller: Caller, webhook_id: uuid.UUID, body: WebhookPatch):
    return WebhookOut.of(services.update_endpoint(caller.workspace, webhook_id, body))


@operation("DELETE", RULE, summary="Delete a webhook endpoint", tag=TAG, status=204,
           description="Its delivery log goes with it; queued deliveries are not sent.")
def delete_webhook(caller: Caller, webhook_id: uuid.UUID):
    services.delete_endpoint(caller.workspace, webhook_id)
    return acknowledged("deleted", webhook_id=webhook_id)


@operation("POST", f"{RULE}/rotate-secret", summary="Rotate the signing secret", tag=TAG,
           response=WebhookWithSecret,
           description="Returns the new secret, this once. For 24 hours deliveries carry a "
                       "signature with the previous secret too, so receivers can switch.")
def rotate_webhook_secret(caller: Caller, webhook_id: uuid.UUID):
    endpoint, secret = services.rotate_secret(caller.workspace, webhook_id)
    return _with_secret(endpoint, secret)


@operation("POST", f"{RULE}/test", summary="Send a test event", tag=TAG, response=DeliveryOut,
           status=202,
           description="Queues a `webhook.test` event for this endpoint only (even when it is "
                       "disabled); follow it in the delivery log.")
def test_webhook(caller: Caller, webhook_id: uuid.UUID):
    return DeliveryOut.of(services.send_test_event(caller.workspace, webhook_id))


@operation("GET", f"{RULE}/deliveries", summary="List deliveries of a webhook endpoint", tag=TAG,
           query=DeliveryQuery, response=DeliveryPage,
           description="Newest first; page with `limit` and `cursor`, filter by `status`.")
def list_webhook_deliveries(caller: Caller, webhook_id: uuid.UUID, query: DeliveryQuery):
    page = services.list_deliveries(caller.workspace, webhook_id, query)
    return DeliveryPage(data=[DeliveryOut.of(d) for d in page.items],
                        next_cursor=page.next_cursor)


@operation("POST", f"{RULE}/deliveries/<uuid:delivery_id>/resend", summary="Resend a delivery",
           tag=TAG, response=DeliveryOut, status=202, problems=(409,),
           description="Sends the event again as a new delivery with the same `webhook-id`; 409 "
                       "while the delivery is still queued.")
def resend_webhook_delivery(caller: Caller, webhook_id: uuid.UUID, delivery_id: uuid.UUID):
    return DeliveryOut.of(services.resend(caller.workspace, webhook_id, delivery_id))
