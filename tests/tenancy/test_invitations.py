"""Invitations: single-use, expiring, bound to the invited email, only a hash stored."""
import hashlib
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import Invitation, Role, User
from sureapp.tenancy import services
from sureapp.timeutil import utcnow

from .conftest import invite_link_from, tenancy_snapshot


@pytest.fixture
def setup(workspace_with_roles):
    workspace, users = workspace_with_roles
    return workspace, users["manager"]


def _token(path: str) -> str:
    return path.rsplit("/", 1)[1]


def _logout(client):
    with client.session_transaction() as session:
        session.clear()
    g.pop("_login_user", None)


def test_invite_shows_the_link_once_and_stores_only_its_hash(setup, client, invite_via_ui):
    workspace, manager = setup
    path = invite_via_ui(manager, workspace, "New.Person@Example.com", "manager")
    token = _token(path)
    invitation = db.session.scalar(select(Invitation))
    assert invitation.email == "new.person@example.com"
    assert invitation.role == "manager"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(tenancy_snapshot())
    assert timedelta(days=6, hours=23) < invitation.expires_at - utcnow() <= timedelta(days=7)
    page = client.get(f"/w/{workspace.id}/settings/members/").get_data(as_text=True)
    assert "new.person@example.com" in page and token not in page  # listed, link not shown again


def test_accept_as_a_new_user_joins_the_right_workspace(setup, client, invite_via_ui, make_workspace):
    workspace, manager = setup
    other = make_workspace(workspace.organization, name="Not this one")
    path = invite_via_ui(manager, workspace, "newbie@example.com", "manager")
    _logout(client)
    page = client.get(path).get_data(as_text=True)
    assert "Create account and join" in page and "newbie@example.com" in page
    response = client.post(path, data={"name": "Newbie", "password": "long enough pw",
                                       "confirm": "long enough pw"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/w/{workspace.id}/")
    user = db.session.scalar(select(User).where(User.email == "newbie@example.com"))
    assert services.workspace_role(user.id, workspace) == Role.MANAGER
    assert services.workspace_role(user.id, other) is None
    assert client.get(f"/w/{workspace.id}/").status_code == 200  # logged in as the new user
    invitation = db.session.scalar(select(Invitation))
    assert invitation.accepted_by_id == user.id and invitation.accepted_at is not None


def test_new_user_signup_from_an_invitation_validates_and_writes_nothing(setup, client, invite_via_ui):
    workspace, manager = setup
    path = invite_via_ui(manager, workspace, "newbie@example.com")
    _logout(client)
    before = tenancy_snapshot()
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "Use 8 to 1024 characters." in response.get_data(as_text=True)
    assert tenancy_snapshot() == before


def test_accept_as_an_existing_logged_in_user(setup, client, login, make_user, invite_via_ui,
                                              make_org):
    workspace, manager = setup
    bob = make_user(email="bob@example.com")
    make_org(bob, name="Bob's own")
    path = invite_via_ui(manager, workspace, "bob@example.com", "member")
    login(bob)
    assert "Accept invitation" in client.get(path).get_data(as_text=True)
    response = client.post(path)
    assert response.status_code == 302
    assert services.workspace_role(bob.id, workspace) == Role.MEMBER
    db.session.refresh(bob)
    assert bob.last_workspace_id == workspace.id  # the switchers land in the new workspace


def test_existing_user_who_is_logged_out_is_sent_to_log_in(setup, client, make_user, invite_via_ui):
    workspace, manager = setup
    make_user(email="bob@example.com")
    path = invite_via_ui(manager, workspace, "bob@example.com")
    _logout(client)
    assert "Log in to accept" in client.get(path).get_data(as_text=True)
    before = tenancy_snapshot()
    response = client.post(path, data={"password": "attacker-chosen", "confirm": "attacker-chosen"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert tenancy_snapshot() == before


def test_invitation_is_bound_to_its_email(setup, client, login, make_user, invite_via_ui):
    workspace, manager = setup
    path = invite_via_ui(manager, workspace, "bob@example.com")
    mallory = make_user(email="mallory@example.com")
    login(mallory)
    before = tenancy_snapshot()
    response = client.post(path)
    assert response.status_code == 403
    assert "sent to bob@example.com" in response.get_data(as_text=True)
    assert tenancy_snapshot() == before
    assert services.workspace_role(mallory.id, workspace) is None


def test_an_org_admin_invitation_grants_the_org_role(workspace_with_roles, client, login, make_user,
                                                     make_workspace, invite_via_ui):
    workspace, users = workspace_with_roles
    sibling = make_workspace(workspace.organization, name="Sibling")
    bob = make_user(email="bob@example.com")
    path = invite_via_ui(users["admin"], workspace, "bob@example.com", "admin")
    login(bob)
    assert client.post(path).status_code == 302
    assert services.workspace_role(bob.id, sibling) == Role.ADMIN


def test_an_existing_member_cannot_be_invited(workspace_with_roles, client, login, snapshot):
    workspace, users = workspace_with_roles
    login(users["owner"])
    before = snapshot()
    response = client.post(f"/w/{workspace.id}/settings/members/invitations",
                           data={"email": "manager@example.com", "role": "member"})
    assert response.status_code == 422
    assert "already has access" in response.get_data(as_text=True)
    assert snapshot() == before


def test_accepting_never_lowers_a_higher_role(setup, client, login, make_user, invite_via_ui):
    workspace, manager = setup
    path = invite_via_ui(manager, workspace, "bob@example.com", "member")
    bob = make_user(email="bob@example.com")
    services.grant_role(workspace, bob, Role.MANAGER)  # promoted before opening the link
    db.session.commit()
    login(bob)
    assert client.post(path).status_code == 302
    assert services.workspace_role(bob.id, workspace) == Role.MANAGER


@pytest.mark.parametrize("state", ["expired", "revoked", "reused", "tampered", "truncated"])
def test_unusable_links_are_refused_and_write_nothing(state, setup, client, login, make_user,
                                                       invite_via_ui):
    workspace, manager = setup
    path = invite_via_ui(manager, workspace, "bob@example.com")
    bob = make_user(email="bob@example.com")
    invitation = db.session.scalar(select(Invitation))
    if state == "expired":
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    elif state == "revoked":
        assert client.post(f"/w/{workspace.id}/settings/members/invitations/{invitation.id}/revoke"
                           ).status_code == 302
    elif state == "reused":
        login(bob)
        assert client.post(path).status_code == 302
        services.remove_member(manager, Role.MANAGER, workspace, services.find_member(workspace, bob.id))
        db.session.commit()
    elif state == "tampered":
        path = path[:-1] + ("A" if path[-1] != "A" else "B")
    elif state == "truncated":
        path = path[:-5]
    login(bob)
    before = tenancy_snapshot()
    page = client.get(path)
    response = client.post(path)
    expected = 404 if state in {"tampered", "truncated"} else 410
    assert page.status_code == expected and response.status_code == expected
    assert "Invitation unavailable" in response.get_data(as_text=True)
    assert tenancy_snapshot() == before
    assert services.workspace_role(bob.id, workspace) is None


def test_resend_issues_a_new_link_and_kills_the_old_one(setup, client, login, make_user, invite_via_ui):
    workspace, manager = setup
    old_path = invite_via_ui(manager, workspace, "bob@example.com")
    invitation = db.session.scalar(select(Invitation))
    invitation.expires_at = utcnow() - timedelta(days=1)  # even an expired one can be resent
    db.session.commit()
    response = client.post(f"/w/{workspace.id}/settings/members/invitations/{invitation.id}/resend",
                           follow_redirects=True)
    assert response.status_code == 200
    new_path = invite_link_from(response.get_data(as_text=True)).split("localhost", 1)[1]
    assert new_path != old_path
    db.session.refresh(invitation)
    assert invitation.expires_at > utcnow() + timedelta(days=6)
    bob = make_user(email="bob@example.com")
    login(bob)
    assert client.get(old_path).status_code == 404
    assert client.post(new_path).status_code == 302
    assert services.workspace_role(bob.id, workspace) == Role.MEMBER


def test_a_second_pending_invitation_to_the_same_email_is_refused(setup, client, invite_via_ui):
    workspace, manager = setup
    invite_via_ui(manager, workspace, "bob@example.com")
    response = client.post(f"/w/{workspace.id}/settings/members/invitations",
                           data={"email": "BOB@example.com", "role": "member"})
    assert response.status_code == 422
    assert "already pending" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Invitation)).all()) == 1


@pytest.mark.parametrize("data, message", [
    ({"email": "", "role": "member"}, "This field is required."),
    ({"email": "not-an-email", "role": "member"}, "An email address needs one @ with a name"),
    ({"email": "a" * 250 + "@example.com", "role": "member"}, "Field cannot be longer than 255"),
    ({"email": "a@exam\x00ple.com", "role": "member"}, "The part after the @ is not a valid domain"),
    ({"email": "a@example.com", "role": "emperor"}, "Not a valid choice"),
    ({"email": "a@example.com"}, "This field is required."),
])
def test_invite_form_bad_input(data, message, setup, client, login, snapshot):
    workspace, manager = setup
    login(manager)
    before = snapshot()
    response = client.post(f"/w/{workspace.id}/settings/members/invitations", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_invitation_is_mailed_when_smtp_is_configured(setup, app, client, invite_via_ui,
                                                      smtp_server):
    workspace, manager = setup
    app.config["SMTP_URL"] = smtp_server.url()
    path = invite_via_ui(manager, workspace, "bob@example.com", "manager")
    assert smtp_server.logins == ["mailer"]
    [message] = smtp_server.to("bob@example.com")
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == f"{manager.name} invited you to {workspace.name} on sureapp"
    assert path in message.get_content()
    assert "Manager" in message.get_content()


def test_a_failing_mail_server_still_shows_the_link(setup, app, client, invite_via_ui,
                                                    smtp_server):
    workspace, manager = setup
    app.config["SMTP_URL"] = smtp_server.url()
    smtp_server.stop()  # the mail server went away: nobody listens on its port now
    path = invite_via_ui(manager, workspace, "bob@example.com")
    assert path.startswith("/invitations/")


def test_without_smtp_nothing_is_mailed(setup, client, invite_via_ui, smtp_server):
    workspace, manager = setup
    invite_via_ui(manager, workspace, "bob@example.com")
    assert smtp_server.messages == []


def test_invite_is_post_redirect_get_and_a_resend_of_the_form_invites_once(setup, client, login):
    from sureapp import once

    workspace, manager = setup
    login(manager)
    base = f"/w/{workspace.id}/settings/members"
    data = {"email": "bob@example.com", "role": "member", "once_token": once.new_form_token()}
    first = client.post(base + "/invitations", data=data)
    assert first.status_code == 303 and "/shown/" in first.headers["Location"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Invited bob@example.com as Member." in page
    assert invite_link_from(page) and "expires in 7 days" in page
    assert 'value="bob@example.com"' not in page  # the form is empty again
    # Reload: the link is not shown again and nobody is invited again.
    again = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "was shown once and is not shown again" in again and 'id="invite-link"' not in again
    second = client.post(base + "/invitations", data=data)  # the browser resends the form
    assert second.headers["Location"] == first.headers["Location"]
    assert len(db.session.scalars(select(Invitation)).all()) == 1
    # Resend alike: one new link per Resend form, however often it is sent.
    invitation = db.session.scalar(select(Invitation))
    resend = {"once_token": once.new_form_token()}
    client.post(f"{base}/invitations/{invitation.id}/resend", data=resend)
    db.session.refresh(invitation)
    token_hash = invitation.token_hash
    client.post(f"{base}/invitations/{invitation.id}/resend", data=resend)
    db.session.refresh(invitation)
    assert invitation.token_hash == token_hash
