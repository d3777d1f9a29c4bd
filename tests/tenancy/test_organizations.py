"""Organizations page, new organization / workspace, the switchers and workspace settings."""
import re

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Organization, OrgMembership, Role, User, Workspace
from sureapp.tenancy import services


def test_new_organization_makes_the_creator_owner_and_opens_its_workspace(client, login, make_user):
    user = make_user(email="alice@example.com")
    login(user)
    response = client.post("/organizations", data={
        "name": "  Acme  ", "description": "Our team", "workspace_name": "Sales"})
    assert response.status_code == 302
    org = db.session.scalar(select(Organization))
    workspace = db.session.scalar(select(Workspace))
    assert (org.name, org.description, workspace.name, workspace.org_id) == ("Acme", "Our team", "Sales", org.id)
    assert response.headers["Location"].endswith(f"/w/{workspace.id}/")
    assert services.org_role(user.id, org.id) == Role.OWNER
    db.session.refresh(user)
    assert user.last_workspace_id == workspace.id


def test_new_organization_without_a_workspace_asks_for_one(client, login, make_user):
    login(make_user())
    response = client.post("/organizations", data={"name": "Acme"})
    org = db.session.scalar(select(Organization))
    assert response.headers["Location"].endswith(f"/organizations/{org.id}/workspaces/new")
    assert db.session.scalar(select(Workspace)) is None


@pytest.mark.parametrize("data, field_error", [
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "x" * 256}, "Must be at most 255 characters."),
    ({"name": "Acme", "description": "d" * 2001}, "Must be at most 2000 characters."),
    ({"name": "Acme", "workspace_name": "w" * 256}, "Must be at most 255 characters."),
    ({"name": "Ac\x00me"}, "Use visible characters only"),  # NUL would break PostgreSQL
    ({"name": "Acme", "description": "a\x00b"}, "Use visible characters only"),
    ({"name": "Acme", "workspace_name": "W\x07"}, "Use visible characters only"),
])
def test_new_organization_bad_input(data, field_error, client, login, make_user, snapshot):
    login(make_user())
    before = snapshot()
    response = client.post("/organizations", data=data)
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)
    assert 'class="field has-error"' in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_repeated_field_takes_its_first_value(client, login, make_user):
    """name=a&name=b is not a crash: like every form field, the first value counts."""
    login(make_user())
    response = client.post("/organizations", data={"name": ["a", "b"]})
    assert response.status_code == 302
    assert db.session.scalars(select(Organization.name)).all() == ["a"]


@pytest.mark.parametrize("data, field_error", [
    ({"name": "", "timezone": "UTC"}, "This field is required."),
    ({"name": "x" * 256, "timezone": "UTC"}, "Must be at most 255 characters."),
    ({"name": "Ops", "timezone": "Mars/Olympus"}, "Choose a timezone from the list"),
    ({"name": "Ops", "timezone": ""}, "This field is required."),
    ({"name": "Ops", "timezone": "<script>"}, "Choose a timezone from the list"),
    ({"name": "Ops", "timezone": "UTC\x00"}, "Choose a timezone from the list"),
    ({"name": "O\x00ps", "timezone": "UTC"}, "Use visible characters only"),
])
def test_new_workspace_bad_input(data, field_error, workspace_with_roles, client, login, snapshot):
    workspace, users = workspace_with_roles
    login(users["admin"])
    before = snapshot()
    response = client.post(f"/organizations/{workspace.org_id}/workspaces/new", data=data)
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)
    assert snapshot() == before


def test_new_workspace_with_a_timezone(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["admin"])
    page = client.get(f"/organizations/{workspace.org_id}/workspaces/new").get_data(as_text=True)
    assert '<datalist id="timezone-options">' in page and 'value="Asia/Tokyo"' in page
    response = client.post(f"/organizations/{workspace.org_id}/workspaces/new",
                           data={"name": "Tokyo", "timezone": "Asia/Tokyo"})
    created = db.session.scalar(select(Workspace).where(Workspace.name == "Tokyo"))
    assert created.timezone == "Asia/Tokyo" and created.org_id == workspace.org_id
    assert response.headers["Location"].endswith(f"/w/{created.id}/")


def test_sending_a_new_organization_or_workspace_form_again_creates_no_second(
        workspace_with_roles, client, login, make_user):
    workspace, users = workspace_with_roles
    login(users["admin"])
    token = re.search(r'name="once_token" value="([^"]+)"', client.get(
        f"/organizations/{workspace.org_id}/workspaces/new").get_data(as_text=True)).group(1)
    data = {"name": "Tokyo", "timezone": "Asia/Tokyo", "once_token": token}
    first = client.post(f"/organizations/{workspace.org_id}/workspaces/new", data=data)
    again = client.post(f"/organizations/{workspace.org_id}/workspaces/new", data=data)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert "This form was already sent" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Workspace.name == "Tokyo")) == 1

    token = re.search(r'name="once_token" value="([^"]+)"',
                      client.get("/organizations").get_data(as_text=True)).group(1)
    data = {"name": "Globex", "workspace_name": "Main", "once_token": token}
    first = client.post("/organizations", data=data)
    again = client.post("/organizations", data=data)  # Back + resubmit, a double click
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).where(Organization.name == "Globex")) == 1


def test_switchers_remember_the_choice(workspace_with_roles, client, login, make_workspace, make_user,
                                       make_org):
    workspace, users = workspace_with_roles
    owner = users["owner"]
    second = make_workspace(workspace.organization, name="Second")
    _, elsewhere = make_org(owner, name="Beta Org", workspace_name="Beta main")
    login(owner)
    page = client.get(f"/w/{second.id}/").get_data(as_text=True)
    assert 'id="org-switcher"' in page and 'id="workspace-switcher"' in page
    assert f'<option value="{second.id}" selected>' in page
    assert client.get("/home").headers["Location"].endswith(f"/w/{second.id}/")
    # Switch org: lands in that org's workspace; switching back lands in the remembered one.
    response = client.post("/switch", data={"org_id": str(elsewhere.org_id)})
    assert response.headers["Location"].endswith(f"/w/{elsewhere.id}/")
    client.get(response.headers["Location"])
    assert client.get("/home").headers["Location"].endswith(f"/w/{elsewhere.id}/")
    response = client.post("/switch", data={"workspace_id": str(workspace.id)})
    assert response.headers["Location"].endswith(f"/w/{workspace.id}/")


@pytest.mark.parametrize("data", [{}, {"workspace_id": ""}, {"workspace_id": "nope"}, {"org_id": "nope"}])
def test_switch_with_junk_is_404(data, workspace_with_roles, client, login):
    _, users = workspace_with_roles
    login(users["member"])
    assert client.post("/switch", data=data).status_code == 404


def test_organizations_page_lists_orgs_and_offers_new_workspace_to_admins(workspace_with_roles,
                                                                          client, login):
    workspace, users = workspace_with_roles
    login(users["admin"])
    page = client.get("/organizations").get_data(as_text=True)
    assert "New Organization" in page and "Acme" in page
    assert f"/organizations/{workspace.org_id}/workspaces/new" in page
    login(users["manager"])
    page = client.get("/organizations").get_data(as_text=True)
    assert f"/organizations/{workspace.org_id}/workspaces/new" not in page


# ---- workspace settings → General -------------------------------------------------------------

def test_admin_saves_every_setting(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["admin"])
    response = client.post(f"/w/{workspace.id}/settings/", data={
        "name": "Renamed", "timezone": "America/New_York", "contact_allocation": "500"})
    assert response.status_code == 302
    db.session.refresh(workspace)
    assert (workspace.name, workspace.timezone, workspace.contact_allocation) == (
        "Renamed", "America/New_York", 500)
    client.post(f"/w/{workspace.id}/settings/", data={
        "name": "Renamed", "timezone": "UTC", "contact_allocation": ""})
    db.session.refresh(workspace)
    assert workspace.contact_allocation is None  # empty = unlimited


def test_manager_edits_name_and_timezone_but_never_the_allocation(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    workspace.contact_allocation = 10
    db.session.commit()
    login(users["manager"])
    page = client.get(f"/w/{workspace.id}/settings/").get_data(as_text=True)
    assert 'name="contact_allocation"' not in page and "Set by Org Admins" in page
    assert client.post(f"/w/{workspace.id}/settings/", data={
        "name": "Mine", "timezone": "Europe/Paris"}).status_code == 302
    db.session.refresh(workspace)
    assert (workspace.name, workspace.timezone, workspace.contact_allocation) == ("Mine", "Europe/Paris", 10)


def test_member_sees_settings_read_only(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["member"])
    page = client.get(f"/w/{workspace.id}/settings/").get_data(as_text=True)
    assert "Save changes" not in page and "readonly" in page
    assert "/settings/members/" not in page  # the Members entry is Manager+


@pytest.mark.parametrize("data, field_error", [
    ({"name": "", "timezone": "UTC"}, "This field is required."),
    ({"name": "n" * 256, "timezone": "UTC"}, "Must be at most 255 characters."),
    ({"name": "Ma\x00in", "timezone": "UTC"}, "Use visible characters only"),
    ({"name": "Main", "timezone": "Europe/Atlantis"}, "Choose a timezone from the list"),
    ({"name": "Main", "timezone": "UTC", "contact_allocation": "many"}, "Not a valid integer value."),
    ({"name": "Main", "timezone": "UTC", "contact_allocation": "1.5"}, "Not a valid integer value."),
    ({"name": "Main", "timezone": "UTC", "contact_allocation": "-1"}, "Must be between 0 and"),
    ({"name": "Main", "timezone": "UTC", "contact_allocation": "99999999999999999999"},
     "Must be between 0 and"),
])
def test_settings_bad_input(data, field_error, workspace_with_roles, client, login, snapshot):
    workspace, users = workspace_with_roles
    login(users["owner"])
    before = snapshot()
    response = client.post(f"/w/{workspace.id}/settings/", data=data)
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)
    assert snapshot() == before


def test_member_leaves_and_loses_access(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    member = users["member"]
    login(member)
    assert client.post(f"/w/{workspace.id}/settings/leave").status_code == 302
    assert services.workspace_role(member.id, workspace) is None
    # No workspace left in the org: the org membership goes too.
    assert db.session.scalar(select(OrgMembership).where(OrgMembership.user_id == member.id)) is None
    assert client.get(f"/w/{workspace.id}/").status_code == 404


def test_org_admin_leaving_leaves_the_organization(workspace_with_roles, client, login, make_workspace):
    workspace, users = workspace_with_roles
    sibling = make_workspace(workspace.organization)
    login(users["admin"])
    assert client.post(f"/w/{workspace.id}/settings/leave").status_code == 302
    assert services.workspace_role(users["admin"].id, sibling) is None


def test_transfer_needs_confirmation(workspace_with_roles, client, login, snapshot):
    workspace, users = workspace_with_roles
    login(users["owner"])
    before = snapshot()
    response = client.post(f"/w/{workspace.id}/settings/members/transfer-ownership",
                           data={"user_id": str(users["member"].id)})
    assert response.status_code == 422
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    assert snapshot() == before


def test_demoting_an_org_admin_to_a_workspace_role(workspace_with_roles, client, login, make_workspace):
    workspace, users = workspace_with_roles
    sibling = make_workspace(workspace.organization)
    login(users["owner"])
    client.post(f"/w/{workspace.id}/settings/members/{users['admin'].id}/role", data={"role": "manager"})
    assert services.workspace_role(users["admin"].id, workspace) == Role.MANAGER
    assert services.workspace_role(users["admin"].id, sibling) is None


def test_members_page_shows_everyone_with_access(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["manager"])
    page = client.get(f"/w/{workspace.id}/settings/members/").get_data(as_text=True)
    for user in users.values():
        assert user.email in page
    # A manager gets no controls for the owner or the org admin, but does for the member.
    assert f"/members/{users['member'].id}/remove" in page
    assert f"/members/{users['admin'].id}/remove" not in page
    assert f"/members/{users['owner'].id}/remove" not in page
    assert 'value="admin"' not in page  # cannot grant above their own role


def test_member_rows_show_their_own_role_after_an_invite_post(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["owner"])
    page = client.post(f"/w/{workspace.id}/settings/members/invitations",
                       data={"email": "new@example.com", "role": "manager"},
                       follow_redirects=True).get_data(as_text=True)  # to its one-time page
    row = page.split(f'id="member-{users["member"].id}"')[1].split("</tr>")[0]
    assert '<option selected value="member">' in row
