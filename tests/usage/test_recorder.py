"""Usage recording: Last Used at most once a minute per key, the request log buffered off the
request path and written in batches, retention, and no entry lost on flush failures."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from sureapp.extensions import db
from sureapp.models import ApiKey, ApiRequestLog
from sureapp.timeutil import utcnow
from sureapp.usage import recorder as usage
from sureapp.usage.recorder import get_recorder


@pytest.fixture
def recorder(app):
    return get_recorder(app)


@pytest.fixture
def writes(app):
    """Every INSERT/UPDATE/DELETE statement executed while the test runs."""
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(db.engine, "before_cursor_execute", listen)


def _logs():
    db.session.expire_all()
    return list(db.session.scalars(select(ApiRequestLog).order_by(ApiRequestLog.id)))


def _last_used(key_id):
    db.session.expire_all()
    return db.session.get(ApiKey, key_id).last_used_at


def test_nothing_is_written_on_the_request_path(api_as, make_key, workspace, recorder, writes):
    key, plaintext = make_key(workspace, abilities=("read",))
    writes.clear()
    for _ in range(20):
        assert api_as(plaintext).get("/me").status_code == 200
    # (The keys feature's hourly purge of revoked keys may run; it is not usage recording.)
    ours = [s for s in writes if s.startswith(("INSERT INTO api_request_logs", "UPDATE api_keys"))]
    assert ours == []
    assert _logs() == [] and _last_used(key.id) is None
    assert recorder.flush() == 20
    assert len(_logs()) == 20 and _last_used(key.id) is not None


def test_log_entries_record_what_happened(api_as, make_key, workspace, recorder):
    key, plaintext = make_key(workspace)
    client = api_as(plaintext)
    client.get("/contacts?limit=5&search=secret", headers={"User-Agent": "Zapier/1.0 " + "x" * 400})
    client.post("/contacts", json={"bogus": 1}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    client.request("HEAD", "/me")
    recorder.flush()
    rows = _logs()
    assert [(r.method, r.path, r.status) for r in rows] == [
        ("GET", "/api/v1/contacts", 200), ("POST", "/api/v1/contacts", 422),
        ("HEAD", "/api/v1/me", 200)]
    assert all(r.api_key_id == key.id and r.workspace_id == workspace.id for r in rows)
    assert rows[0].user_agent.startswith("Zapier/1.0") and len(rows[0].user_agent) == 255
    assert rows[1].client_ip == "203.0.113.9"
    assert all(r.created_at <= utcnow() for r in rows)


def test_refused_requests_of_a_known_key_are_logged_unknown_keys_are_not(api_as, make_key,
                                                                         workspace, recorder):
    key, plaintext = make_key(workspace, abilities=("read",))
    api_as(plaintext).delete("/contacts/00000000-0000-0000-0000-000000000000")
    api_as("not-a-key").get("/me")
    recorder.flush()
    assert [(r.status, r.api_key_id) for r in _logs()] == [(403, key.id)]


def test_last_used_is_written_at_most_once_a_minute(api_as, make_key, workspace, recorder,
                                                    writes):
    key, plaintext = make_key(workspace)
    client = api_as(plaintext)
    for _ in range(30):
        client.get("/me")
    recorder.flush()
    first = _last_used(key.id)
    assert first is not None
    updates = [s for s in writes if s.startswith("UPDATE api_keys")]
    assert len(updates) == 1
    for _ in range(30):
        client.get("/me")
    recorder.flush()
    assert _last_used(key.id) == first
    assert len([s for s in writes if s.startswith("UPDATE api_keys")]) == 1


def test_another_worker_does_not_rewrite_a_fresh_last_used(api_as, make_key, workspace, app,
                                                           recorder):
    key, plaintext = make_key(workspace)
    api_as(plaintext).get("/me")
    recorder.flush()
    first = _last_used(key.id)
    # A second worker (its own in-process map) within the minute: the UPDATE's condition holds.
    other = usage.UsageRecorder(app)
    with app.test_request_context("/api/v1/me"):
        from flask import request
        other.record(key.id, workspace.id, request, 200)
    other.flush()
    assert _last_used(key.id) == first
    # Over a minute later the same worker writes again.
    db.session.get(ApiKey, key.id).last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    other._last_used.clear()
    with app.test_request_context("/api/v1/me"):
        from flask import request
        other.record(key.id, workspace.id, request, 200)
    other.flush()
    assert _last_used(key.id) > first - timedelta(minutes=2)


def test_a_failed_write_keeps_the_entries_and_never_fails_the_request(api_as, full_key, recorder,
                                                                      monkeypatch):
    calls = {"n": 0}
    real_write = recorder._write

    def flaky(entries, touches):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is down")
        return real_write(entries, touches)

    monkeypatch.setattr(recorder, "_write", flaky)
    for _ in range(3):
        assert api_as(full_key).get("/me").status_code == 200
    assert recorder.flush() == 0
    assert _logs() == []
    assert recorder.flush() == 3
    assert len(_logs()) == 3


def test_entries_of_a_deleted_key_are_dropped_without_losing_others(api_as, make_key, workspace,
                                                                    recorder):
    doomed, doomed_plain = make_key(workspace)
    kept, kept_plain = make_key(workspace)
    api_as(doomed_plain).get("/me")
    api_as(kept_plain).get("/me")
    db.session.delete(doomed)
    db.session.commit()
    assert recorder.flush() == 1
    assert [r.api_key_id for r in _logs()] == [kept.id]


def test_retention_deletes_old_rows_at_most_hourly(app, api_as, make_key, workspace, recorder):
    key, plaintext = make_key(workspace)
    app.config["REQUEST_LOG_RETENTION_DAYS"] = 90
    old = ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id,
                        created_at=utcnow() - timedelta(days=91), method="GET", path="/old",
                        status=200)
    recent = ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id,
                           created_at=utcnow() - timedelta(days=89), method="GET", path="/recent",
                           status=200)
    db.session.add_all([old, recent])
    db.session.commit()
    api_as(plaintext).get("/me")
    recorder.flush()
    assert sorted(r.path for r in _logs()) == ["/api/v1/me", "/recent"]
    # Within the hour, the purge does not run again.
    db.session.add(ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id,
                                 created_at=utcnow() - timedelta(days=100), method="GET",
                                 path="/old2", status=200))
    db.session.commit()
    api_as(plaintext).get("/me")
    recorder.flush()
    assert "/old2" in {r.path for r in _logs()}


def test_flush_all_flushes_every_recorder(api_as, full_key):
    api_as(full_key).get("/me")
    usage.flush_all()
    assert len(_logs()) == 1


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"REQUEST_LOG_BACKGROUND": True,
                                         "REQUEST_LOG_FLUSH_SECONDS": 0.1}], indirect=True)
def test_the_background_thread_writes_the_batches(api_as, full_key, recorder):
    for _ in range(5):
        api_as(full_key).get("/me")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(_logs()) < 5:
        time.sleep(0.1)
    assert len(_logs()) == 5
    assert recorder._thread is not None and recorder._thread.daemon
