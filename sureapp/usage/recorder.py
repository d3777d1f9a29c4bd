"""Buffered usage recording: requests are appended to memory and written in batches by a
background thread, so an API request never waits for a log write (PERF-NOTES: a write per
request more than halves throughput).

- Request log: one ApiRequestLog row per keyed request, flushed every REQUEST_LOG_FLUSH_SECONDS
  or as soon as REQUEST_LOG_BATCH_SIZE entries wait; flushed at exit (atexit, plus `flush_all()`
  for a gunicorn `worker_exit` hook). A failed write keeps the entries for the next attempt.
- Last Used: at most one write per key per minute. An in-process map skips keys written in the
  last minute; the UPDATE itself only applies when the stored value is older than a minute, so
  several workers or hosts together still write at most about once a minute.
- Retention: rows older than REQUEST_LOG_RETENTION_DAYS are deleted by the flusher, at most
  once an hour.
"""
import atexit
import logging
import threading
import time
import weakref
from datetime import timedelta
from functools import lru_cache
from typing import NamedTuple

from flask import Flask, Request
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errorlog import request_id
from ..extensions import db
from ..models import ApiKey, ApiRequestLog
from ..timeutil import utcnow
from ..urlrules import template_path

log = logging.getLogger(__name__)

EXTENSION = "sureapp_usage"
LAST_USED_INTERVAL = timedelta(minutes=1)
RETENTION_EVERY_SECONDS = 3600
MAX_PENDING = 50_000  # if the database stays down, keep at most this many entries in memory
USER_AGENT_MAX = 255
PATH_MAX = 512

ROUTE_MAX = 255

_recorders: "weakref.WeakSet[UsageRecorder]" = weakref.WeakSet()


@lru_cache(maxsize=512)
def _template(rule: str) -> str:
    return template_path(rule)


def route_of(method: str, rule: str | None, request_path: str, path: str | None = None) -> str:
    """What a request called, without its ids: "GET /api/v1/contacts/{contact_id}"; a named
    call (an MCP tool) keeps its name; a path no route matched stays as it was sent."""
    template = _template(rule) if rule is not None else request_path
    if path and path.startswith(request_path):
        template += path[len(request_path):]  # "/mcp tools/call list_contacts"
    return f"{method} {template}"[:ROUTE_MAX]


class _Queued(NamedTuple):
    """One request as the request path saw it: raw values only. The row (truncations, route
    template) is built by the flusher, off the request path."""

    key_id: object
    workspace_id: object
    created_at: object
    method: str
    request_path: str
    path: str | None
    rule: str | None
    status: int
    reason: str | None
    client_ip: str | None
    user_agent: str | None
    request_id: str

    def row(self) -> dict:
        return {
            "api_key_id": self.key_id, "workspace_id": self.workspace_id,
            "created_at": self.created_at, "method": self.method[:8],
            "path": (self.path or self.request_path)[:PATH_MAX], "status": int(self.status),
            "reason": self.reason,
            "route": route_of(self.method, self.rule, self.request_path, self.path),
            "client_ip": (self.client_ip or "")[:64],
            "user_agent": (self.user_agent or "")[:USER_AGENT_MAX],
            "request_id": self.request_id,
        }


_LOG_COLUMNS = ("api_key_id", "workspace_id", "created_at", "method", "path", "status", "reason",
                "route", "client_ip", "user_agent", "request_id")
_LOG_COPY = f"COPY {ApiRequestLog.__tablename__} ({', '.join(_LOG_COLUMNS)}) FROM STDIN"


def _insert_log_rows(conn, rows: list[dict]) -> None:
    """One COPY on PostgreSQL: psycopg's executemany sends and waits row by row, several system
    calls per logged request, each a chance for the flusher to take the GIL from a request. An
    executemany on SQLite (no round trips)."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(ApiRequestLog), rows)
        return
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(_LOG_COPY) as copy:
        for row in rows:
            copy.write_row([row[column] for column in _LOG_COLUMNS])


class UsageRecorder:
    """One per app; thread-safe. `record()` is the only call on the request path."""

    def __init__(self, app: Flask):
        self.app = app
        self.flush_seconds = float(app.config["REQUEST_LOG_FLUSH_SECONDS"])
        self.batch_size = int(app.config["REQUEST_LOG_BATCH_SIZE"])
        # Tests flush explicitly; a server flushes from a background thread.
        self.background = bool(app.config.get("REQUEST_LOG_BACKGROUND", not app.testing))
        self._pending: list[_Queued] = []
        self._last_used: dict = {}  # key id → naive UTC time this process last asked for a write
        self._touch: dict = {}  # key id → latest use not yet written
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time (thread, atexit, tests)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_retention = 0.0
        _recorders.add(self)

    # ---- request path -------------------------------------------------------------------
    def record(self, key_id, workspace_id, request: Request, status: int,
               path: str | None = None, reason: str | None = None) -> None:
        """Queue one request-log entry (and a Last Used update when one is due); never raises.
        `reason`: why the request was refused (a Refusal code); a refused request is logged on
        its key but is no use of it, so Last Used stays."""
        now = utcnow()
        rule = request.url_rule
        entry = _Queued(key_id, workspace_id, now, request.method, request.path, path,
                        rule.rule if rule is not None else None, status, reason,
                        request.remote_addr, request.environ.get("HTTP_USER_AGENT"),
                        request_id())
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(0)
            self._pending.append(entry)
            last = self._last_used.get(key_id)
            if reason is None and (last is None or now - last >= LAST_USED_INTERVAL):
                self._last_used[key_id] = now
                self._touch[key_id] = now
            full = len(self._pending) >= self.batch_size
        if self.background:
            self._ensure_thread()
            if full:
                self._wake.set()

    # ---- flushing -----------------------------------------------------------------------
    def flush(self) -> int:
        """Write everything queued; returns how many log rows were written. Never raises."""
        with self._flush_lock:
            with self._lock:
                entries, self._pending = self._pending, []
                touches, self._touch = self._touch, {}
            if not entries and not touches:
                return 0
            try:
                with self.app.app_context():
                    written = self._write(entries, touches)
            except Exception:
                log.exception("request log write failed; %d entries kept for retry", len(entries))
                with self._lock:
                    self._pending = (entries + self._pending)[-MAX_PENDING:]
                    for key_id, at in touches.items():
                        self._touch.setdefault(key_id, at)
                return 0
            if written:  # old rows only matter where new ones keep arriving
                self._maybe_purge()
            return written

    def _write(self, queued: list[_Queued], touches: dict) -> int:
        with db.engine.begin() as conn:
            for key_id, at in touches.items():
                conn.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key_id,
                           or_(ApiKey.last_used_at.is_(None),
                               ApiKey.last_used_at < at - LAST_USED_INTERVAL))
                    .values(last_used_at=at)
                )
        if not queued:
            return 0
        entries = [entry.row() for entry in queued]
        integrity_errors = (IntegrityError, db.engine.dialect.loaded_dbapi.IntegrityError)
        try:
            with db.engine.begin() as conn:
                _insert_log_rows(conn, entries)
            return len(entries)
        except integrity_errors:
            # A key was deleted since its requests were queued: its log goes with it.
            with db.engine.begin() as conn:
                key_ids = {e["api_key_id"] for e in entries}
                alive = set(conn.scalars(select(ApiKey.id).where(ApiKey.id.in_(key_ids))))
                kept = [e for e in entries if e["api_key_id"] in alive]
                if kept:
                    _insert_log_rows(conn, kept)
            return len(kept)

    def _maybe_purge(self) -> None:
        """Delete request-log rows past the retention period, at most once an hour."""
        if time.monotonic() - self._last_retention < RETENTION_EVERY_SECONDS and self._last_retention:
            return
        self._last_retention = time.monotonic()
        try:
            with self.app.app_context():
                purge_request_log(self.app.config.get("REQUEST_LOG_RETENTION_DAYS", 90))
        except Exception:
            log.exception("request log retention purge failed")

    # ---- background thread --------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=_run_flusher, args=(weakref.ref(self),),
                                                name="sureapp-usage-flusher", daemon=True)
                self._thread.start()


def _run_flusher(ref) -> None:
    """Flush on a timer or when a batch is full; ends once its recorder is gone."""
    while True:
        recorder = ref()
        if recorder is None:
            return
        wake, seconds = recorder._wake, recorder.flush_seconds
        del recorder
        wake.wait(seconds)
        wake.clear()
        recorder = ref()
        if recorder is None:
            return
        recorder.flush()
        del recorder


def purge_request_log(retention_days: int) -> int:
    """Delete request-log rows older than the retention period; returns how many."""
    cutoff = utcnow() - timedelta(days=int(retention_days))
    result = db.session.execute(delete(ApiRequestLog).where(ApiRequestLog.created_at < cutoff))
    db.session.commit()
    return result.rowcount or 0


def flush_all() -> None:
    """Flush every recorder in this process: atexit, and a gunicorn worker_exit hook."""
    for recorder in list(_recorders):
        recorder.flush()


atexit.register(flush_all)


def get_recorder(app: Flask) -> UsageRecorder:
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = UsageRecorder(app)


def record_request(key, status: int, path: str | None = None, reason: str | None = None) -> None:
    """Log the current request for `key`, a keyauth.KeyContext (keyauth.finish; /mcp may name
    the tool in `path`; a refused request gives its `reason`)."""
    from flask import current_app, request

    # The request itself, not its proxy: record() reads six of its attributes.
    get_recorder(current_app).record(key.id, key.workspace_id, request._get_current_object(),
                                     status, path, reason)
