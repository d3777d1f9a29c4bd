"""Events for webhooks: the one list of event types, and `emit`, which writes them to the outbox.

Services emit (never views), so the UI, the API, MCP, CSV import, bulk actions and the CLI all
send the same events. `emit` writes in the caller's transaction: an event exists if and only if
its change was committed, so a rolled-back change sends nothing and a crash after the commit
loses nothing (the delivery worker, sureapp/webhooks/delivery.py, finds the rows after a restart).

Each event gets one delivery row per enabled endpoint that receives its type, written with one
executemany per table. A workspace with no such endpoint writes nothing, and callers ask
`wanted` first so they do not even build the JSON: the bulk paths pay one SELECT per
transaction.

In-process subscribers (`subscribe`: automations' triggers) are called by `emit`/`emit_many` in
the same transaction, so what they write commits or rolls back with the change. Each declares
the event types it listens to in a workspace as a SELECT, read in the same statement as the
endpoints (one UNION ALL): listening costs no extra round trip, and nobody listening still
costs one SELECT per transaction.
"""
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, String, event as sa_event, insert, literal, null, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from .extensions import db
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .timeutil import utcnow

EVENT_TYPES = (
    "contact.created", "contact.updated", "contact.deleted", "contact.unsubscribed",
    "list.contact_added", "list.contact_removed", "tag.contact_added", "tag.contact_removed",
    "api_key.created", "api_key.revoked", "api_key.regenerated", "api_key.deleted",
    "webhook.test",
)
# What an endpoint can subscribe to ("*" = all of them); webhook.test goes to the endpoint asked.
SUBSCRIBABLE = tuple(t for t in EVENT_TYPES if t != "webhook.test")
ALL_EVENTS = "*"

_EVENTS, _DELIVERIES = WebhookEvent.__table__, WebhookDelivery.__table__
_CACHE = "sureapp_event_listeners"  # session.info: workspace id → _Listeners
_WOKEN = "sureapp_webhook_emitted"  # session.info: something was emitted in this transaction
_on_commit_hooks: list = []


@dataclass(frozen=True)
class Subscriber:
    # handler(event_type, workspace_id, items): the items are the events' data, as emitted
    handler: Callable[[str, uuid.UUID, list[dict]], None]
    # workspace_id → a one-column SELECT of the event types the handler wants there
    interest: Callable[[uuid.UUID], Select]


_subscribers: list[Subscriber] = []


def subscribe(handler: Callable[[str, uuid.UUID, list[dict]], None], *,
              interest: Callable[[uuid.UUID], Select]) -> Subscriber:
    """Call `handler` from every emit of a type that `interest(workspace_id)` selects, in the
    emitting transaction (at import of the subscriber's module)."""
    for existing in _subscribers:
        if existing.handler is handler:
            return existing
    subscriber = Subscriber(handler, interest)
    _subscribers.append(subscriber)
    return subscriber


@dataclass(frozen=True)
class _Listeners:
    endpoints: list  # [(endpoint id, its event types)]
    subscribed: dict  # subscriber index → set of event types it wants in this workspace


def _listeners(workspace_id) -> _Listeners:
    """The workspace's enabled endpoints and its subscribers' interests: one statement, read
    once per transaction."""
    cache = db.session.info.setdefault(_CACHE, {})
    if workspace_id not in cache:
        stmt = select(WebhookEndpoint.id, WebhookEndpoint.events,
                      null().cast(Integer).label("subscriber"), null().cast(String).label("type")
                      ).where(WebhookEndpoint.workspace_id == workspace_id,
                              WebhookEndpoint.enabled.is_(True))
        if _subscribers:
            interests = [sub.interest(workspace_id).subquery() for sub in _subscribers]
            stmt = union_all(stmt, *[
                select(null(), null(), literal(index, Integer), interest.c[0].cast(String))
                for index, interest in enumerate(interests)])
        endpoints, subscribed = [], {}
        for endpoint_id, endpoint_events, subscriber, event_type in db.session.execute(stmt):
            if subscriber is None:
                endpoints.append((endpoint_id, endpoint_events))
            else:
                subscribed.setdefault(subscriber, set()).add(event_type)
        cache[workspace_id] = _Listeners(endpoints, subscribed)
    return cache[workspace_id]


def _endpoints(workspace_id) -> list[tuple[uuid.UUID, list]]:
    return _listeners(workspace_id).endpoints


def _subscribers_of(event_type: str, workspace_id) -> list[Subscriber]:
    return [_subscribers[i] for i, types in _listeners(workspace_id).subscribed.items()
            if event_type in types]


def subscribed(events: list, event_type: str) -> bool:
    """Does an endpoint subscribed to `events` receive `event_type`?"""
    return ALL_EVENTS in events or event_type in events


def wanted(event_type: str, workspace_id) -> bool:
    """Does any enabled endpoint or subscriber of the workspace receive this type? Ask before
    building data."""
    return (any(subscribed(events, event_type) for _id, events in _endpoints(workspace_id))
            or bool(_subscribers_of(event_type, workspace_id)))


def emit(event_type: str, workspace_id, data: dict, *, endpoint_ids=None) -> list[uuid.UUID]:
    """Write one event (its `data`: the API's JSON for the object) to the outbox, in the
    caller's transaction; returns its id ([] when no endpoint receives it). `endpoint_ids`
    sends it to those endpoints only (webhook.test)."""
    return emit_many(event_type, workspace_id, [data], endpoint_ids=endpoint_ids)


def emit_many(event_type: str, workspace_id, items: Iterable[dict], *,
              endpoint_ids=None) -> list[uuid.UUID]:
    """One event per item (a bulk action's contacts), two executemany INSERTs in all; returns
    the events' ids."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    listeners = []
    if endpoint_ids is None:
        endpoint_ids = [eid for eid, events in _endpoints(workspace_id)
                        if subscribed(events, event_type)]
        listeners = _subscribers_of(event_type, workspace_id)
    if not (endpoint_ids or listeners):
        return []
    items = list(items)
    for listener in listeners:
        listener.handler(event_type, workspace_id, items)
    if not (endpoint_ids and items):
        return []
    now = utcnow()
    events = [{"id": uuid.uuid4(), "workspace_id": workspace_id, "type": event_type,
               "data": data, "created_at": now} for data in items]
    # Core tables, not the ORM entities: ORM bulk persistence costs more than the rows do.
    db.session.execute(insert(_EVENTS), events)
    db.session.execute(insert(_DELIVERIES), [
        {"id": uuid.uuid4(), "event_id": e["id"], "endpoint_id": endpoint_id,
         "status": "pending", "attempts": 0, "next_attempt_at": now, "error": "",
         "created_at": now}
        for e in events for endpoint_id in endpoint_ids])
    deliveries_queued()
    return [e["id"] for e in events]


def deliveries_queued() -> None:
    """This transaction wrote due background work (deliveries, and others' too: automation runs,
    campaign sends, confirmation mails): wake the periodic tasks once it commits."""
    db.session.info[_WOKEN] = True


def forget_endpoints() -> None:
    """An endpoint or a subscriber's interest changed in this transaction: read them again for
    the next emit."""
    db.session.info.pop(_CACHE, None)


def on_commit(hook) -> None:
    """Call `hook()` after a transaction that queued work commits (the periodic tasks' wake-up)."""
    _on_commit_hooks.append(hook)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WOKEN, False):
        for hook in _on_commit_hooks:
            hook()


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    """The endpoint cache lives for one transaction, however it ends (commit, rollback, close)."""
    if transaction.parent is None:
        session.info.pop(_CACHE, None)
        session.info.pop(_WOKEN, None)
