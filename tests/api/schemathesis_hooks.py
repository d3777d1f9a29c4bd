"""Schemathesis hooks for running `schemathesis run --checks all` against sureapp
(SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks; tests/api/test_schemathesis.py, README).

Each hook stands in for what a real client knows and a generator cannot: it only ever turns a
value the document calls valid into another valid one, so negative cases stay negative.
- Idempotency-Key: a client sends a fresh key per new request. Generated cases reuse the same
  few strings for different requests, which the server rightly answers 422 ("used for another
  request"): each call gets a new UUID.
- cursor: a cursor is something the server handed out (`next_cursor`), not any string of its
  alphabet. An invented one is swapped for the last one this operation returned, or dropped.
- webhook URLs: every valid URL is pointed at SUREAPP_FUZZ_SINK (127.0.0.1), so no
  delivery and no DNS lookup leaves 127.0.0.1, and "must resolve to public addresses" holds
  with WEBHOOK_ALLOW_PRIVATE_URLS=1.
- ids in bodies (contact_ids, list_ids, tag_ids, an automation's trigger list or tag): valid
  ids name the seeded resource (all of them in the stateful phase, half otherwise).
- path ids: outside the stateful phase (whose ids come from links), half of the valid UUIDs
  (by their last bit, so runs repeat) name a resource that exists (SUREAPP_FUZZ_IDS, seeded by
  the test), so 200s and business rules are reached, not only 404s.
"""
import json
import os
import re
import uuid
from urllib.parse import urlsplit, urlunsplit

import schemathesis

from sureapp.api.idempotency import HEADER as IDEMPOTENCY_HEADER, KEY_PATTERN
from sureapp.contacts.schemas import CURSOR_PATTERN
from sureapp.webhooks.schemas import URL_PATTERN

SEEDED_IDS: dict[str, str] = json.loads(os.environ.get("SUREAPP_FUZZ_IDS", "{}"))
SINK = os.environ["SUREAPP_FUZZ_SINK"]  # host:port on 127.0.0.1 for every webhook URL

_IDEMPOTENCY_KEY = re.compile(KEY_PATTERN)
_CURSOR = re.compile(CURSOR_PATTERN)
_WEBHOOK_URL = re.compile(URL_PATTERN)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

issued_cursors: dict[str, str] = {}  # operation label → the last next_cursor it answered


def _fresh_idempotency_key(case) -> None:
    value = (case.headers or {}).get(IDEMPOTENCY_HEADER)
    if isinstance(value, str) and _IDEMPOTENCY_KEY.fullmatch(value):
        case.headers[IDEMPOTENCY_HEADER] = str(uuid.uuid4())


def _known_cursor(case) -> None:
    query = case.query or {}
    cursor = query.get("cursor")
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        return  # absent, or invalid on purpose
    if cursor == issued_cursors.get(case.operation.label):
        return
    if case.operation.label in issued_cursors:
        query["cursor"] = issued_cursors[case.operation.label]
    else:
        del query["cursor"]


def _local_webhook_url(case) -> None:
    body = case.body
    if not case.operation.path.startswith("/webhooks") or not isinstance(body, dict):
        return
    url = body.get("url")
    if isinstance(url, str) and _WEBHOOK_URL.fullmatch(url):
        parts = urlsplit(url)
        body["url"] = urlunsplit(("http", SINK, parts.path, parts.query, ""))


def _seeded_path_ids(case) -> None:
    if case.meta is not None and case.meta.phase.name == "stateful":
        return  # its ids come from the links: the resource just created, not a seeded one
    for name, value in (case.path_parameters or {}).items():
        if name in SEEDED_IDS and isinstance(value, str) and _UUID.fullmatch(value) \
                and int(value[-1], 16) % 2 == 0:
            case.path_parameters[name] = SEEDED_IDS[name]


# Body fields that name resources of the workspace → the seeded id that stands in for them.
_BODY_IDS = {"contact_ids": "contact_id", "list_ids": "list_id", "tag_ids": "tag_id",
             "trigger_list_id": "list_id", "trigger_tag_id": "tag_id"}


def _seeded_body_ids(case) -> None:
    """A client sends ids it knows (contacts to add to a list, a contact's lists and tags, an
    automation's trigger list): each valid id names the seeded resource. In the stateful phase
    all of them, so the resource it just created is not reported missing (ST302) because a
    made-up list in its body is a 404; otherwise half, as path ids."""
    body = case.body
    if not isinstance(body, dict):
        return
    stateful = case.meta is not None and case.meta.phase.name == "stateful"

    def known(value):
        if isinstance(value, str) and _UUID.fullmatch(value) \
                and (stateful or int(value[-1], 16) % 2 == 0):
            return SEEDED_IDS[seeded]
        return value

    for field, seeded in _BODY_IDS.items():
        if seeded not in SEEDED_IDS or field not in body:
            continue
        value = body[field]
        body[field] = [known(item) for item in value] if isinstance(value, list) else known(value)


@schemathesis.hook
def before_call(context, case, kwargs):
    _fresh_idempotency_key(case)
    _known_cursor(case)
    _local_webhook_url(case)
    _seeded_path_ids(case)
    _seeded_body_ids(case)


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 200 or case.method != "GET":
        return
    try:
        cursor = response.json().get("next_cursor")
    except (ValueError, AttributeError):
        return
    if isinstance(cursor, str):
        issued_cursors[case.operation.label] = cursor
