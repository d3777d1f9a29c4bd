"""With CSRF protection on (as in production), every form post without a token is rejected."""
import re

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Invitation, Organization, User
from tests.conftest import PASSWORD


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_login_and_signup_without_a_token_are_rejected(client, make_user):
    make_user(email="ann@example.com")
    assert client.post("/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 400
    assert client.post("/signup", data={"email": "b@example.com", "password": "longenough",
                                        "confirm": "longenough"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_tenancy_forms_without_a_token_are_rejected(workspace_with_roles, client, login, snapshot):
    workspace, users = workspace_with_roles
    login(users["owner"])
    before = snapshot()
    posts = {
        "/organizations": {"name": "Evil"},
        f"/organizations/{workspace.org_id}/workspaces/new": {"name": "Evil", "timezone": "UTC"},
        f"/w/{workspace.id}/settings/": {"name": "Evil", "timezone": "UTC"},
        f"/w/{workspace.id}/settings/members/invitations": {"email": "e@example.com", "role": "admin"},
        f"/w/{workspace.id}/settings/members/{users['member'].id}/role": {"role": "admin"},
        f"/w/{workspace.id}/settings/members/{users['member'].id}/remove": {},
        f"/w/{workspace.id}/settings/members/transfer-ownership": {"user_id": str(users["admin"].id),
                                                                  "confirm": "y"},
        "/account/password": {"current_password": PASSWORD, "new_password": "n3w password",
                              "confirm": "n3w password"},
        "/switch": {"workspace_id": str(workspace.id)},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 400, url
    assert snapshot() == before


def test_a_form_with_its_token_works(client, login, make_user):
    login(make_user())
    token = _token(client.get("/organizations").get_data(as_text=True))
    response = client.post("/organizations", data={"name": "Acme", "csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(Organization)).name == "Acme"


def test_htmx_requests_carry_the_token_from_body(client, login, make_user):
    login(make_user())
    page = client.get("/organizations").get_data(as_text=True)
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", page)
