"""gunicorn.conf.py as production runs it: nothing secret in the access log, and no request-log
entry lost when the workers stop."""
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys.services import create_key
from sureapp.models import ApiRequestLog

from bench.client import request


def _key(make_user, make_org):
    owner = make_user()
    _, workspace = make_org(owner)
    key, plaintext = create_key(workspace, "Integration", ["read"], actor_label="test")
    db.session.commit()
    return key, plaintext


def test_access_log_has_paths_but_no_query_strings_keys_or_tokens(gunicorn_app, make_user,
                                                                  make_org):
    _, plaintext = _key(make_user, make_org)
    token = "Zq8" + "x" * 40  # shaped like an invitation or reset token
    with gunicorn_app() as server:
        assert request("GET", f"{server.url}/api/v1/me?search=private-query",
                       {"X-API-Key": plaintext})[0] == 200
        request("GET", f"{server.url}/api/v1/me", {"Authorization": f"Bearer {plaintext}"})
        request("GET", f"{server.url}/invitations/{token}/accept")
        request("GET", f"{server.url}/api/v1/{plaintext}")
    log = server.log()

    assert '"GET /api/v1/me HTTP/1.1" 200' in log  # the access log is on, with method and path
    assert "private-query" not in log and "search=" not in log
    assert plaintext not in log and plaintext[:20] not in log
    assert token not in log
    assert "/invitations/[redacted]/accept" in log


def test_stopping_workers_write_every_buffered_request_log_entry(gunicorn_app, fan_out,
                                                                 make_user, make_org):
    key, plaintext = _key(make_user, make_org)
    # Nothing is written on a timer or by batch size during the test: only the exit flush.
    with gunicorn_app(REQUEST_LOG_FLUSH_SECONDS="600", REQUEST_LOG_BATCH_SIZE="100000") as server:
        answers = fan_out(f"{server.url}/api/v1/me", {"X-API-Key": plaintext}, total=30)
        assert {status for status, _ in answers} == {200}
        assert len({pid for _, pid in answers}) == 2
        logged_while_running = db.session.scalar(select(func.count(ApiRequestLog.id)))
    db.session.rollback()  # a fresh snapshot after the server stopped

    logged = db.session.scalar(
        select(func.count(ApiRequestLog.id)).where(ApiRequestLog.api_key_id == key.id))
    assert logged_while_running == 0, "the buffer was written before the stop; test proves nothing"
    assert logged == 30
