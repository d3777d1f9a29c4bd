"""Deliveries to a real receiver on 127.0.0.1: Standard Webhooks signatures (verified with the
`standardwebhooks` reference package), retries, timeouts, 410, rollback, restart, rotation."""
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sureapp.extensions import db
from sureapp.models import Contact, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sureapp.timeutil import utcnow
from tests.conftest import make_test_app


def verify(request, secret):
    """The reference verifier: raises unless a signature matches and the timestamp is fresh."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(secret).verify(request["body"], headers)


def test_contact_created_is_delivered_signed_with_the_api_json(api, workspace, receiver,
                                                                 make_endpoint, deliver):
    _, secret = make_endpoint(workspace, receiver.url, ["contact.created"])
    created = api.post("/contacts", json={"email": "ana@example.com", "first_name": "Ana"})
    assert created.status_code == 201
    deliver()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = verify(request, secret)
    assert payload["type"] == "contact.created"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"] == created.get_json()  # the API's JSON for the object
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):  # a tampered body fails the reference check
        Webhook(secret).verify(request["body"].replace(b"Ana", b"Eve"), headers)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 204)


def test_retried_after_500_with_the_same_webhook_id_then_succeeds(api, workspace, receiver,
                                                                    make_endpoint, deliver):
    receiver.answers = [500, 503, 200]
    _, secret = make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "retry@example.com"})
    deliver()
    assert len(receiver.requests) == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # receivers dedupe on it
    for request in receiver.requests:
        verify(request, secret)  # each attempt is signed afresh
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)
    assert db.session.get(WebhookEndpoint, delivery.endpoint_id).failing_since is None


def test_backoff_follows_the_schedule_and_gives_up_after_it(app, api, workspace, receiver,
                                                             make_endpoint, deliver):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (0, 3600)
    receiver.answers = [500]
    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "backoff@example.com"})
    before = utcnow()
    deliver()
    assert len(receiver.requests) == 2  # first attempt, then the 0-second retry; next in 1 h
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.attempts == 2
    assert timedelta(minutes=59) < delivery.next_attempt_at - before < timedelta(minutes=61)
    assert delivery.error == "HTTP 500"
    delivery.next_attempt_at = utcnow()  # an hour later
    deliver()
    assert len(receiver.requests) == 3
    delivery = db.session.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)


def test_a_timeout_is_a_failure_and_retried(app, api, workspace, receiver, make_endpoint, deliver):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    receiver.answers = [("sleep", 1.0, 200), 200]
    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "slow@example.com"})
    deliver()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert len(receiver.requests) == 2
    assert delivery.status == "succeeded" and delivery.attempts == 2


def test_a_timeout_is_recorded(app, api, workspace, receiver, make_endpoint, deliver):
    app.config.update(WEBHOOK_TIMEOUT_SECONDS=0.3, WEBHOOK_RETRY_SCHEDULE=(3600,))
    receiver.answers = [("sleep", 1.0, 200)]
    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "slow@example.com"})
    deliver()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.response_status is None
    assert delivery.error == "timed out after 0.3 s"
    assert delivery.duration_ms < 1000


def test_410_disables_the_endpoint_at_once(api, workspace, receiver, make_endpoint, deliver):
    receiver.answers = [410]
    endpoint, _ = make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "gone@example.com"})
    deliver()
    assert len(receiver.requests) == 1  # not retried
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.enabled is False
    assert "410" in endpoint.disabled_reason
    assert db.session.scalar(select(WebhookDelivery)).status == "failed"
    api.post("/contacts", json={"email": "after@example.com"})
    deliver()
    assert len(receiver.requests) == 1  # a disabled endpoint gets no new events


def test_a_redirect_is_not_followed(api, workspace, receiver, make_endpoint, deliver, app):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (3600,)
    receiver.answers = [302]
    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "redirect@example.com"})
    deliver()
    assert len(receiver.requests) == 1
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.response_status == 302
    assert "not followed" in delivery.error


def test_five_days_of_failures_disable_and_tell_the_managers(app, api, workspace, receiver,
                                                              make_endpoint, deliver, smtp_server):
    app.config.update(WEBHOOK_RETRY_SCHEDULE=(3600,), SMTP_URL=smtp_server.url(),
                      PUBLIC_URL="https://sureapp.example.com")
    receiver.answers = [500]
    endpoint, _ = make_endpoint(workspace, receiver.url)
    endpoint.failing_since = utcnow() - timedelta(days=5, minutes=1)
    db.session.commit()
    api.post("/contacts", json={"email": "streak@example.com"})
    deliver()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.enabled is False and "5 days" in endpoint.disabled_reason
    (mail,) = smtp_server.to("api-owner@example.com")  # the owner is the only manager
    assert mail["Subject"] == "Webhook disabled in Main"
    text = mail.get_content()
    assert receiver.url in text and "5 days" in text
    assert f"https://sureapp.example.com/w/{workspace.id}/settings/webhooks/{endpoint.id}" in text
    assert len(smtp_server.messages) == 1  # told once, not on every later failure


def test_a_rolled_back_change_sends_nothing(app, workspace, receiver, make_endpoint, deliver):
    from sureapp.contacts import services
    from sureapp.contacts.schemas import ContactCreate

    make_endpoint(workspace, receiver.url)
    services.create_contact(workspace, ContactCreate(email="never@example.com"), "test")
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1  # in the tx
    db.session.rollback()
    deliver()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert receiver.requests == []


def test_a_refused_api_write_sends_nothing(api, workspace, receiver, make_endpoint, deliver):
    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "dup@example.com"})
    assert api.post("/contacts", json={"email": "dup@example.com"}).status_code == 409
    deliver()
    assert [b["data"]["email"] for b in receiver.of_type("contact.created")] == ["dup@example.com"]


def test_a_restarted_process_delivers_the_outbox(database_urls, backend, app, workspace,
                                                  receiver, make_endpoint, app_config):
    """Events committed by a process that died before delivering are sent by the next one."""
    from sureapp.contacts import services
    from sureapp.contacts.schemas import ContactCreate
    from sureapp.webhooks import delivery

    make_endpoint(workspace, receiver.url)
    services.create_contact(workspace, ContactCreate(email="outbox@example.com"), "test")
    db.session.commit()  # ... and the process dies here: nothing was sent
    assert receiver.requests == []
    restarted = make_test_app(database_urls[backend], **app_config)
    with restarted.app_context():
        delivery.run_until_idle()
        db.session.remove()
    assert [b["data"]["email"] for b in receiver.bodies()] == ["outbox@example.com"]


def test_a_sender_that_died_mid_request_is_retried_after_its_lease(api, workspace, receiver,
                                                                    make_endpoint, deliver):
    from sureapp.webhooks import delivery

    make_endpoint(workspace, receiver.url)
    api.post("/contacts", json={"email": "lease@example.com"})
    db.session.commit()
    claimed = delivery.claim()  # a worker claims it, then dies before sending
    assert len(claimed) == 1 and delivery.claim() == []  # nobody else may take it meanwhile
    row = db.session.scalar(select(WebhookDelivery))
    row.next_attempt_at = utcnow() - timedelta(seconds=1)  # its lease ran out
    db.session.commit()
    deliver()
    assert len(receiver.requests) == 1
    row = db.session.scalar(select(WebhookDelivery))
    assert row.status == "succeeded" and row.attempts == 2


def test_rotation_signs_with_both_secrets_for_24_hours(api, workspace, receiver, make_endpoint,
                                                       deliver):
    endpoint, old_secret = make_endpoint(workspace, receiver.url)
    rotated = api.post(f"/webhooks/{endpoint.id}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    api.post("/contacts", json={"email": "rotate@example.com"})
    deliver()
    request = receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verify(request, old_secret)
    verify(request, new_secret)
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)  # a day later
    db.session.commit()
    api.post("/contacts", json={"email": "later@example.com"})
    deliver()
    request = receiver.requests[-1]
    verify(request, new_secret)
    with pytest.raises(WebhookVerificationError):
        verify(request, old_secret)


def test_delivery_time_check_refuses_a_target_that_became_private(app, api, workspace, receiver,
                                                                   make_endpoint, deliver):
    """DNS rebinding: allowed when saved, the name now resolves to loopback; the worker checks
    again before connecting and sends nothing."""
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (3600,)
    make_endpoint(workspace, receiver.url.replace("127.0.0.1", "localhost"))
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    api.post("/contacts", json={"email": "rebind@example.com"})
    deliver()
    assert receiver.requests == []
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and "not a public internet address" in delivery.error


def test_body_is_compact_json_of_type_timestamp_data(api, workspace, receiver, make_endpoint,
                                                    deliver):
    make_endpoint(workspace, receiver.url, ["contact.deleted"])
    contact = api.post("/contacts", json={"email": "del@example.com"}).get_json()
    assert api.delete(f"/contacts/{contact['id']}").status_code == 204
    deliver()
    (request,) = receiver.requests
    assert set(json.loads(request["body"])) == {"type", "timestamp", "data"}
    assert json.loads(request["body"])["data"]["email"] == "del@example.com"
    assert db.session.get(Contact, uuid.UUID(contact["id"])) is None
