"""A real gunicorn server on 127.0.0.1 under a bounded concurrent load: a revoke or regenerate
takes effect on the very next request, parallel bulk upserts of the same emails leave one
contact per email, concurrent creates never exceed the contact allocation, and SIGTERM in the
middle of the load loses no request-log row and writes no partial one. On SQLite and, with
TEST_DATABASE_URL, on PostgreSQL (the conftest's private schema). Never a 5xx.
"""
import json
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from urllib.error import URLError

import pytest
from sqlalchemy import select

from bench.client import request
from bench.servers import gunicorn
from sureapp.extensions import db
from sureapp.keys.services import create_key, regenerate_key, revoke_key
from sureapp.models import ApiRequestLog, Contact

pytestmark = pytest.mark.live

WORKERS = 2
LOAD_THREADS = 6
MAX_REQUESTS_PER_THREAD = 400  # bounds the load even if a test forgets to stop it
REQUEST_TIMEOUT = 15  # seconds


def server_env(database_url: str, **extra) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "RATELIMIT_STORAGE_URI": "memory://",
        "API_RATE_LIMIT": "1000000 per minute",
        "API_AUTH_FAILURE_LIMIT": "1000000 per minute",
        "ACCESS_LOG": "",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def shared_servers(tmp_path_factory):
    """One gunicorn per database for the whole module (starting one costs seconds); tests only
    change rows, which the root `app` fixture empties after each test."""
    servers, stack = {}, ExitStack()

    def server_for(database_url: str):
        if database_url not in servers:
            log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
            servers[database_url] = stack.enter_context(
                gunicorn("app:app", server_env(database_url), log, workers=WORKERS))
        return servers[database_url]

    with stack:
        yield server_for


@pytest.fixture
def server(app, shared_servers):
    return shared_servers(app.config["SQLALCHEMY_DATABASE_URI"])


@pytest.fixture
def workspace_key(owner_workspace):
    """(workspace, key, plaintext) with every ability."""
    owner, _, workspace = owner_workspace
    key, plaintext = create_key(workspace, "Load", ["read", "write", "delete"], actor=owner)
    db.session.commit()
    return workspace, key, plaintext


def call(url, key, method="GET", payload=None):
    headers = {"X-API-Key": key, "Accept": "application/json"}
    body = None
    if payload is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload).encode()
    status, _, data = request(method, url, headers, body, timeout=REQUEST_TIMEOUT)
    return status, data


class Load:
    """LOAD_THREADS clients calling `url` with `key` until stopped (or the per-thread cap).
    Each answer is kept as (sent_at, status) on the monotonic clock."""

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key
        self.answers: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(LOAD_THREADS)]

    def _run(self):
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if self._stop.is_set():
                return
            sent = time.monotonic()
            try:
                status, _ = call(self.url, self.key)
            except (URLError, OSError) as exc:  # e.g. refused once the server stops
                with self._lock:
                    self.errors.append(repr(exc))
                continue
            with self._lock:
                self.answers.append((sent, status))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def wait_for(self, count: int, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while len(self.answers) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.answers) >= count, f"load too slow: {len(self.answers)} answers"

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)


def statuses(answers) -> set[int]:
    return {status for _, status in answers}


# ---- key lifecycle under load -----------------------------------------------------------------

def test_revoke_under_load_rejects_the_very_next_request(server, workspace_key):
    _, key, plaintext = workspace_key
    url = f"{server.url}/api/v1/me"
    with Load(url, plaintext) as load:
        load.wait_for(30)
        revoke_key(key, actor_label="test")
        db.session.commit()
        done = time.monotonic()
        next_status, _ = call(url, plaintext)
        load.wait_for(len(load.answers) + 30)

    assert next_status == 401
    after = [a for a in load.answers if a[0] > done]
    assert after and statuses(after) == {401}, "a request sent after the revoke got through"
    assert statuses(load.answers) <= {200, 401}, statuses(load.answers)
    assert not load.errors, load.errors[:3]


def test_regenerate_under_load_rejects_the_old_string_at_once(server, workspace_key):
    _, key, plaintext = workspace_key
    url = f"{server.url}/api/v1/me"
    with Load(url, plaintext) as load:
        load.wait_for(30)
        new_plaintext = regenerate_key(key, grace=None, actor_label="test")
        db.session.commit()
        done = time.monotonic()
        old_status, _ = call(url, plaintext)
        new_status, _ = call(url, new_plaintext)
        load.wait_for(len(load.answers) + 30)

    assert (old_status, new_status) == (401, 200)
    after = [a for a in load.answers if a[0] > done]
    assert after and statuses(after) == {401}
    assert statuses(load.answers) <= {200, 401}, statuses(load.answers)


# ---- writes racing each other -----------------------------------------------------------------

def contact_emails(workspace) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Contact.email).where(Contact.workspace_id == workspace.id)))


def test_parallel_bulk_upserts_of_the_same_emails_leave_one_contact_each(server, workspace_key):
    workspace, _, plaintext = workspace_key
    emails = [f"race-{i}@example.com" for i in range(40)]
    batches = []
    for n in range(8):  # same emails, different order and case, different names
        rows = [{"email": e.upper() if n % 2 else e, "first_name": f"Writer {n}"} for e in emails]
        batches.append(rows[n * 5:] + rows[:n * 5])

    url = f"{server.url}/api/v1/contacts/bulk"
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        answers = list(pool.map(lambda rows: call(url, plaintext, "POST", {"contacts": rows}),
                                batches))

    codes = [status for status, _ in answers]
    assert all(status < 500 for status in codes), codes
    assert codes.count(200) >= 1, [data[:200] for _, data in answers]
    stored = contact_emails(workspace)
    assert sorted(stored) == sorted(emails), "exactly one contact per email"


def test_concurrent_creates_never_exceed_the_contact_allocation(server, workspace_key):
    workspace, _, plaintext = workspace_key
    workspace.contact_allocation = 5
    db.session.commit()

    url = f"{server.url}/api/v1/contacts"
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(
            lambda i: call(url, plaintext, "POST", {"email": f"alloc-{i}@example.com"}),
            range(24)))

    codes = [status for status, _ in answers]
    assert all(status < 500 for status in codes), codes
    assert codes.count(201) == 5, codes
    assert set(codes) <= {201, 409}, codes
    assert len(contact_emails(workspace)) == 5


# ---- graceful shutdown ------------------------------------------------------------------------

def logged_rows(key):
    db.session.expire_all()
    return db.session.execute(
        select(ApiRequestLog.method, ApiRequestLog.path, ApiRequestLog.status,
               ApiRequestLog.client_ip).where(ApiRequestLog.api_key_id == key.id)).all()


def test_sigterm_under_load_flushes_the_request_log_completely(app, tmp_path, workspace_key):
    """Nothing is flushed while serving (huge interval and batch: checked), so every row comes
    from the shutdown flush: one complete row per answered request, no more, no fewer."""
    _, key, plaintext = workspace_key
    env = server_env(app.config["SQLALCHEMY_DATABASE_URI"], REQUEST_LOG_FLUSH_SECONDS="3600",
                     REQUEST_LOG_BATCH_SIZE="1000000")
    with gunicorn("app:app", env, tmp_path / "gunicorn.log", workers=WORKERS) as server:
        url = f"{server.url}/api/v1/me"
        with Load(url, plaintext) as load:
            load.wait_for(60)
            assert logged_rows(key) == [], "flushed while serving: the test would prove nothing"
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=60)
        answered = [status for _, status in load.answers]
        log_text = server.log()

    assert set(answered) == {200}, set(answered)
    rows = logged_rows(key)
    assert len(rows) == len(answered), (len(rows), len(answered), log_text[-2000:])
    assert set(rows) == {("GET", "/api/v1/me", 200, "127.0.0.1")}
    assert "Traceback" not in log_text, log_text[-3000:]
