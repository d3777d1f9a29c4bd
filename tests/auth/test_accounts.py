"""Sign up, log in, log out, change password, rate limits, session hardening."""
import uuid

import pytest
from flask import g
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import User
from tests.conftest import PASSWORD


def _logged_in_user_id(client):
    with client.session_transaction() as session:
        return session.get("_user_id")


def _fresh(client):
    g.pop("_login_user", None)
    return client


def test_signup_creates_a_hashed_account_and_logs_in(client):
    response = client.post("/signup", data={"name": "Ann", "email": " Ann@Example.com ",
                                            "password": "s3cure pass", "confirm": "s3cure pass"})
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "ann@example.com"
    assert user.password_hash != "s3cure pass" and user.password_hash.startswith(("scrypt", "pbkdf2"))
    assert _logged_in_user_id(client) == user.get_id()


@pytest.mark.parametrize("data, error", [
    ({"email": "", "password": "longenough", "confirm": "longenough"}, "This field is required."),
    ({"email": "nope", "password": "longenough", "confirm": "longenough"},
     "An email address needs one @ with a name before it and a domain after it"),
    ({"email": "a" * 250 + "@x.com", "password": "longenough", "confirm": "longenough"},
     "Field cannot be longer than 255 characters."),
    ({"email": "a@example.com", "password": "short", "confirm": "short"}, "Use 8 to 1024 characters."),
    ({"email": "a@example.com", "password": "p" * 1025, "confirm": "p" * 1025}, "Use 8 to 1024 characters."),
    ({"email": "a@example.com", "password": "longenough", "confirm": "different"}, "Passwords differ."),
    ({"name": "n" * 256, "email": "a@example.com", "password": "longenough", "confirm": "longenough"},
     "Field cannot be longer than 255 characters."),
    ({"name": "A\x00n", "email": "a@example.com", "password": "longenough", "confirm": "longenough"},
     "Use visible characters only"),
    ({"email": "a\x00@example.com", "password": "longenough", "confirm": "longenough"},
     "Enter a valid email address, like ann@example.com."),
])
def test_signup_bad_input(data, error, client):
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_signup_with_a_taken_email(client, make_user):
    make_user(email="ann@example.com")
    response = client.post("/signup", data={"email": "ANN@example.com", "password": "longenough",
                                            "confirm": "longenough"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_login_starts_a_fresh_session(client, make_user):
    user = make_user(email="ann@example.com")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = client.post("/login", data={"email": "ANN@example.com", "password": PASSWORD})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()


def test_session_cookie_is_httponly_and_lax(client, make_user):
    make_user(email="ann@example.com")
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("email, password", [("ann@example.com", "wrong password"),
                                             ("nobody@example.com", PASSWORD),
                                             ("", ""), ("not-an-email", "x"),
                                             ("ann\x00@example.com", PASSWORD)])
def test_login_failures_are_inline(email, password, client, make_user):
    make_user(email="ann@example.com")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert _logged_in_user_id(client) is None


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(target, client, make_user):
    make_user(email="ann@example.com")
    response = client.post(f"/login?next={target}", data={"email": "ann@example.com", "password": PASSWORD})
    assert response.headers["Location"] in {"/home", "http://localhost/home"}


def test_logout(client, login, make_user):
    login(make_user())
    assert client.post("/logout").status_code == 302
    assert _logged_in_user_id(client) is None


def test_change_password_ends_every_other_session(app, client, login, make_user):
    user = make_user(email="ann@example.com")
    other_device = app.test_client()
    login(user, as_client=other_device)
    login(user)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "brand new pass", "confirm": "brand new pass"})
    assert response.status_code == 302
    assert _fresh(client).get("/organizations").status_code == 200  # this session goes on
    response = _fresh(other_device).get("/organizations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    _fresh(client).post("/logout")
    assert _fresh(client).post("/login", data={"email": "ann@example.com",
                                               "password": "brand new pass"}).status_code == 302


@pytest.mark.parametrize("data, error", [
    ({"current_password": "wrong", "new_password": "brand new pass", "confirm": "brand new pass"},
     "Your current password is not correct."),
    ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
     "Use 8 to 1024 characters."),
    ({"current_password": PASSWORD, "new_password": "brand new pass", "confirm": "other"},
     "Passwords differ."),
    ({"current_password": "", "new_password": "", "confirm": ""}, "This field is required."),
])
def test_change_password_bad_input(data, error, client, login, make_user):
    user = make_user()
    login(user)
    hash_before = user.password_hash
    response = client.post("/account/password", data=data)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == hash_before


def test_profile_menu_offers_change_password(client, login, make_user):
    login(make_user())
    assert "/account/password" in client.get("/organizations").get_data(as_text=True)


class TestLoginRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "3 per minute", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}

    def test_per_client_ip(self, client, make_user):
        make_user(email="ann@example.com")
        for i in range(3):
            response = client.post("/login", data={"email": f"x{i}@example.com", "password": "bad"})
            assert response.status_code == 422
        response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        assert response.headers["Retry-After"]
        assert _logged_in_user_id(client) is None

    def test_per_email_across_ips(self, client, make_user):
        make_user(email="ann@example.com")
        for i in range(3):
            client.post("/login", data={"email": "ann@example.com", "password": "bad"},
                        environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        response = client.post("/login", data={"email": "Ann@example.com", "password": PASSWORD},
                               environ_base={"REMOTE_ADDR": "10.0.0.99"})
        assert response.status_code == 429
        # Another account from that fresh IP is not affected.
        make_user(email="bob@example.com")
        response = client.post("/login", data={"email": "bob@example.com", "password": PASSWORD},
                               environ_base={"REMOTE_ADDR": "10.0.0.99"})
        assert response.status_code == 302

    def test_successful_logins_do_not_count(self, app, make_user):
        make_user(email="ann@example.com")
        for _ in range(5):
            client = app.test_client()
            response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
            assert response.status_code == 302

    def test_signup_is_limited_per_ip(self, client):
        for _ in range(3):
            client.post("/signup", data={"email": "bad"})
        response = client.post("/signup", data={"email": "a@example.com", "password": "longenough",
                                                "confirm": "longenough"})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
