"""Helpers for the accounts & tenancy tests."""
import re

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import (Invitation, Organization, OrgMembership, User, Workspace,
                            WorkspaceMembership)


def tenancy_snapshot():
    """Everything the members/settings/org actions can write, to prove a refusal wrote nothing."""
    db.session.expire_all()
    rows = lambda stmt: sorted(map(str, db.session.execute(stmt).all()))  # noqa: E731
    return {
        "orgs": rows(select(Organization.id, Organization.name, Organization.description)),
        "org_memberships": rows(select(OrgMembership.org_id, OrgMembership.user_id, OrgMembership.role)),
        "workspaces": rows(select(Workspace.id, Workspace.org_id, Workspace.name, Workspace.timezone,
                                  Workspace.contact_allocation)),
        "workspace_memberships": rows(select(WorkspaceMembership.workspace_id,
                                             WorkspaceMembership.user_id, WorkspaceMembership.role)),
        "invitations": rows(select(Invitation.id, Invitation.email, Invitation.role,
                                   Invitation.token_hash, Invitation.expires_at,
                                   Invitation.revoked_at, Invitation.accepted_at)),
        "users": rows(select(User.id, User.email, User.password_hash)),
    }


@pytest.fixture
def snapshot():
    return tenancy_snapshot


def invite_link_from(html: str) -> str:
    match = re.search(r'id="invite-link" type="text" readonly value="([^"]+)"', html)
    assert match, "the invitation link is shown to the inviter"
    return match.group(1)


@pytest.fixture
def invite_via_ui(client, login):
    """Invite `email` as `role` into `workspace` through the Members page, as `actor`; returns the path."""
    def invite(actor, workspace, email, role="member"):
        login(actor)
        # Post/Redirect/Get: the link is on the page the POST redirects to (once.py).
        response = client.post(f"/w/{workspace.id}/settings/members/invitations",
                               data={"email": email, "role": role}, follow_redirects=True)
        assert response.status_code == 200, response.get_data(as_text=True)
        link = invite_link_from(response.get_data(as_text=True))
        return link.split("localhost", 1)[1]
    return invite
