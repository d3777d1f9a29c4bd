"""Two gunicorn workers deliver from one outbox: every event exactly once (each claim is
FOR UPDATE SKIP LOCKED on PostgreSQL), both workers deliver, and the backlog a stopped server
left behind goes out when it starts again, without any request."""
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from sureapp.contacts import services as contacts
from sureapp.extensions import db
from sureapp.models import WebhookDelivery
from tests.webhooks.conftest import Receiver

EVENTS = 120


@pytest.fixture
def receiver():
    r = Receiver()
    r.answers = [("sleep", 0.02, 204)]  # a little work per delivery, so both workers take some
    yield r
    r.close()


def _seed(app, workspace, receiver, count):
    from sureapp.webhooks import services
    from sureapp.webhooks.schemas import WebhookCreate

    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = True
    services.create_endpoint(workspace, WebhookCreate(url=receiver.url, events=["contact.created"]))
    db.session.commit()
    contacts.upsert_contacts(workspace, [{"email": f"w{i}@example.com"} for i in range(count)], "test")
    db.session.commit()


def _wait_for_all(count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        done = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                 .where(WebhookDelivery.status == "succeeded"))
        if done == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"only {done} of {count} deliveries succeeded in {timeout} s")


def test_two_workers_deliver_each_event_once(app, backend, gunicorn_app, make_user, make_org,
                                             receiver):
    if backend != "postgresql":
        pytest.skip("several workers claiming at once is the PostgreSQL setup (SQLite is one process)")
    _, workspace = make_org(make_user())
    _seed(app, workspace, receiver, EVENTS)  # committed before any worker runs: a backlog
    # The same SECRET_KEY as the process that stored the secret (it is encrypted with it).
    with gunicorn_app(WEBHOOK_ALLOW_PRIVATE_URLS="1", SECRET_KEY=app.config["SECRET_KEY"]):
        _wait_for_all(EVENTS)
        time.sleep(1)  # a duplicate send would arrive meanwhile
    ids = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
    assert len(ids) == EVENTS and set(ids.values()) == {1}, ids.most_common(3)
    senders = {pid.split(":")[1] for pid in db.session.scalars(select(WebhookDelivery.sent_by))}
    assert len(senders) == 2, f"one worker delivered everything ({senders}): the test proves nothing"
    attempts = set(db.session.scalars(select(WebhookDelivery.attempts)))
    assert attempts == {1}
