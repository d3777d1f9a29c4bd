"""Backing services failing: the database (503 on both surfaces, then recovery without a
restart) and the rate-limit storage (documented fail-open, never a 500)."""
import logging
import os
import time
import uuid

import pytest
from sqlalchemy.engine import make_url

from sureapp.auth.current import TOKEN_KEY
from sureapp.auth.sessions import open_session
from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.timeutil import utcnow
from tests.conftest import PASSWORD, make_test_app

from ._tcp_proxy import TcpProxy

UNREACHABLE_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:1/x"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


# ---- probes ---------------------------------------------------------------------------------

def probe(app, api_key: str | None = None, login: tuple[str, str] | None = None):
    """One keyed API request and one signed-in page request; returns both responses.
    `login` is (user id, session token); without it the cookie names a session that the
    database must be asked about."""
    client = app.test_client()
    api = client.get("/api/v1/me", headers={"X-API-Key": api_key or keystring.generate()})
    user_id, token = login or (str(uuid.uuid4()), "t" * 43)
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session[TOKEN_KEY] = token
        session["_fresh"] = True
    page = client.get("/organizations")
    return api, page


def assert_unavailable(api, page):
    assert api.status_code == 503, api.get_data(as_text=True)[:300]
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 503
    assert int(api.headers["Retry-After"]) > 0

    assert page.status_code == 503, page.get_data(as_text=True)[:300]
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "right back" in html and "Traceback" not in html and "OperationalError" not in html
    assert int(page.headers["Retry-After"]) > 0
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def assert_available(api, page):
    assert api.status_code == 200, api.get_data(as_text=True)[:300]
    assert page.status_code == 200, page.get_data(as_text=True)[:300]


def seed(app):
    """A user with a workspace and a read key; returns (plaintext key, session user id)."""
    from sureapp.auth.services import create_user
    from sureapp.keys.services import create_key
    from sureapp.tenancy.services import create_organization

    with app.app_context():
        user = create_user(f"fault-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
        _, workspace = create_organization(user, "Faulty", workspace_name="Main")
        _, plaintext = create_key(workspace, "Probe", ["read"], actor=user)
        _, token = open_session(user, "127.0.0.1", "pytest", utcnow())
        db.session.commit()
        return plaintext, (user.get_id(), token)


def empty_tables(app):
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


# ---- database -------------------------------------------------------------------------------

def test_unreachable_postgresql_answers_503_on_both_surfaces(caplog):
    app = make_test_app(UNREACHABLE_POSTGRESQL)
    with caplog.at_level(logging.WARNING, logger="sureapp.faults"):
        assert_unavailable(*probe(app))
    assert app.test_client().get("/healthz").status_code == 503
    # One line per failure, naming the cause, never the SQL or its parameters.
    messages = [r.getMessage() for r in caplog.records if r.name == "sureapp.faults"]
    assert messages and all("SELECT" not in m for m in messages)
    assert any("Connection refused" in m or "connection" in m.lower() for m in messages)


@pytest.mark.parametrize("blocker", ["missing directory", "a file where the directory should be"])
def test_sqlite_that_cannot_be_opened_answers_503_then_recovers(tmp_path, blocker):
    folder = tmp_path / "data"
    if blocker != "missing directory":
        folder.write_text("not a directory")
    app = make_test_app(f"sqlite:///{folder / 'sureapp.db'}")
    assert_unavailable(*probe(app))

    # The operator fixes the volume; the same running app recovers on its next request.
    if folder.is_file():
        folder.unlink()
    folder.mkdir()
    with app.app_context():
        db.create_all()
    key, login = seed(app)
    assert_available(*probe(app, key, login))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs TEST_DATABASE_URL (a PostgreSQL to cut the connection to)")
def test_postgresql_connection_lost_answers_503_then_recovers(database_urls):
    """The app reaches PostgreSQL through a forwarder this test cuts and restores, so pooled
    connections really die mid-flight (the shared server itself keeps running)."""
    url = make_url(database_urls["postgresql"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = make_test_app(proxied)
    try:
        key, login = seed(app)
        assert_available(*probe(app, key, login))  # the pool now holds live connections

        proxy.cut()
        assert_unavailable(*probe(app, key, login))
        assert_unavailable(*probe(app, key, login))  # still down: still a clean 503

        proxy.start()
        assert_available(*probe(app, key, login))
    finally:
        proxy.start() if proxy._listener is None else None
        empty_tables(app)
        proxy.cut()


# ---- rate-limit storage -----------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"RATELIMIT_STORAGE_URI": UNREACHABLE_REDIS,
                                         "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_unreachable_redis_fails_open_for_the_api_and_never_500s(client, api_keys, make_user,
                                                                  app_config, caplog):
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = client.get("/api/v1/me", headers={"X-API-Key": api_keys["read"]})
            assert response.status_code == 200, response.get_data(as_text=True)
        bad_key = client.get("/api/v1/me", headers={"X-API-Key": keystring.generate()})
        assert bad_key.status_code == 401
    assert time.monotonic() - started < 10, "an unreachable Redis must not stall every request"
    outage_lines = [r for r in caplog.records if "rate-limit storage" in r.getMessage()]
    assert outage_lines, "the outage must be logged"
    assert len(outage_lines) == 1 and not outage_lines[0].exc_info, \
        "one short line per minute, not a traceback per request"


@pytest.mark.parametrize("app_config", [{"RATELIMIT_STORAGE_URI": UNREACHABLE_REDIS,
                                         "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_unreachable_redis_keeps_login_throttled_in_memory(client, make_user, app_config):
    user = make_user()
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong"}).status_code
                for _ in range(5)]
    assert 500 not in statuses
    assert statuses[:3] == [422, 422, 422]
    assert statuses[-1] == 429, statuses
