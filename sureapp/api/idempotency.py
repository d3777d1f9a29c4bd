"""`Idempotency-Key` on POST, PUT, PATCH and DELETE: a retried write is answered, not repeated.

Per API key and Idempotency-Key, the first request claims a row (`idempotent_requests`, a
unique index: one winner across every worker and host) before it runs, and its response
(status, headers, body) is stored for 24 hours when it finishes. Then, with the same key:
- the same request (method, path, query and body — JSON compared after parsing, so key order
  and spacing don't matter) is answered with the stored response and `Idempotent-Replayed:
  true`; nothing runs again;
- a different request is a 422: a key names one request;
- while the first still runs, a 409 (with Retry-After). A claim older than ABANDONED_AFTER
  belongs to a worker that died mid-request (gunicorn kills one after 30 s) and is taken over.
A 5xx is not stored (nothing was applied; the claim is released so a retry runs). Expired rows
are purged at most hourly per process and ignored before that.

The body is stored encrypted (AES-GCM) with a key derived from SECRET_KEY and the
Idempotency-Key itself, of which only the SHA-256 is kept: the table alone, or with the
SECRET_KEY, gives back no contact data and no secret a response showed once (a webhook's).
"""
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, g, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotentRequest
from ..problems import ApiProblem
from ..timeutil import utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_MAX = 255
KEY_PATTERN = rf"^[!-~]{{1,{KEY_MAX}}}$"  # visible ASCII, no spaces (as documented in OpenAPI)
_KEY = re.compile(KEY_PATTERN)
TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=2)  # longer than any request may run (GUNICORN_TIMEOUT)
PURGE_EVERY_SECONDS = 3600
# Per-request headers (the replay gets its own) and what werkzeug recomputes.
_NOT_STORED = frozenset({"content-length", "x-ratelimit-limit", "x-ratelimit-remaining",
                         "x-ratelimit-reset", "retry-after", "x-request-id"})
_NONCE = 12
_table = IdempotentRequest.__table__
_last_purge = 0.0


@dataclass(frozen=True)
class Claim:
    """The row this request claimed, and what seals its response (kept in memory only)."""

    row_id: uuid.UUID
    cipher: AESGCM


def presented_key(headers) -> str | None:
    """The request's Idempotency-Key (a Structured Fields string's quotes removed), None if
    absent, or a 400 problem saying what a key may be."""
    raw = headers.get(HEADER)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) > 2 and value[0] == value[-1] == '"':
        value = value[1:-1]  # RFC 8941 sf-string, as draft-ietf-httpapi-idempotency-key writes it
    if not _KEY.fullmatch(value):
        raise ApiProblem(400, f"The {HEADER} header must be 1–{KEY_MAX} visible ASCII characters "
                              "without spaces, e.g. a UUID.", title="Invalid Idempotency-Key",
                         errors={HEADER: [f"1–{KEY_MAX} visible ASCII characters, no spaces."]})
    return value


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body (JSON canonically)."""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        pass  # not JSON (the view will refuse it): the bytes themselves
    parts = (method.encode(), path.encode(), query, body)
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _cipher(api_key_id: uuid.UUID, key: str) -> AESGCM:
    secret = current_app.config["SECRET_KEY"].encode()
    return AESGCM(hmac.digest(secret, f"idempotency\0{api_key_id}\0{key}".encode(), "sha256"))


def begin(api_key_id: uuid.UUID):
    """Guard hook for a keyed write: None to run the request (claimed, or no key sent), else
    the stored response to replay; 400/409/422 problems as described above."""
    g.pop("idempotency", None)
    if request.method not in METHODS:
        return None
    key = presented_key(request.headers)
    if key is None:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    wanted = fingerprint(request.method, request.path, request.query_string,
                         request.get_data(cache=True))  # the view reads the cached bytes
    cipher = _cipher(api_key_id, key)
    now = utcnow()
    _purge_expired(now)
    for _ in range(3):  # a row released or expired between our two statements: claim again
        row_id = _claim(api_key_id, digest, wanted, now)
        if row_id is not None:
            g.idempotency = Claim(row_id, cipher)
            return None
        row = db.session.execute(select(_table).where(
            _table.c.api_key_id == api_key_id, _table.c.key_digest == digest)).first()
        if row is None:
            continue
        if row.expires_at <= now:
            _delete(row.id)
            continue
        if row.fingerprint != wanted:
            raise ApiProblem(422, f"This {HEADER} was already used for a different request "
                                  "(method, path or body). Use a new key for a new request.",
                             title="Idempotency-Key reused")
        if row.state == "done":
            return _replay(row, cipher)
        if row.started_at <= now - ABANDONED_AFTER and _take_over(row, now):
            g.idempotency = Claim(row.id, cipher)
            return None
        break
    raise ApiProblem(409, f"A request with this {HEADER} is still being processed. Retry "
                          "shortly to get its response.", title="Request in progress",
                     headers={"Retry-After": "1"})


def finish(response):
    """after_request: store the claimed request's response (a 5xx releases the claim)."""
    claim = g.pop("idempotency", None)
    if claim is None:
        return response
    try:
        if response.status_code >= 500:
            db.session.execute(delete(_table).where(_table.c.id == claim.row_id))
        else:
            nonce = os.urandom(_NONCE)
            sealed = nonce + claim.cipher.encrypt(nonce, response.get_data(), None)
            headers = [[name, value] for name, value in response.headers.items()
                       if name.lower() not in _NOT_STORED]
            db.session.execute(update(_table).where(_table.c.id == claim.row_id).values(
                state="done", status=response.status_code, headers=headers, body=sealed))
        db.session.commit()
    except Exception as exc:  # the answer stands; the claim is taken over after ABANDONED_AFTER
        db.session.rollback()
        log.warning("could not store an idempotent response (%s)", type(exc).__name__)
    return response


def _claim(api_key_id, digest: str, wanted: str, now) -> uuid.UUID | None:
    row_id = uuid.uuid4()
    try:
        db.session.execute(insert(_table).values(
            id=row_id, api_key_id=api_key_id, key_digest=digest, fingerprint=wanted,
            state="running", started_at=now, expires_at=now + TTL))
        db.session.commit()  # visible to every worker before the request runs
    except IntegrityError:
        db.session.rollback()
        return None
    return row_id


def _take_over(row, now) -> bool:
    """Claim a dead worker's row; only one of several retries can (compare-and-set)."""
    taken = db.session.execute(update(_table).where(
        _table.c.id == row.id, _table.c.state == "running",
        _table.c.started_at == row.started_at).values(started_at=now, expires_at=now + TTL))
    db.session.commit()
    return taken.rowcount == 1


def _delete(row_id) -> None:
    db.session.execute(delete(_table).where(_table.c.id == row_id))
    db.session.commit()


def _replay(row, cipher: AESGCM):
    try:
        body = cipher.decrypt(row.body[:_NONCE], row.body[_NONCE:], None)
    except InvalidTag:  # sealed under another SECRET_KEY
        raise ApiProblem(409, f"The response to this {HEADER} can no longer be replayed (the "
                              "server's secret changed). Check whether the first request was "
                              "applied before retrying with a new key.",
                         title="Cannot replay") from None
    response = current_app.response_class(body, status=row.status)
    del response.headers["Content-Type"]
    for name, value in row.headers or ():
        response.headers.add(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _purge_expired(now) -> None:
    """Delete expired rows, at most once an hour per process (expired ones are ignored)."""
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_SECONDS and _last_purge:
        return
    _last_purge = time.monotonic()
    db.session.execute(delete(_table).where(_table.c.expires_at <= now))
    db.session.commit()
