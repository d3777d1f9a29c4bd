"""Lists and Tags pages: create, rename, delete with member counts; roles and other workspaces."""
import re

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Contact, ContactList, Tag


@pytest.mark.parametrize("kind", ["lists", "tags"])
@pytest.mark.parametrize("role", ["member", "manager", "admin", "owner"])
def test_index_shows_member_counts_linking_to_the_filtered_table(ws, as_role, make_contact,
                                                                  make_list, make_tag, kind, role):
    workspace, _ = ws
    people = [make_contact(workspace) for _ in range(3)]
    group = make_list(workspace, members=people) if kind == "lists" else make_tag(workspace, members=people)
    body = as_role(role).get(f"/w/{workspace.id}/{kind}").get_data(as_text=True)
    param = "list" if kind == "lists" else "tag"
    assert f"/w/{workspace.id}/contacts?{param}={group.id}" in body
    assert ">3</a>" in body
    assert ("Delete " + group.name in body) == (role != "member")


def test_create_list_and_tag_with_color(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    r = client.post(f"/w/{workspace.id}/lists/new", data={"name": " Newsletter ", "description": "Monthly"})
    assert r.status_code == 303
    r = client.post(f"/w/{workspace.id}/tags/new", data={"name": "Big Fish", "color": "#2563EB"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].endswith("/tags")
    assert db.session.scalar(select(ContactList.name)) == "Newsletter"
    tag = db.session.scalar(select(Tag))
    assert (tag.name, tag.slug, tag.color) == ("Big Fish", "big-fish", "#2563eb")
    page = client.get(f"/w/{workspace.id}/tags").get_data(as_text=True)
    assert 'fill="#2563eb"' in page


@pytest.mark.parametrize("kind, data, message", [
    ("lists", {"name": ""}, "Enter a name."),
    ("lists", {"name": "x" * 256}, "255"),
    ("tags", {"name": "Hot", "color": "red"}, "Use a color like"),
    ("tags", {"name": "   ", "color": "#000000"}, "Enter a name."),
])
def test_bad_input_is_inline_and_writes_nothing(ws, as_role, kind, data, message):
    workspace, _ = ws
    r = as_role("member").post(f"/w/{workspace.id}/{kind}/new", data=data, headers={"HX-Request": "true"})
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    # Only the panel's form comes back, and it replaces itself inside the open panel.
    assert r.data.lstrip().startswith(b"<form") and b'hx-target="this"' in r.data
    assert b"<dialog" not in r.data
    model = ContactList if kind == "lists" else Tag
    assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_duplicate_names_are_inline_errors(ws, as_role, make_list, make_tag):
    workspace, _ = ws
    make_list(workspace, name="Newsletter")
    make_tag(workspace, name="VIP")
    client = as_role("member")
    r = client.post(f"/w/{workspace.id}/lists/new", data={"name": "Newsletter"})
    assert r.status_code == 422 and b"already exists" in r.data
    r = client.post(f"/w/{workspace.id}/tags/new", data={"name": "vip", "color": "#000000"})
    assert r.status_code == 422 and b"already exists" in r.data
    assert db.session.scalar(select(func.count()).select_from(ContactList)) == 1


@pytest.mark.parametrize("kind, model", [("lists", ContactList), ("tags", Tag)])
def test_a_new_list_or_tag_sent_twice_says_so_instead_of_already_exists(ws, as_role, kind, model):
    workspace, _ = ws
    client = as_role("member")
    panel = client.get(f"/w/{workspace.id}/{kind}/new", headers={"HX-Request": "true"})
    token = re.search(r'name="once_token" value="([^"]+)"', panel.get_data(as_text=True)).group(1)
    data = {"name": "Partners", "color": "#2563EB", "once_token": token}
    for _ in range(2):  # a double click on the panel's button
        answer = client.post(f"/w/{workspace.id}/{kind}/new", data=data, headers={"HX-Request": "true"})
        assert answer.status_code == 204 and answer.headers["HX-Redirect"] == f"/w/{workspace.id}/{kind}"
    page = client.get(f"/w/{workspace.id}/{kind}").get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page
    assert db.session.scalar(select(func.count()).select_from(model)) == 1
    edit = client.get(f"/w/{workspace.id}/{kind}/{db.session.scalar(select(model.id))}/edit")
    assert b"once_token" not in edit.data  # a rename is safe to send twice


def test_rename_keeps_members(ws, as_role, make_contact, make_list):
    workspace, _ = ws
    lst = make_list(workspace, members=[make_contact(workspace)])
    client = as_role("member")
    assert client.get(f"/w/{workspace.id}/lists/{lst.id}/edit").status_code == 200
    r = client.post(f"/w/{workspace.id}/lists/{lst.id}/edit", data={"name": "Renamed", "description": ""})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(ContactList, lst.id).name == "Renamed" and lst.contacts.count() == 1


@pytest.mark.parametrize("kind", ["lists", "tags"])
def test_delete_confirm_states_member_count_and_keeps_contacts(ws, as_role, make_contact, make_list,
                                                              make_tag, kind):
    workspace, _ = ws
    people = [make_contact(workspace) for _ in range(2)]
    group = make_list(workspace, members=people) if kind == "lists" else make_tag(workspace, members=people)
    client = as_role("manager")
    confirm = client.get(f"/w/{workspace.id}/{kind}/{group.id}/delete", headers={"HX-Request": "true"})
    assert confirm.status_code == 200 and "It has 2 contacts. They stay in your workspace;" in confirm.get_data(as_text=True)
    assert client.post(f"/w/{workspace.id}/{kind}/{group.id}/delete").status_code == 303
    model = ContactList if kind == "lists" else Tag
    assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


@pytest.mark.parametrize("kind", ["lists", "tags"])
def test_members_cannot_delete(ws, as_role, make_list, make_tag, kind):
    workspace, _ = ws
    group = make_list(workspace) if kind == "lists" else make_tag(workspace)
    client = as_role("member")
    assert client.get(f"/w/{workspace.id}/{kind}/{group.id}/delete").status_code == 403
    assert client.post(f"/w/{workspace.id}/{kind}/{group.id}/delete").status_code == 403
    model = ContactList if kind == "lists" else Tag
    assert db.session.scalar(select(func.count()).select_from(model)) == 1


@pytest.mark.parametrize("kind", ["lists", "tags"])
def test_other_workspaces_groups_are_404_and_unchanged(ws, other_ws, as_role, make_list, make_tag, kind):
    workspace, _ = ws
    foreign = make_list(other_ws, name="Theirs") if kind == "lists" else make_tag(other_ws, name="Theirs")
    client = as_role("owner")
    base = f"/w/{workspace.id}/{kind}/{foreign.id}"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/edit", data={"name": "Hijacked", "color": "#000000"}).status_code == 404
    assert client.get(f"{base}/delete").status_code == 404
    assert client.post(f"{base}/delete").status_code == 404
    db.session.expire_all()
    model = ContactList if kind == "lists" else Tag
    assert db.session.get(model, foreign.id).name == "Theirs"
    assert b"Theirs" not in client.get(f"/w/{workspace.id}/{kind}").data
