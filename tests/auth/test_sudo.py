"""Sudo mode: creating, regenerating and deleting keys, changing a key's abilities, inviting or
promoting an Org Admin and transferring ownership ask for the password again unless it was
entered within SUDO_MINUTES. Refused actions write nothing; the prompt carries the form through;
wrong passwords count against the login rate limit."""
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys import services as key_services
from sureapp.models import ApiKey, Invitation, OrgMembership, Role, UserSession
from sureapp.timeutil import utcnow
from tests.conftest import PASSWORD, forget_request_user

HX = {"HX-Request": "true"}


def fresh(client):
    forget_request_user()
    return client


def password_entered(minutes_ago: float) -> None:
    """Every session last saw the password `minutes_ago` minutes ago."""
    db.session.execute(UserSession.__table__.update().values(
        password_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()


class HiddenFields(HTMLParser):
    """The (name, value) pairs of a page's hidden inputs, and its form actions."""

    def __init__(self, html: str):
        super().__init__()
        self.fields, self.actions = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields.append((attrs["name"], attrs.get("value", "")))
        if tag == "form":
            self.actions.append(attrs.get("action"))


@pytest.fixture
def owner_ws(workspace_with_roles):
    workspace, users = workspace_with_roles
    key, _ = key_services.create_key(workspace, "Zapier", ["read", "write"])
    db.session.commit()
    return workspace, users, key


def keys_url(workspace, suffix=""):
    return f"/w/{workspace.id}/settings/api-keys{suffix}"


def members_url(workspace, suffix=""):
    return f"/w/{workspace.id}/settings/members{suffix}"


def state():
    """What any guarded action could change."""
    db.session.rollback()
    return (
        sorted((k.name, k.abilities, k.allowed_ips, k.key_hash)
               for k in db.session.scalars(select(ApiKey))),
        db.session.scalar(select(func.count(Invitation.id))),
        sorted((str(m.user_id), m.role) for m in db.session.scalars(select(OrgMembership))),
    )


# (name, path builder, form data builder): every action sudo mode guards.
GUARDED = [
    ("create key", lambda ws, u, k: keys_url(ws),
     lambda u: {"name": "New", "abilities": ["read", "write"], "key_type": "api"}),
    ("regenerate key", lambda ws, u, k: keys_url(ws, f"/{k.id}/regenerate"),
     lambda u: {"grace": "1h"}),
    ("delete key", lambda ws, u, k: keys_url(ws, f"/{k.id}/delete"), lambda u: {}),
    ("change abilities", lambda ws, u, k: keys_url(ws, f"/{k.id}"),
     lambda u: {"name": "Zapier", "abilities": ["read", "write", "delete"], "active": "y"}),
    ("restrict to scopes", lambda ws, u, k: keys_url(ws, f"/{k.id}"),
     lambda u: {"name": "Zapier", "access": "restricted", "scopes": ["contacts:read", "lists:write"],
                "active": "y"}),
    ("change allowed addresses", lambda ws, u, k: keys_url(ws, f"/{k.id}"),
     lambda u: {"name": "Zapier", "abilities": ["read", "write"], "allowed_ips": "203.0.113.0/24",
                "active": "y"}),
    ("invite an org admin", lambda ws, u, k: members_url(ws, "/invitations"),
     lambda u: {"email": "new-admin@example.com", "role": "admin"}),
    ("promote to org admin", lambda ws, u, k: members_url(ws, f"/{u['manager'].id}/role"),
     lambda u: {"role": "admin"}),
    ("transfer ownership", lambda ws, u, k: members_url(ws, "/transfer-ownership"),
     lambda u: {"user_id": str(u["admin"].id), "confirm": "y"}),
]
GUARDED_IDS = [g[0] for g in GUARDED]
# What each action answers once it runs without JavaScript: the new key or the invitation link
# is shown on the 200 page (once), every other action redirects to the page showing the change.
# 303: Post/Redirect/Get to the page that shows the key or the invitation link once.
DONE_STATUS = {"create key": 303, "regenerate key": 303, "invite an org admin": 303,
               "delete key": 302, "change abilities": 302, "promote to org admin": 302,
               "transfer ownership": 302, "restrict to scopes": 302,
               "change allowed addresses": 302}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("name, path, data", GUARDED, ids=GUARDED_IDS)
def test_outside_sudo_mode_the_action_asks_for_the_password_and_does_nothing(
        client, login, owner_ws, htmx, name, path, data):
    workspace, users, key = owner_ws
    login(users["owner"])
    password_entered(minutes_ago=11)
    before = state()
    response = fresh(client).post(path(workspace, users, key), data=data(users),
                                  headers=HX if htmx else {})
    assert response.status_code == 401
    assert response.headers["X-Sudo-Required"] == "password"
    assert "Confirm your password" in response.get_data(as_text=True)
    if htmx:
        assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
            "#sudo-root", "innerHTML")
    assert state() == before


@pytest.mark.parametrize("name, path, data", GUARDED, ids=GUARDED_IDS)
def test_without_js_the_prompt_replays_the_form_to_the_action(client, login, owner_ws, name,
                                                              path, data):
    """Nothing re-typed: the prompt page's form carries the posted fields; POST /sudo answers
    307 to the action, so the browser posts the very same body there."""
    workspace, users, key = owner_ws
    login(users["owner"])
    password_entered(minutes_ago=11)
    target = path(workspace, users, key)
    before = state()
    prompt = fresh(client).post(target, data=data(users))
    page = HiddenFields(prompt.get_data(as_text=True))
    assert "/sudo" in page.actions
    posted = [(k, v) for k, values in data(users).items()
              for v in (values if isinstance(values, list) else [values])]
    assert [f for f in page.fields if f[0] not in ("sudo_target", "csrf_token")] == posted
    assert ("sudo_target", target) in page.fields

    replay = dict_of(page.fields)
    replay["sudo_password"] = PASSWORD
    confirmed = fresh(client).post("/sudo", data=replay)
    assert (confirmed.status_code, confirmed.headers["Location"]) == (307, target)
    done = fresh(client).post(target, data=replay)  # what the browser does with the 307
    assert done.status_code == DONE_STATUS[name] and state() != before


def dict_of(pairs):
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def test_under_htmx_the_dialog_confirms_and_the_request_goes_through_after(client, login,
                                                                             owner_ws):
    workspace, users, _ = owner_ws
    login(users["manager"])
    password_entered(minutes_ago=30)
    data = {"name": "Make.com", "abilities": ["read"], "key_type": "api"}
    assert fresh(client).post(keys_url(workspace), data=data, headers=HX).status_code == 401
    confirmed = fresh(client).post("/sudo", data={"sudo_password": PASSWORD}, headers=HX)
    assert (confirmed.status_code, confirmed.headers["HX-Trigger"]) == (204, "sudoConfirmed")
    # app.js now re-issues the stopped request from its element:
    created = fresh(client).post(keys_url(workspace), data=data, headers=HX)
    assert created.status_code == 200 and "Your new API key" in created.get_data(as_text=True)


def test_a_wrong_password_is_refused_inline_and_sudo_stays_off(client, login, owner_ws):
    workspace, users, _ = owner_ws
    login(users["manager"])
    password_entered(minutes_ago=30)
    for headers in ({}, HX):
        response = fresh(client).post("/sudo", headers=headers, data={
            "sudo_password": "wrong password", "name": "Kept", "sudo_target": keys_url(workspace)})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "That password is not correct." in html
        if not headers:
            assert ("name", "Kept") in HiddenFields(html).fields  # still nothing lost
    before = state()
    response = fresh(client).post(keys_url(workspace), data={"name": "X", "abilities": ["read"],
                                                             "key_type": "api"})
    assert response.status_code == 401 and state() == before


def test_within_sudo_minutes_no_prompt(client, login, owner_ws):
    workspace, users, _ = owner_ws
    login(users["manager"])
    password_entered(minutes_ago=9)
    response = fresh(client).post(keys_url(workspace), data={
        "name": "Make.com", "abilities": ["read"], "key_type": "api"}, follow_redirects=True)
    assert response.status_code == 200 and "Your new API key" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"SUDO_MINUTES": 2}])
def test_sudo_minutes_come_from_the_config(client, login, owner_ws):
    workspace, users, _ = owner_ws
    login(users["manager"])
    password_entered(minutes_ago=3)
    response = fresh(client).post(keys_url(workspace), data={
        "name": "Make.com", "abilities": ["read"], "key_type": "api"})
    assert response.status_code == 401


@pytest.mark.parametrize("path, data, status", [
    (lambda ws, u, k: keys_url(ws, f"/{k.id}"),  # rename only: abilities unchanged
     lambda u: {"name": "Renamed", "abilities": ["read", "write"], "active": "y"}, 302),
    (lambda ws, u, k: keys_url(ws, f"/{k.id}/revoke"), lambda u: {}, 302),
    (lambda ws, u, k: members_url(ws, "/invitations"),
     lambda u: {"email": "new-member@example.com", "role": "member"}, 303),  # to its link, once
    (lambda ws, u, k: members_url(ws, f"/{u['member'].id}/role"), lambda u: {"role": "manager"},
     302),
], ids=["rename key", "revoke key", "invite a member", "promote to manager"])
def test_actions_that_hand_out_no_power_never_ask(client, login, owner_ws, path, data, status):
    workspace, users, key = owner_ws
    login(users["owner"])
    password_entered(minutes_ago=60)
    response = fresh(client).post(path(workspace, users, key), data=data(users))
    assert response.status_code == status and "X-Sudo-Required" not in response.headers


def test_lower_roles_get_403_not_a_password_prompt(client, login, owner_ws):
    workspace, users, key = owner_ws
    login(users["member"])
    password_entered(minutes_ago=60)
    assert fresh(client).post(keys_url(workspace, f"/{key.id}/delete")).status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_the_replay_never_leaves_the_site(client, login, owner_ws, target):
    _, users, _ = owner_ws
    login(users["manager"])
    response = fresh(client).post("/sudo", data={"sudo_password": PASSWORD, "sudo_target": target})
    assert (response.status_code, response.headers["Location"]) == (302, "/home")


class TestWrongPasswordsCountAgainstTheLoginLimit:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_RATE_LIMIT": "3 per minute"}

    def test_after_the_limit_even_the_right_password_is_refused(self, app, client, login,
                                                                  owner_ws):
        _, users, _ = owner_ws
        login(users["manager"])
        password_entered(minutes_ago=30)
        for _ in range(3):
            assert fresh(client).post("/sudo", data={"sudo_password": "guess"}).status_code == 422
        refused = fresh(client).post("/sudo", data={"sudo_password": PASSWORD})
        assert refused.status_code == 429
        assert "Too many attempts" in refused.get_data(as_text=True)
        # ...and the account's log-in is throttled by the same failures, from another address.
        elsewhere = app.test_client()
        response = elsewhere.post("/login", data={"email": users["manager"].email,
                                                  "password": "guess"},
                                  environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert response.status_code == 429


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_prompt_needs_the_csrf_token(self, client, login, owner_ws):
        _, users, _ = owner_ws
        login(users["manager"])
        password_entered(minutes_ago=30)
        assert fresh(client).post("/sudo", data={"sudo_password": PASSWORD}).status_code == 400
        db.session.rollback()
        assert utcnow() - db.session.scalar(select(UserSession.password_at)) > timedelta(minutes=29)

    def test_the_no_js_replay_carries_a_valid_csrf_token(self, client, login, owner_ws):
        workspace, users, _ = owner_ws
        login(users["manager"])
        password_entered(minutes_ago=30)
        page = fresh(client).get(keys_url(workspace, "/new")).get_data(as_text=True)
        token = dict(HiddenFields(page).fields)["csrf_token"]
        data = {"csrf_token": token, "name": "Via replay", "abilities": ["read"],
                "key_type": "api"}
        prompt = HiddenFields(fresh(client).post(keys_url(workspace), data=data).get_data(
            as_text=True))
        replay = dict_of(prompt.fields)
        replay["sudo_password"] = PASSWORD
        assert fresh(client).post("/sudo", data=replay).status_code == 307
        done = fresh(client).post(keys_url(workspace), data=replay)
        assert done.status_code == 303  # to the page that shows the key once
        assert db.session.scalar(select(ApiKey).where(ApiKey.name == "Via replay")) is not None
