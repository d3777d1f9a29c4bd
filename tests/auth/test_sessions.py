"""Server-side sessions (issue 13 finding 5), tested as an attacker holding a copied cookie or
another user's session id would try them."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp.auth import sessions
from sureapp.auth.current import TOKEN_KEY
from sureapp.extensions import db
from sureapp.models import UserSession
from sureapp.timeutil import utcnow
from tests.conftest import PASSWORD, forget_request_user

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def fresh(client):
    """The next request loads its user from its own cookie (tests share g)."""
    forget_request_user()
    return client


def log_in_by_form(client, email="ann@example.com", password=PASSWORD, agent=BROWSER):
    response = fresh(client).post("/login", data={"email": email, "password": password},
                                  headers={"User-Agent": agent})
    assert response.status_code == 302
    return client


def copy_cookies(source, target):
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return target


def signed_in(client) -> bool:
    """Signed in: the page (200). Signed out: the one other answer, a redirect to the login page
    that comes back here; anything else (a 500, a redirect elsewhere) fails the test."""
    response = fresh(client).get("/organizations")
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == "/login?next=%2Forganizations", response.headers["Location"]
    return False


def count_sessions() -> int:
    db.session.rollback()  # a fresh look at what requests committed
    return db.session.scalar(select(func.count(UserSession.id)))


@pytest.fixture
def ann(make_user):
    return make_user(email="ann@example.com")


def test_log_in_creates_a_session_record_and_the_cookie_holds_only_a_token(app, client, ann):
    log_in_by_form(client)
    record = db.session.scalar(select(UserSession))
    assert (record.user_id, record.ip_address, record.user_agent) == (ann.id, "127.0.0.1", BROWSER)
    with client.session_transaction() as cookie:
        token = cookie[TOKEN_KEY]
    # The database keeps a digest only: a dump of it opens no session.
    assert record.token_hash == sessions.token_digest(token) and token not in record.token_hash


def test_a_copied_cookie_stops_working_after_log_out(app, client, ann):
    log_in_by_form(client)
    thief = copy_cookies(client, app.test_client())
    assert signed_in(thief)  # the copy works while the session lives

    assert fresh(client).post("/logout").status_code == 302

    assert not signed_in(thief)
    assert count_sessions() == 0


def test_a_cookie_with_an_unknown_or_forged_token_opens_nothing(app, client, ann):
    log_in_by_form(client)
    with client.session_transaction() as cookie:
        cookie[TOKEN_KEY] = "A" * 43
    assert not signed_in(client)


def test_a_session_of_one_user_never_opens_another_account(app, client, ann, make_user):
    bob = make_user(email="bob@example.com")
    log_in_by_form(client)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(bob.id)  # only possible with the SECRET_KEY, but still refused
    assert not signed_in(client)


def test_changing_the_password_ends_every_other_session(app, client, ann):
    laptop = log_in_by_form(app.test_client())
    thief = copy_cookies(laptop, app.test_client())
    log_in_by_form(client)
    response = fresh(client).post("/account/password", data={
        "current_password": PASSWORD, "new_password": "brand new pass",
        "confirm": "brand new pass"})
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(laptop) and not signed_in(thief)
    assert count_sessions() == 1


def test_an_idle_session_expires_after_session_idle_days(app, client, ann):
    log_in_by_form(client)
    record = db.session.scalar(select(UserSession))
    record.last_seen_at = utcnow() - timedelta(days=13, hours=23)
    db.session.commit()
    assert signed_in(client)  # 13 days 23 hours idle: still live, and touched now
    record = db.session.scalar(select(UserSession))
    assert utcnow() - record.last_seen_at < timedelta(minutes=1)

    record.last_seen_at = utcnow() - timedelta(days=14, seconds=1)
    db.session.commit()
    assert not signed_in(client)


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_DAYS": 2}])
def test_idle_days_come_from_the_config(app, client, ann):
    log_in_by_form(client)
    record = db.session.scalar(select(UserSession))
    with client.session_transaction() as cookie:
        token = cookie[TOKEN_KEY]
    start = record.last_seen_at
    assert sessions.resolve(token, start + timedelta(days=2) - timedelta(seconds=1), 2)
    assert sessions.resolve(token, start + timedelta(days=2), 2) is None


def test_last_seen_is_written_at_most_once_a_minute(app, client, ann):
    log_in_by_form(client)
    record = db.session.scalar(select(UserSession))
    written = record.last_seen_at - timedelta(seconds=30)
    record.last_seen_at = written
    db.session.commit()
    assert signed_in(client) and signed_in(client)
    db.session.rollback()
    assert db.session.scalar(select(UserSession.last_seen_at)) == written  # 30 s: no write

    db.session.execute(UserSession.__table__.update().values(
        last_seen_at=written - timedelta(seconds=31)))
    db.session.commit()
    assert signed_in(client)
    db.session.rollback()
    assert utcnow() - db.session.scalar(select(UserSession.last_seen_at)) < timedelta(seconds=5)


def test_log_in_purges_sessions_idle_past_the_limit(app, client, ann, make_user):
    log_in_by_form(client)
    db.session.execute(UserSession.__table__.update().values(
        last_seen_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    log_in_by_form(app.test_client())
    assert count_sessions() == 1


# ---- Profile → Sessions ---------------------------------------------------------------------

def test_the_sessions_page_lists_mine_only_and_marks_this_one(app, client, ann, make_user):
    make_user(email="bob@example.com")
    log_in_by_form(app.test_client(), agent="Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36")
    log_in_by_form(app.test_client(), email="bob@example.com", agent="curl/8.5.0")
    log_in_by_form(client)
    page = fresh(client).get("/account/sessions").get_data(as_text=True)
    assert page.count('class="session-item"') == 2
    assert "Firefox on Linux" in page and "Chrome on Windows" in page
    assert "curl" not in page  # bob's session is not on ann's page
    assert page.count("This session") == 1
    assert "Sign out everywhere else" in page
    assert "/account/sessions" in fresh(client).get("/organizations").get_data(as_text=True)


def test_sign_out_one_session(app, client, ann):
    laptop = log_in_by_form(app.test_client())
    log_in_by_form(client)
    laptop_session = db.session.scalar(select(UserSession).order_by(UserSession.created_at))
    response = fresh(client).post(f"/account/sessions/{laptop_session.id}/end")
    assert (response.status_code, response.headers["Location"]) == (302, "/account/sessions")
    assert not signed_in(laptop) and signed_in(client)


def test_sign_out_one_session_under_htmx_answers_the_new_list(app, client, ann):
    laptop = log_in_by_form(app.test_client())
    log_in_by_form(client)
    laptop_session = db.session.scalar(select(UserSession).order_by(UserSession.created_at))
    response = fresh(client).post(f"/account/sessions/{laptop_session.id}/end",
                                  headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="sessions"')
    assert html.count('class="session-item"') == 1 and str(laptop_session.id) not in html
    assert not signed_in(laptop)


def test_sign_out_on_this_sessions_row_logs_out(app, client, ann):
    log_in_by_form(client)
    this = db.session.scalar(select(UserSession))
    response = fresh(client).post(f"/account/sessions/{this.id}/end")
    assert (response.status_code, response.headers["Location"]) == (302, "/login")
    assert not signed_in(client) and count_sessions() == 0


def test_another_users_session_id_cannot_be_ended(app, client, ann, make_user):
    make_user(email="mallory@example.com")
    victim = log_in_by_form(app.test_client())
    victim_session = db.session.scalar(select(UserSession))
    log_in_by_form(client, email="mallory@example.com")
    for session_id in (victim_session.id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert fresh(client).post(f"/account/sessions/{session_id}/end").status_code == 404
    assert signed_in(victim) and count_sessions() == 2


def test_sign_out_everywhere_else(app, client, ann, make_user):
    bob = make_user(email="bob@example.com")
    others = [log_in_by_form(app.test_client()) for _ in range(2)]
    bobs = log_in_by_form(app.test_client(), email=bob.email)
    log_in_by_form(client)
    response = fresh(client).post("/account/sessions/end-others")
    assert response.status_code == 302
    assert fresh(client).get("/account/sessions").get_data(as_text=True).count(
        'class="session-item"') == 1
    assert not any(signed_in(c) for c in others)
    assert signed_in(client) and signed_in(bobs)  # bob's sessions are not ann's to end


def test_sign_out_everywhere_else_under_htmx(app, client, ann):
    other = log_in_by_form(app.test_client())
    log_in_by_form(client)
    response = fresh(client).post("/account/sessions/end-others", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Signed out 1 other session." in html
    assert not signed_in(other)


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_ending_sessions_needs_the_csrf_token(self, app, client, ann):
        other = app.test_client()
        fresh(other).get("/login")
        token = _csrf_from(fresh(other).get("/login"))
        fresh(other).post("/login", data={"email": ann.email, "password": PASSWORD,
                                          "csrf_token": token})
        login_page = fresh(client).get("/login")
        fresh(client).post("/login", data={"email": ann.email, "password": PASSWORD,
                                           "csrf_token": _csrf_from(login_page)})
        assert fresh(client).post("/account/sessions/end-others").status_code == 400
        assert signed_in(other)


def _csrf_from(response) -> str:
    html = response.get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


@pytest.mark.parametrize("name", ["SESSION_IDLE_DAYS", "SUDO_MINUTES"])
@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_session_settings_stop_the_start_with_a_clear_message(monkeypatch, tmp_path, name,
                                                                  value):
    from sureapp.config import Config

    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be a whole number of at least 1"):
        Config(str(tmp_path))
