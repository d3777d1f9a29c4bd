"""Remove someone, revoke an invitation, leave: each asks first through the one dialog pattern
(web.render_dialog + _confirm.html) — a dialog under htmx, a page of its own without
JavaScript — and showing it writes nothing. Whoever may not do the action gets no dialog."""
import re

import pytest

from sureapp.extensions import db
from sureapp.models import Role
from sureapp.tenancy import services

from .conftest import tenancy_snapshot

HX = {"HX-Request": "true"}


@pytest.fixture
def team(workspace_with_roles, make_user, add_member):
    workspace, users = workspace_with_roles
    target = add_member(workspace, make_user(email="target@example.com"), Role.MEMBER)
    invitation, _ = services.invite(users["owner"], Role.OWNER, workspace, "new@example.com",
                                    Role.MEMBER)
    db.session.commit()
    base = f"/w/{workspace.id}/settings"
    return {"users": users, "base": base,
            "remove": f"{base}/members/{target.id}/remove",
            "revoke": f"{base}/members/invitations/{invitation.id}/revoke",
            "leave": f"{base}/leave"}


def _form_actions(html: str) -> list[str]:
    """Where the page's forms post, leaving out the layout's log-out button."""
    return [a for a in re.findall(r'<form method="post" action="([^"]+)"', html) if a != "/logout"]


@pytest.mark.parametrize("action, title", [
    ("remove", "Remove target@example.com?"),
    ("revoke", "Revoke the invitation to new@example.com?"),
    ("leave", "Leave Main?"),
])
def test_the_confirm_is_a_dialog_with_htmx_and_a_page_without(client, login, team, action, title):
    login(team["users"]["manager"])
    before = tenancy_snapshot()

    dialog = client.get(team[action], headers=HX)
    html = dialog.get_data(as_text=True)
    assert dialog.status_code == 200
    assert "<dialog data-open" in html and "<html" not in html and title in html
    assert _form_actions(html) == [team[action]]
    assert "data-close-dialog" in html  # Cancel closes the dialog

    page = client.get(team[action])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<html" in html and "<dialog" not in html and title in html
    assert _form_actions(html) == [team[action]]
    assert 'class="btn" href="/w/' in html  # Cancel is a link back without JavaScript
    assert "HX-Request" in page.headers["Vary"]

    assert tenancy_snapshot() == before, "showing a confirm wrote nothing"


def test_the_members_page_opens_the_dialogs_instead_of_posting(client, login, team):
    login(team["users"]["manager"])
    html = client.get(f"{team['base']}/members/").get_data(as_text=True)
    for action in ("remove", "revoke"):
        assert f'href="{team[action]}"' in html and f'hx-get="{team[action]}"' in html
        assert f'<form method="post" action="{team[action]}"' not in html
    assert "data-confirm" not in html


def test_whoever_may_not_act_gets_no_dialog(client, login, team):
    users = team["users"]
    login(users["member"])
    before = tenancy_snapshot()
    assert client.get(team["remove"], headers=HX).status_code == 403
    assert client.get(team["revoke"], headers=HX).status_code == 403
    login(users["owner"])  # the owner transfers ownership instead of leaving
    assert client.get(team["leave"]).status_code == 403
    assert client.get(team["remove"].replace("/members/", "/members/x")).status_code == 404
    assert tenancy_snapshot() == before


def test_confirming_in_the_dialog_does_the_action(client, login, team):
    login(team["users"]["manager"])
    response = client.post(team["remove"])
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "target@example.com was removed" in html
