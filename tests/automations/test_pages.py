"""The Automations pages: Manager+ only, create an automation and its steps with inline errors,
activate/pause, delete; the per-step counts; UI entry points trigger like the API's; other
workspaces' automations are 404."""
import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Automation

from .conftest import runs_of


@pytest.fixture
def ws(workspace_with_roles):
    return workspace_with_roles


@pytest.fixture
def as_role(ws, login, app):
    def client_for(role):
        return login(ws[1][role], as_client=app.test_client())
    return client_for


def create(client, workspace, **data):
    response = client.post(f"/w/{workspace.id}/automations/new",
                           data={"name": "Welcome", "trigger": "contact_created", **data})
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalar(select(Automation).order_by(Automation.created_at.desc()))


@pytest.mark.parametrize("role,status", [("member", 403), ("manager", 200), ("admin", 200),
                                         ("owner", 200)])
def test_only_managers_and_above_see_automations(ws, as_role, role, status):
    workspace, users = ws
    manager = as_role("manager")
    automation = create(manager, workspace)
    client = as_role(role)
    for path in ("", f"/{automation.id}", "/new", f"/{automation.id}/edit",
                 f"/{automation.id}/steps/new?type=wait", f"/{automation.id}/delete"):
        assert client.get(f"/w/{workspace.id}/automations{path}").status_code == status, path
    nav = client.get(f"/w/{workspace.id}/contacts").get_data(as_text=True)
    assert (f'href="/w/{workspace.id}/automations"' in nav) == (status == 200)
    posted = client.post(f"/w/{workspace.id}/automations/{automation.id}/status",
                         data={"status": "active"})
    assert posted.status_code == (403 if role == "member" else 303)


def test_build_an_automation_and_watch_its_steps_count(ws, as_role, make_tag, make_contact):
    workspace, _ = ws
    client = as_role("manager")
    vip = make_tag(workspace, "VIP")
    automation = create(client, workspace, trigger="tag_added", trigger_tag_id=str(vip.id))
    page = f"/w/{workspace.id}/automations/{automation.id}"
    for data in ({"type": "wait", "amount": "2", "unit": "days"},
                 {"type": "remove_tag", "tag_id": str(vip.id)}):
        assert client.post(f"{page}/steps/new", data=data).status_code == 303
    assert client.post(f"{page}/status", data={"status": "active"}).status_code == 303
    contact = make_contact(workspace)
    # A tag added on the contact's page (a UI entry point) enrols the contact.
    assert client.post(f"/w/{workspace.id}/contacts/{contact.id}/tags",
                       data={"tag-target_id": str(vip.id)}).status_code == 303
    assert [r.contact_id for r in runs_of(automation.id)] == [contact.id]
    body = client.get(page).get_data(as_text=True)
    assert "A tag is added to a contact: VIP" in body
    assert "1. Wait 2 days" in body and "2. Remove a tag: VIP" in body
    assert body.count("1 here now") == 1 and "0 here now" in body
    assert contact.email in body
    listing = client.get(f"/w/{workspace.id}/automations").get_data(as_text=True)
    assert automation.name in listing and "Active" in listing


def test_a_contact_created_on_the_contacts_page_is_enrolled(ws, as_role):
    workspace, _ = ws
    client = as_role("manager")
    automation = create(client, workspace)
    client.post(f"/w/{workspace.id}/automations/{automation.id}/status", data={"status": "active"})
    response = client.post(f"/w/{workspace.id}/contacts/new", data={"email": "ui@example.com"})
    assert response.status_code in (302, 303)
    assert len(runs_of(automation.id)) == 1


@pytest.mark.parametrize("data,message", [
    ({"type": "wait", "amount": "0", "unit": "days"}, "greater than or equal to 1"),
    ({"type": "wait", "amount": "many", "unit": "days"}, "Not a valid integer value."),
    ({"type": "wait", "amount": "400", "unit": "days"}, "A wait may last at most 366 days (366 days)."),
    ({"type": "add_tag", "tag_id": "00000000-0000-4000-8000-000000000000"},
     "Step 1: no such tag in this workspace."),
], ids=["zero", "not-a-number", "too-long", "unknown-tag"])
def test_a_bad_step_is_an_inline_error_and_changes_nothing(ws, as_role, data, message):
    workspace, _ = ws
    client = as_role("manager")
    automation = create(client, workspace)
    response = client.post(f"/w/{workspace.id}/automations/{automation.id}/steps/new", data=data,
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert response.data.lstrip().startswith(b"<form")
    db.session.expire_all()
    assert db.session.get(Automation, automation.id).steps == []


def test_bad_automation_fields_are_inline(ws, as_role, make_list):
    workspace, _ = ws
    client = as_role("manager")
    response = client.post(f"/w/{workspace.id}/automations/new",
                           data={"name": "", "trigger": "contact_created"})
    assert response.status_code == 422 and "at least 1 character" in response.get_data(as_text=True)
    response = client.post(f"/w/{workspace.id}/automations/new",
                           data={"name": "X", "trigger": "list_joined",
                                 "trigger_list_id": "00000000-0000-4000-8000-000000000000"})
    assert response.status_code == 422
    assert "No such list in this workspace." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Automation)) == 0


def test_edit_move_and_remove_steps(ws, as_role, make_tag):
    workspace, _ = ws
    client = as_role("manager")
    vip = make_tag(workspace, "VIP")
    automation = create(client, workspace)
    page = f"/w/{workspace.id}/automations/{automation.id}"
    client.post(f"{page}/steps/new", data={"type": "wait", "amount": "1", "unit": "hours"})
    client.post(f"{page}/steps/new", data={"type": "add_tag", "tag_id": str(vip.id)})
    assert client.post(f"{page}/steps/0/edit", data={"amount": "3", "unit": "days"}).status_code == 303
    assert client.post(f"{page}/steps/1/move", data={"direction": "up"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Automation, automation.id).steps == [
        {"type": "add_tag", "tag_id": str(vip.id)}, {"type": "wait", "amount": 3, "unit": "days"}]
    confirm = client.get(f"{page}/steps/0/delete").get_data(as_text=True)
    assert "Nobody is at this step." in confirm
    assert client.post(f"{page}/steps/0/delete").status_code == 303
    assert client.get(f"{page}/steps/5/edit").status_code == 404
    db.session.expire_all()
    assert [s["type"] for s in db.session.get(Automation, automation.id).steps] == ["wait"]


def test_pause_and_delete(ws, as_role):
    workspace, _ = ws
    client = as_role("manager")
    automation = create(client, workspace)
    page = f"/w/{workspace.id}/automations/{automation.id}"
    client.post(f"{page}/status", data={"status": "active"})
    client.post(f"/w/{workspace.id}/contacts/new", data={"email": "p@example.com"})
    response = client.post(f"{page}/status", data={"status": "paused"}, follow_redirects=True)
    assert "paused: nobody new is enrolled" in response.get_data(as_text=True)
    assert client.post(f"{page}/status", data={"status": "sometimes"}).status_code == 400
    assert ("It still has 1 contact in progress: they get none of its remaining steps."
            in client.get(f"{page}/delete").get_data(as_text=True))
    assert client.post(f"{page}/delete").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Automation)) == 0


def test_another_workspaces_automation_is_404(ws, as_role, make_user, make_org):
    workspace, _ = ws
    stranger = make_user(email="stranger@example.com")
    _, theirs = make_org(stranger, name="Other", workspace_name="B")
    from sureapp.automations import services
    from sureapp.automations.schemas import AutomationCreate
    their = services.create_automation(theirs, AutomationCreate(name="Theirs",
                                                                trigger="contact_created"))
    db.session.commit()
    client = as_role("owner")
    for path in ("", "/edit", "/delete", "/steps/new?type=wait"):
        assert client.get(f"/w/{workspace.id}/automations/{their.id}{path}").status_code == 404
    assert client.post(f"/w/{workspace.id}/automations/{their.id}/status",
                       data={"status": "active"}).status_code == 404
    assert client.post(f"/w/{workspace.id}/automations/{their.id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(Automation, their.id).status == "paused"


def test_steps_around_a_deleted_tag_can_still_be_changed(ws, as_role, make_tag):
    """A step whose tag was deleted since is shown as such and not checked again: the other
    steps can still be moved, added and removed (its runs fail at it, visibly)."""
    from sureapp.contacts import tags as tag_services

    workspace, _ = ws
    client = as_role("manager")
    vip = make_tag(workspace, "VIP")
    automation = create(client, workspace)
    page = f"/w/{workspace.id}/automations/{automation.id}"
    client.post(f"{page}/steps/new", data={"type": "add_tag", "tag_id": str(vip.id)})
    client.post(f"{page}/steps/new", data={"type": "wait", "amount": "1", "unit": "days"})
    tag_services.delete_tag(workspace, vip.id)
    db.session.commit()
    assert client.post(f"{page}/steps/1/move", data={"direction": "up"}).status_code == 303
    assert client.post(f"{page}/steps/new", data={"type": "wait", "amount": "2",
                                                  "unit": "days"}).status_code == 303
    assert "2. Add a tag: (deleted tag)" in client.get(page).get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Automation, automation.id).steps) == 3
