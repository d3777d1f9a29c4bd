"""The delivery worker: a periodic task on the one background machinery (jobs.every) that
claims due deliveries, sends them (Standard Webhooks), and records the outcome.

- Claim: one UPDATE of up to CLAIM_BATCH due rows (pending and due, or "sending" with an
  expired lease: their sender died) to "sending" with a lease, chosen with
  `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers or hosts never claim one row
  twice; SQLite has one writer at a time anyway. The attempt is counted at the claim.
- Send: outside any transaction, to the address netguard checked just now.
- Record: only if the lease is still ours. A 2xx succeeds; 410 Gone disables the endpoint at
  once; anything else is retried after WEBHOOK_RETRY_SCHEDULE[attempt - 1] seconds, and fails
  for good when the schedule is used up. An endpoint failing without a success for
  DISABLE_AFTER is disabled, and its managers are told (banner, and mail when SMTP is set).
"""
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from .. import jobs, netguard
from ..events import on_commit
from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from ..processid import current_pid
from ..timeutil import iso_utc, utcnow
from . import notify, sender, signing

log = logging.getLogger(__name__)

CLAIM_BATCH = 20
SENDERS = 4  # deliveries sent at once per process (one slow receiver does not hold the rest)
LEASE_MARGIN = timedelta(seconds=50)  # beyond the timeout, before another worker may retry
DISABLE_AFTER = timedelta(days=5)
RETENTION = timedelta(days=30)  # finished deliveries and their events are kept this long
RETENTION_EVERY_SECONDS = 3600
_state = {"last_retention": 0.0}


def body_of(event: WebhookEvent) -> bytes:
    return json.dumps({"type": event.type, "timestamp": iso_utc(event.created_at),
                       "data": event.data}, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    """The current secret, and the previous one while its rotation window lasts."""
    key = current_app.config["SECRET_KEY"]
    found = [signing.decrypt(endpoint.secret_encrypted, key)]
    if endpoint.previous_secret_signs_at(now):
        found.append(signing.decrypt(endpoint.previous_secret_encrypted, key))
    return found


# ---- claiming ---------------------------------------------------------------------------------

def claim(limit: int = CLAIM_BATCH) -> list:
    """Mark up to `limit` due deliveries as ours; returns (id, lease_until) pairs."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) + LEASE_MARGIN
    due = (select(WebhookDelivery.id)
           .where(WebhookDelivery.status.in_(("pending", "sending")),
                  WebhookDelivery.next_attempt_at <= now)
           .order_by(WebhookDelivery.next_attempt_at).limit(limit)
           .with_for_update(skip_locked=True))
    with db.engine.begin() as conn:
        ids = list(conn.scalars(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(status="sending", lease_until=lease, next_attempt_at=lease,
                    attempts=WebhookDelivery.attempts + 1, last_attempt_at=now,
                    sent_by=jobs.runner_id())
            .returning(WebhookDelivery.id)))
    return [(delivery_id, lease) for delivery_id in ids]


# ---- one attempt ------------------------------------------------------------------------------

def attempt(delivery_id, lease) -> str | None:
    """Send one claimed delivery and record what happened; returns its new status (None if the
    lease was lost meanwhile)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None
    event, endpoint, now = delivery.event, delivery.endpoint, utcnow()
    config = current_app.config
    if not endpoint.enabled and event.type != "webhook.test":
        outcome = sender.Outcome(None, 0, "Not sent: the endpoint is disabled.")
        return _record(delivery, lease, outcome, final=True)
    try:
        target = netguard.resolve_target(endpoint.url,
                                         allow_private=config["WEBHOOK_ALLOW_PRIVATE_URLS"])
        secrets_in_use = signing_secrets(endpoint, now)
    except (netguard.UnsafeURL, signing.SecretUnreadable) as exc:
        return _record(delivery, lease, sender.Outcome(None, 0, exc.message[:500]))
    db.session.rollback()  # no transaction stays open while we wait on the network
    msg_id, timestamp, body = signing.message_id(event.id), int(time.time()), body_of(event)
    outcome = sender.post(target, body, {
        "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(secrets_in_use, msg_id, timestamp, body),
    }, timeout=config["WEBHOOK_TIMEOUT_SECONDS"])
    return _record(delivery, lease, outcome)


def _record(delivery: WebhookDelivery, lease, outcome: sender.Outcome, final: bool = False):
    now = utcnow()
    schedule = current_app.config["WEBHOOK_RETRY_SCHEDULE"]
    if outcome.ok:
        status, next_at = "succeeded", None
    elif final or outcome.status == 410 or delivery.attempts > len(schedule):
        status, next_at = "failed", None
    else:
        status, next_at = "pending", now + timedelta(seconds=schedule[delivery.attempts - 1])
    won = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status == "sending",
               WebhookDelivery.lease_until == lease)
        .values(status=status, next_attempt_at=next_at, lease_until=None,
                response_status=outcome.status, duration_ms=outcome.duration_ms,
                error=outcome.error[:500])
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        return None
    disabled = not final and _endpoint_health(delivery.endpoint_id, outcome, now)
    db.session.commit()
    if disabled:
        notify.endpoint_disabled(delivery.endpoint_id)
    return status


def _endpoint_health(endpoint_id, outcome: sender.Outcome, now) -> bool:
    """A success ends a failing streak; 410 or DISABLE_AFTER of failures disables the endpoint
    (True when this attempt disabled it)."""
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                                 .with_for_update())
    if endpoint is None:
        return False
    if outcome.ok:
        endpoint.failing_since = None
        return False
    endpoint.failing_since = endpoint.failing_since or now
    reason = ""
    if outcome.status == 410:
        reason = "The receiver answered 410 Gone."
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        reason = f"Every delivery failed for {DISABLE_AFTER.days} days."
    if not (reason and endpoint.enabled):
        return False
    endpoint.enabled = False
    endpoint.disabled_reason = f"Disabled automatically: {reason}"
    return True


# ---- the periodic task ------------------------------------------------------------------------

_pool: dict = {"pid": None, "executor": None}


def _executor() -> ThreadPoolExecutor:
    if _pool["pid"] != current_pid():  # threads do not survive a fork
        _pool.update(pid=current_pid(), executor=ThreadPoolExecutor(
            SENDERS, thread_name_prefix="sureapp-webhook"))
    return _pool["executor"]


def _attempt_in_app(app, delivery_id, lease):
    with app.app_context():
        try:
            return attempt(delivery_id, lease)
        except Exception:
            log.exception("webhook delivery attempt failed unexpectedly")
            db.session.rollback()
            return None
        finally:
            db.session.remove()


def _next_due():
    """When the earliest unfinished delivery is due (None: nothing to do). The idle poll is
    this one indexed SELECT: no claim UPDATE, no transaction, when nothing is due."""
    return db.session.scalar(select(func.min(WebhookDelivery.next_attempt_at))
                             .where(WebhookDelivery.status.in_(("pending", "sending"))))


def deliver_due() -> float:
    """Send everything due now; returns how long to sleep before the next due delivery."""
    app = current_app._get_current_object()
    next_due, delivered = _next_due(), False
    while next_due is not None and next_due <= utcnow():
        db.session.rollback()  # the claim runs on its own connection; end this read
        claimed = claim()
        delivered = delivered or bool(claimed)
        futures = [_executor().submit(_attempt_in_app, app, delivery_id, lease)
                   for delivery_id, lease in claimed]
        for future in futures:
            future.result()
        next_due = _next_due()
        if not claimed:
            break  # due rows exist but are claimed elsewhere (another worker)
    if delivered:  # old rows only matter where new ones keep arriving
        _purge_if_due()
    db.session.rollback()
    if next_due is None:
        return jobs.MAX_IDLE_SECONDS
    return min(max((next_due - utcnow()).total_seconds(), 0.0), jobs.MAX_IDLE_SECONDS)


def _purge_if_due() -> None:
    """Delete finished deliveries and their events after RETENTION, at most once an hour."""
    if time.monotonic() - _state["last_retention"] < RETENTION_EVERY_SECONDS and _state["last_retention"]:
        return
    _state["last_retention"] = time.monotonic()
    cutoff = utcnow() - RETENTION
    with db.engine.begin() as conn:
        unfinished = select(WebhookDelivery.event_id).where(
            WebhookDelivery.status.in_(("pending", "sending")))
        conn.execute(delete(WebhookEvent).where(WebhookEvent.created_at < cutoff,
                                                WebhookEvent.id.not_in(unfinished)))


def run_until_idle(max_rounds: int = 100) -> None:
    """Deliver until nothing is due right now (tests)."""
    for _ in range(max_rounds):
        next_due = _next_due()
        if next_due is None or next_due > utcnow():
            return
        deliver_due()


TASK = jobs.every("webhooks.deliver", deliver_due)
on_commit(jobs.wake)  # a committed change that emitted is delivered at once, not at the next poll
