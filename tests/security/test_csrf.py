"""Every state-changing UI route refuses a request without a CSRF token (forms and htmx alike),
anonymous ones (log in, sign up) too, and a refused request writes nothing; the token from the
page, as a form field or htmx's header, passes.

The routes are read from the app's url_map, so a route added tomorrow is covered tomorrow.
"""
import re
import uuid

import pytest
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from sureapp.extensions import db
from sureapp.models import Organization
from tests.conftest import PASSWORD

from .conftest import sqlite_only

backend = sqlite_only()  # nothing here depends on the database engine

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Authenticated by API keys, not cookies: CSRF does not apply there. Nor to the contacts'
# signed-link pages (subscriptions/): no session, the signed token in the URL is the authority
# (tests/subscriptions: forged and foreign tokens change nothing).
KEY_AUTHENTICATED_PREFIXES = ("/api/", "/mcp", "/unsubscribe/", "/preferences/", "/confirm/")
# OAuth's machine endpoints read no cookie (a client authenticates itself, or is public and
# proves PKCE): CSRF does not apply. The consent form's POST (/oauth/authorize) is checked.
COOKIELESS_PATHS = ("/oauth/register", "/oauth/token", "/oauth/revoke")


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def state_changing_routes(app, known: dict | None = None):
    """(method, url) for every POST/PUT/PATCH/DELETE rule outside the key-authenticated surfaces.

    `known` fills URL arguments by name (the real workspace id, so a view that checks CSRF
    itself after loading the workspace is reached too); any other id is random."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith(KEY_AUTHENTICATED_PREFIXES) or rule.endpoint == "static" \
                    or rule.rule in COOKIELESS_PATHS:
                continue
            for method in sorted(rule.methods & STATE_CHANGING):
                routes.append((method, _build(rule, known or {})))
    return routes


def _build(rule, known: dict) -> str:
    from flask import url_for

    for filler in (str(uuid.uuid4()), 1, "x"):
        values = {arg: known.get(arg, filler) for arg in rule.arguments}
        try:
            return url_for(rule.endpoint, **values)
        except (BuildError, ValueError, TypeError):
            continue
    raise AssertionError(f"cannot build a URL for {rule}")


def csrf_token_from(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def row_counts() -> dict[str, int]:
    """Rows per table: a refused request must leave every one as it was."""
    db.session.expire_all()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_there_are_state_changing_routes_to_check(app):
    routes = state_changing_routes(app)
    assert ("POST", "/login") in routes and ("POST", "/logout") in routes


def test_every_state_changing_route_rejects_a_request_without_a_token(app, client, login,
                                                                        owner_workspace):
    owner, _, workspace = owner_workspace
    login(owner)
    before = row_counts()
    accepted = []
    for method, url in state_changing_routes(app, {"workspace_id": str(workspace.id)}):
        for headers in ({}, {"HX-Request": "true"}):  # a plain form post, and htmx
            response = client.open(url, method=method, headers=headers, data={"name": "x"})
            if response.status_code != 400 or b"Please try again" not in response.data:
                accepted.append(f"{method} {url} {headers} -> {response.status_code}")
    assert not accepted, "accepted without a CSRF token:\n" + "\n".join(accepted)
    assert row_counts() == before


def test_logging_in_and_signing_up_without_a_token_are_rejected(client, make_user):
    """Login CSRF: another site must not log a visitor into an account it controls."""
    make_user(email="ann@example.com")
    before = row_counts()
    assert client.post("/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 400
    assert client.post("/signup", data={"email": "b@example.com", "password": "longenough",
                                        "confirm": "longenough"}).status_code == 400
    assert row_counts() == before
    assert client.get("/organizations").status_code == 302  # still logged out


def test_a_wrong_token_is_rejected_too(client, login, owner_workspace):
    owner, _, _ = owner_workspace
    login(owner)
    response = client.post("/logout", headers={"X-CSRFToken": "forged"},
                           data={"csrf_token": "forged"})
    assert response.status_code == 400


def test_the_header_token_htmx_sends_is_accepted(client, login, owner_workspace):
    """Control: the same request with the token from the page passes the check, so the 400s
    above are the CSRF check and not something else."""
    owner, _, workspace = owner_workspace
    login(owner)
    token = csrf_token_from(client.get(f"/w/{workspace.id}/").get_data(as_text=True))
    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def test_a_form_post_with_the_token_from_its_page_works(client, login, make_user):
    """Control for plain forms: the hidden field's token passes and the action happens."""
    login(make_user())
    token = csrf_token_from(client.get("/organizations").get_data(as_text=True))
    response = client.post("/organizations", data={"name": "Acme", "csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(Organization)).name == "Acme"


def test_the_token_is_sent_by_htmx_on_every_page(client, login, owner_workspace):
    owner, _, workspace = owner_workspace
    login(owner)
    html = client.get(f"/w/{workspace.id}/").get_data(as_text=True)
    assert re.search(r"<body[^>]*hx-headers='\{&#34;X-CSRFToken&#34;: &#34;[^&]+&#34;\}'", html) \
        or re.search(r"<body[^>]*hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html)
