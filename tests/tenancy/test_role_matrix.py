"""Every role against every members / settings / organization action, allowed and forbidden, and
every action with another workspace's or organization's ids. A refusal must write nothing."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Invitation, OrgMembership, Role, Workspace
from sureapp.tenancy import services

from .conftest import tenancy_snapshot

ROLES = ["owner", "admin", "manager", "member"]


@pytest.fixture
def world(workspace_with_roles, make_user, make_org, make_workspace, add_member):
    """The actors (one per role) plus targets they act on, a sibling workspace and another org."""
    ws, users = workspace_with_roles
    t = SimpleNamespace(ws=ws, users=users)
    t.member = add_member(ws, make_user(email="t-member@example.com"), Role.MEMBER)
    t.manager = add_member(ws, make_user(email="t-manager@example.com"), Role.MANAGER)
    t.admin = add_member(ws, make_user(email="t-admin@example.com"), Role.ADMIN)
    owner_role = Role.OWNER
    t.inv_member, _ = services.invite(users["owner"], owner_role, ws, "new-member@example.com", Role.MEMBER)
    t.inv_manager, _ = services.invite(users["owner"], owner_role, ws, "new-manager@example.com", Role.MANAGER)
    t.inv_admin, _ = services.invite(users["owner"], owner_role, ws, "new-admin@example.com", Role.ADMIN)
    # A sibling workspace of the same org whose member nobody above manages directly.
    t.sibling = make_workspace(ws.organization, name="Sibling")
    t.sibling_member = add_member(t.sibling, make_user(email="sib@example.com"), Role.MEMBER)
    t.sibling_inv, _ = services.invite(users["owner"], owner_role, t.sibling, "sib-new@example.com", Role.MEMBER)
    # Another organization entirely.
    t.other_owner = make_user(email="other-owner@example.com")
    t.other_org, t.other_ws = make_org(t.other_owner, name="Other Org")
    t.other_member = add_member(t.other_ws, make_user(email="other-member@example.com"), Role.MEMBER)
    t.other_inv, _ = services.invite(t.other_owner, owner_role, t.other_ws, "x@example.com", Role.MEMBER)
    db.session.commit()
    t.tokens = {"inv_manager": t.inv_manager.token_hash, "inv_admin": t.inv_admin.token_hash}
    return t


def members_url(t, suffix=""):
    return f"/w/{t.ws.id}/settings/members/{suffix}"


def role_of(user, t):
    return services.workspace_role(user.id, db.session.get(Workspace, t.ws.id))


def invited(t, role: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.workspace_id == t.ws.id, Invitation.email == "a@example.com",
        Invitation.role == role, Invitation.revoked_at.is_(None))) == 1


def reloaded(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# name: (request, status when allowed, expected per role: True = allowed, else the refusal
# status, and the effect an allowed request must have had; None for pages that only show)
ACTIONS = {
    "view members page": (lambda c, t: c.get(members_url(t)), 200,
                          {"owner": True, "admin": True, "manager": True, "member": 403}, None),
    "view general settings": (lambda c, t: c.get(f"/w/{t.ws.id}/settings/"), 200,
                              {"owner": True, "admin": True, "manager": True, "member": True}, None),
    "rename workspace / set timezone": (
        lambda c, t: c.post(f"/w/{t.ws.id}/settings/", data={"name": "Renamed", "timezone": "Europe/Berlin"}),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: (reloaded(t.ws).name, reloaded(t.ws).timezone) == ("Renamed", "Europe/Berlin")),
    "set contact allocation": (
        lambda c, t: c.post(f"/w/{t.ws.id}/settings/", data={"name": "Main", "timezone": "UTC",
                                                             "contact_allocation": "100"}),
        302, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: reloaded(t.ws).contact_allocation == 100),
    "invite a member": (
        lambda c, t: c.post(members_url(t, "invitations"), data={"email": "a@example.com", "role": "member"}),
        303, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: invited(t, "member")),
    "invite a manager": (
        lambda c, t: c.post(members_url(t, "invitations"), data={"email": "a@example.com", "role": "manager"}),
        303, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: invited(t, "manager")),
    "invite an org admin": (
        lambda c, t: c.post(members_url(t, "invitations"), data={"email": "a@example.com", "role": "admin"}),
        303, {"owner": True, "admin": True, "manager": 422, "member": 403},
        lambda t: invited(t, "admin")),
    "invite an owner": (
        lambda c, t: c.post(members_url(t, "invitations"), data={"email": "a@example.com", "role": "owner"}),
        200, {"owner": 422, "admin": 422, "manager": 422, "member": 403}, None),
    "make a member manager": (
        lambda c, t: c.post(members_url(t, f"{t.member.id}/role"), data={"role": "manager"}),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: role_of(t.member, t) == Role.MANAGER),
    "make a manager member": (
        lambda c, t: c.post(members_url(t, f"{t.manager.id}/role"), data={"role": "member"}),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: role_of(t.manager, t) == Role.MEMBER),
    "make a member org admin": (
        lambda c, t: c.post(members_url(t, f"{t.member.id}/role"), data={"role": "admin"}),
        302, {"owner": True, "admin": True, "manager": 422, "member": 403},
        lambda t: role_of(t.member, t) == Role.ADMIN),
    "make a member owner": (
        lambda c, t: c.post(members_url(t, f"{t.member.id}/role"), data={"role": "owner"}),
        302, {"owner": 422, "admin": 422, "manager": 422, "member": 403}, None),
    "demote an org admin": (
        lambda c, t: c.post(members_url(t, f"{t.admin.id}/role"), data={"role": "manager"}),
        302, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: role_of(t.admin, t) == Role.MANAGER),
    "demote the owner": (
        lambda c, t: c.post(members_url(t, f"{t.users['owner'].id}/role"), data={"role": "member"}),
        302, {"owner": 403, "admin": 403, "manager": 403, "member": 403}, None),
    "remove a member": (
        lambda c, t: c.post(members_url(t, f"{t.member.id}/remove")),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: role_of(t.member, t) is None),
    "remove a manager": (
        lambda c, t: c.post(members_url(t, f"{t.manager.id}/remove")),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: role_of(t.manager, t) is None),
    "remove an org admin": (
        lambda c, t: c.post(members_url(t, f"{t.admin.id}/remove")),
        302, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: role_of(t.admin, t) is None),
    "remove the owner": (
        lambda c, t: c.post(members_url(t, f"{t.users['owner'].id}/remove")),
        302, {"owner": 403, "admin": 403, "manager": 403, "member": 403}, None),
    "revoke a member invitation": (
        lambda c, t: c.post(members_url(t, f"invitations/{t.inv_member.id}/revoke")),
        302, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: reloaded(t.inv_member).revoked_at is not None),
    "revoke an org admin invitation": (
        lambda c, t: c.post(members_url(t, f"invitations/{t.inv_admin.id}/revoke")),
        302, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: reloaded(t.inv_admin).revoked_at is not None),
    "resend a manager invitation": (  # a new link: the old token stops working
        lambda c, t: c.post(members_url(t, f"invitations/{t.inv_manager.id}/resend")),
        303, {"owner": True, "admin": True, "manager": True, "member": 403},
        lambda t: reloaded(t.inv_manager).token_hash != t.tokens["inv_manager"]),
    "resend an org admin invitation": (
        lambda c, t: c.post(members_url(t, f"invitations/{t.inv_admin.id}/resend")),
        303, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: reloaded(t.inv_admin).token_hash != t.tokens["inv_admin"]),
    "transfer ownership": (
        lambda c, t: c.post(members_url(t, "transfer-ownership"),
                            data={"user_id": str(t.member.id), "confirm": "y"}),
        302, {"owner": True, "admin": 403, "manager": 403, "member": 403},
        lambda t: services.org_role(t.member.id, t.ws.org_id) == Role.OWNER),
    "create a workspace in the org": (
        lambda c, t: c.post(f"/organizations/{t.ws.org_id}/workspaces/new",
                            data={"name": "New", "timezone": "UTC"}),
        302, {"owner": True, "admin": True, "manager": 403, "member": 403},
        lambda t: db.session.scalar(select(func.count()).select_from(Workspace).where(
            Workspace.org_id == t.ws.org_id, Workspace.name == "New")) == 1),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_matrix(action, role, world, client, login):
    request, ok_status, expected, effect = ACTIONS[action]
    login(world.users[role])
    before = tenancy_snapshot()
    response = request(client, world)
    outcome = expected[role]
    if outcome is True:
        assert response.status_code == ok_status, response.get_data(as_text=True)[:500]
        if effect is None:
            assert tenancy_snapshot() == before, "showing a page wrote nothing"
        else:
            assert effect(world), "the allowed action did what it says"
    else:
        assert response.status_code == outcome
        after = tenancy_snapshot()
        # Opening a workspace remembers it (users.last_workspace_id is not in the snapshot).
        assert after == before, "a refused action wrote nothing"


def test_nobody_edits_themselves(world, client, login):
    for role in ("admin", "manager"):
        user = world.users[role]
        login(user)
        before = tenancy_snapshot()
        response = client.post(members_url(world, f"{user.id}/role"), data={"role": "member"})
        assert response.status_code == 403
        assert tenancy_snapshot() == before


def test_owner_cannot_leave_or_remove_themselves(world, client, login):
    owner = world.users["owner"]
    login(owner)
    before = tenancy_snapshot()
    assert client.post(members_url(world, f"{owner.id}/remove")).status_code == 403
    response = client.post(f"/w/{world.ws.id}/settings/leave", follow_redirects=True)
    assert "Transfer ownership" in response.get_data(as_text=True)
    assert tenancy_snapshot() == before


# ---- other tenants' ids: always 404, never an action ----------------------------------------

CROSS_TENANT = {
    "members page of another org's workspace":
        lambda c, t: c.get(f"/w/{t.other_ws.id}/settings/members/"),
    "settings of another org's workspace":
        lambda c, t: c.post(f"/w/{t.other_ws.id}/settings/", data={"name": "x", "timezone": "UTC"}),
    "change role of another org's member":
        lambda c, t: c.post(members_url(t, f"{t.other_member.id}/role"), data={"role": "manager"}),
    "remove another org's member":
        lambda c, t: c.post(members_url(t, f"{t.other_member.id}/remove")),
    "remove another org's owner":
        lambda c, t: c.post(members_url(t, f"{t.other_owner.id}/remove")),
    "revoke another org's invitation":
        lambda c, t: c.post(members_url(t, f"invitations/{t.other_inv.id}/revoke")),
    "resend another org's invitation":
        lambda c, t: c.post(members_url(t, f"invitations/{t.other_inv.id}/resend")),
    "revoke a sibling workspace's invitation":
        lambda c, t: c.post(members_url(t, f"invitations/{t.sibling_inv.id}/revoke")),
    "change role of a sibling workspace's member":
        lambda c, t: c.post(members_url(t, f"{t.sibling_member.id}/role"), data={"role": "manager"}),
    "remove a sibling workspace's member":
        lambda c, t: c.post(members_url(t, f"{t.sibling_member.id}/remove")),
    "transfer ownership to another org's member (form field)":
        lambda c, t: c.post(members_url(t, "transfer-ownership"),
                            data={"user_id": str(t.other_member.id), "confirm": "y"}),
    "transfer ownership to a sibling workspace's member (form field)":
        lambda c, t: c.post(members_url(t, "transfer-ownership"),
                            data={"user_id": str(t.sibling_member.id), "confirm": "y"}),
    "transfer ownership to a malformed id (form field)":
        lambda c, t: c.post(members_url(t, "transfer-ownership"),
                            data={"user_id": "not-a-uuid", "confirm": "y"}),
    "switch to another org's workspace (form field)":
        lambda c, t: c.post("/switch", data={"workspace_id": str(t.other_ws.id)}),
    "switch to another org (form field)":
        lambda c, t: c.post("/switch", data={"org_id": str(t.other_org.id)}),
    "create a workspace in another org":
        lambda c, t: c.post(f"/organizations/{t.other_org.id}/workspaces/new",
                            data={"name": "Mine now", "timezone": "UTC"}),
    "malformed member id in the URL":
        lambda c, t: c.post(members_url(t, "not-a-uuid/remove")),
    "malformed invitation id in the URL":
        lambda c, t: c.post(members_url(t, "invitations/123/revoke")),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("attack", list(CROSS_TENANT))
def test_other_tenants_ids_are_404(attack, role, world, client, login):
    if "transfer" in attack and role != "owner":
        pytest.skip("only the owner reaches the transfer form (others get 403, see the matrix)")
    login(world.users[role])
    before = tenancy_snapshot()
    response = CROSS_TENANT[attack](client, world)
    expected = 404
    if role == "member" and attack not in {
            "members page of another org's workspace", "settings of another org's workspace",
            "switch to another org's workspace (form field)", "switch to another org (form field)",
            "create a workspace in another org"}:
        expected = 403  # a member is stopped at the door of their own members page
    assert response.status_code == expected
    assert tenancy_snapshot() == before


def test_a_manager_cannot_open_a_sibling_workspace(world, client, login):
    login(world.users["manager"])
    assert client.get(f"/w/{world.sibling.id}/settings/members/").status_code == 404
    assert client.get(f"/w/{world.sibling.id}/").status_code == 404


def test_an_org_admin_manages_every_workspace_of_the_org(world, client, login):
    login(world.users["admin"])
    response = client.post(f"/w/{world.sibling.id}/settings/members/{world.sibling_member.id}/role",
                           data={"role": "manager"})
    assert response.status_code == 302
    assert services.workspace_role(world.sibling_member.id, world.sibling) == Role.MANAGER


def test_exactly_one_owner_after_transfer(world, client, login):
    login(world.users["owner"])
    response = client.post(members_url(world, "transfer-ownership"),
                           data={"user_id": str(world.manager.id), "confirm": "y"})
    assert response.status_code == 302
    owners = db.session.query(OrgMembership).filter_by(org_id=world.ws.org_id, role="owner").all()
    assert [o.user_id for o in owners] == [world.manager.id]
    assert services.org_role(world.users["owner"].id, world.ws.org_id) == Role.ADMIN
