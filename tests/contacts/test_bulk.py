"""Bulk actions: confirm states the count, all-or-nothing, roles, other workspaces' ids, and a
confirmed form sent again never acts twice."""
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import jobs, once
from sureapp.contacts import bulk
from sureapp.extensions import db
from sureapp.models import Contact, ContactEvent, FormSubmission, Job, tag_members
from sureapp.timeutil import utcnow


def bulk_url(workspace):
    return f"/w/{workspace.id}/contacts/bulk"


@pytest.fixture
def three(ws, make_contact):
    workspace, _ = ws
    return [make_contact(workspace, email=f"b{i}@example.com", company="Acme" if i < 2 else "Other")
            for i in range(3)]


def members(table, column, group):
    return set(db.session.scalars(select(table.c.contact_id).where(column == group.id)))


def test_confirm_states_the_count_and_changes_nothing_yet(ws, as_role, three, make_tag):
    workspace, _ = ws
    tag = make_tag(workspace)
    response = as_role("member").post(bulk_url(workspace), data={
        "action": "add_tag", "tag_id": str(tag.id), "scope": "selected",
        "contact_ids": [str(three[0].id), str(three[1].id)]}, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<dialog" in body
    assert "Tag 2 contacts with “VIP”" in body
    assert members(tag_members, tag_members.c.tag_id, tag) == set()


def test_confirmed_tag_of_a_selection(ws, as_role, three, make_tag):
    workspace, _ = ws
    tag = make_tag(workspace)
    response = as_role("member").post(bulk_url(workspace), data={
        "action": "add_tag", "tag_id": str(tag.id), "scope": "selected", "confirmed": "yes",
        "contact_ids": [str(three[0].id), str(three[1].id)]})
    assert response.status_code == 303
    assert members(tag_members, tag_members.c.tag_id, tag) == {three[0].id, three[1].id}
    sources = set(db.session.scalars(select(ContactEvent.source).where(ContactEvent.action == "tag_added")))
    assert sources == {"UI: member@example.com"}


def test_all_matching_the_filter(ws, as_role, three, make_list):
    workspace, _ = ws
    lst = make_list(workspace)
    client = as_role("member")
    data = {"action": "add_to_list", "list_id": str(lst.id), "scope": "all", "q": "acme"}
    confirm = client.post(bulk_url(workspace), data=data).get_data(as_text=True)
    assert "Add 2 contacts to the list “Newsletter”" in confirm
    response = client.post(bulk_url(workspace), data={**data, "confirmed": "yes"})
    assert response.status_code == 303 and "q=acme" in response.headers["Location"]
    assert lst.contacts.count() == 2
    # Again: already members, nothing added twice, and the message says so.
    client.post(bulk_url(workspace), data={**data, "confirmed": "yes"})
    assert lst.contacts.count() == 2


def test_remove_from_list_and_remove_tag(ws, as_role, three, make_list, make_tag):
    workspace, _ = ws
    lst, tag = make_list(workspace, members=three), make_tag(workspace, members=three)
    client = as_role("member")
    ids = [str(three[0].id)]
    client.post(bulk_url(workspace), data={"action": "remove_from_list", "list_id": str(lst.id),
                                           "contact_ids": ids, "confirmed": "yes"})
    client.post(bulk_url(workspace), data={"action": "remove_tag", "tag_id": str(tag.id),
                                           "contact_ids": ids, "confirmed": "yes"})
    assert lst.contacts.count() == 2
    assert members(tag_members, tag_members.c.tag_id, tag) == {three[1].id, three[2].id}


def test_change_status_records_the_change(ws, as_role, three):
    workspace, _ = ws
    response = as_role("member").post(bulk_url(workspace), data={
        "action": "set_status", "new_status": "unsubscribed", "scope": "all", "confirmed": "yes"})
    assert response.status_code == 303
    assert set(db.session.scalars(select(Contact.status))) == {"unsubscribed"}
    event = db.session.scalar(select(ContactEvent).where(ContactEvent.action == "updated"))
    assert event.changes == {"status": {"from": "active", "to": "unsubscribed"}}


@pytest.mark.parametrize("role, allowed", [("member", False), ("manager", True), ("owner", True)])
def test_bulk_delete_needs_manager(ws, as_role, three, role, allowed):
    workspace, _ = ws
    client = as_role(role)
    page = client.get(f"/w/{workspace.id}/contacts").get_data(as_text=True)
    assert ('value="delete"' in page) == allowed
    data = {"action": "delete", "scope": "all", "confirmed": "yes"}
    response = client.post(bulk_url(workspace), data=data)
    assert response.status_code == (303 if allowed else 403)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == (0 if allowed else 3)


def test_other_workspaces_ids_are_404_and_change_nothing(ws, other_ws, as_role, three, make_contact,
                                                         make_list, make_tag):
    workspace, _ = ws
    foreign = make_contact(other_ws)
    foreign_list, foreign_tag = make_list(other_ws), make_tag(other_ws)
    own_tag = make_tag(workspace, name="Own")
    client = as_role("owner")
    cases = [
        {"action": "add_tag", "tag_id": str(own_tag.id), "contact_ids": [str(three[0].id), str(foreign.id)]},
        {"action": "add_tag", "tag_id": str(foreign_tag.id), "contact_ids": [str(three[0].id)]},
        {"action": "add_to_list", "list_id": str(foreign_list.id), "scope": "all"},
        {"action": "delete", "contact_ids": [str(foreign.id)]},
        {"action": "set_status", "new_status": "bounced", "contact_ids": ["nope"]},
    ]
    for data in cases:
        for confirmed in ("", "yes"):
            response = client.post(bulk_url(workspace), data={**data, "confirmed": confirmed})
            assert response.status_code == 404, data
    assert db.session.get(Contact, foreign.id) is not None
    assert foreign_tag.contacts.count() == 0 and own_tag.contacts.count() == 0
    assert foreign_list.contacts.count() == 0
    assert db.session.scalar(select(func.count()).where(Contact.status == "bounced")) == 0


@pytest.mark.parametrize("data, message", [
    ({"action": "add_tag", "scope": "selected", "contact_ids": []}, "Choose a tag."),
    ({"action": "add_to_list", "list_id": "", "scope": "all"}, "Choose a list."),
    ({"action": "set_status", "new_status": "vip", "scope": "all"}, "Choose a status."),
    ({"action": "set_status", "new_status": "active", "scope": "selected"}, "Select at least one contact."),
    ({"action": "explode", "scope": "all"}, "Choose an action."),
    ({"action": "set_status", "new_status": "active", "scope": "all", "q": "nobody-matches"},
     "No contacts match this filter."),
])
def test_incomplete_requests_explain_and_write_nothing(ws, as_role, three, data, message):
    workspace, _ = ws
    response = as_role("member").post(bulk_url(workspace), data={**data, "confirmed": "yes"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ContactEvent).where(
        ContactEvent.action != "created")) == 0


def test_a_failure_mid_way_rolls_everything_back(ws, as_role, make_contact, make_tag, monkeypatch):
    """More contacts than one chunk; the second chunk fails: the first chunk's tags are undone."""
    workspace, _ = ws
    monkeypatch.setattr(bulk, "CHUNK", 2)
    contacts = [make_contact(workspace, email=f"r{i}@example.com") for i in range(5)]
    tag = make_tag(workspace)
    real = bulk.tags.add_contacts_to_tag
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk.tags, "add_contacts_to_tag", flaky)
    client = as_role("member")
    try:
        response = client.post(bulk_url(workspace), data={"action": "add_tag", "tag_id": str(tag.id),
                                                          "scope": "all", "confirmed": "yes"})
        assert response.status_code == 500
    except RuntimeError:
        pass  # propagated by the test app: either way, nothing may be left applied
    db.session.rollback()
    assert calls["n"] == 2 and len(contacts) == 5
    assert members(tag_members, tag_members.c.tag_id, tag) == set()
    assert db.session.scalar(select(func.count()).select_from(ContactEvent).where(
        ContactEvent.action == "tag_added")) == 0


def test_bulk_needs_the_csrf_token_when_csrf_is_on(ws, as_role, three, app):
    workspace, _ = ws
    app.config["WTF_CSRF_ENABLED"] = True
    response = as_role("manager").post(bulk_url(workspace), data={"action": "delete", "scope": "all",
                                                                  "confirmed": "yes"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 3


def test_large_selections_run_in_the_background_all_or_nothing(ws, as_role, make_contact, make_tag,
                                                              monkeypatch):
    workspace, _ = ws
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 2)
    monkeypatch.setattr(bulk, "CHUNK", 2)
    people = [make_contact(workspace, email=f"bg{i}@example.com") for i in range(5)]
    tag = make_tag(workspace)
    client = as_role("member")
    response = client.post(bulk_url(workspace), data={"action": "add_tag", "tag_id": str(tag.id),
                                                      "scope": "all", "confirmed": "yes"})
    assert response.status_code == 303 and "/contacts/bulk/" in response.headers["Location"]
    job_id = response.headers["Location"].split("/contacts/bulk/")[1].split("?")[0]
    jobs.wait_for(job_id)
    page = client.get(response.headers["Location"], headers={"HX-Request": "true", "HX-Target": "bulk-progress"})
    assert page.status_code == 200 and "Tagged 5 contacts" in page.get_data(as_text=True)
    assert b"hx-trigger" not in page.data  # finished: no more polling
    assert members(tag_members, tag_members.c.tag_id, tag) == {p.id for p in people}
    # Someone else's job is a 404, and so is a made-up id.
    assert as_role("manager").get(response.headers["Location"]).status_code == 404
    assert client.get(f"/w/{workspace.id}/contacts/bulk/{'0' * 32}").status_code == 404

    # A failure in the background changes nothing and says so.
    real = bulk.tags.remove_contacts_from_tag
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk.tags, "remove_contacts_from_tag", flaky)
    response = client.post(bulk_url(workspace), data={"action": "remove_tag", "tag_id": str(tag.id),
                                                      "scope": "all", "confirmed": "yes"})
    job_id = response.headers["Location"].split("/contacts/bulk/")[1].split("?")[0]
    jobs.wait_for(job_id)
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was changed" in body
    db.session.expire_all()
    assert members(tag_members, tag_members.c.tag_id, tag) == {p.id for p in people}


# ---- act once: the confirm dialog's single-use token (sureapp/once.py) --------------------------

def confirm_token(client, workspace, data) -> str:
    """The once token of the confirm dialog the first (unconfirmed) post opens."""
    dialog = client.post(bulk_url(workspace), data=data).get_data(as_text=True)
    return re.search(r'name="once_token" value="([^"]+)"', dialog).group(1)


def test_a_resent_confirmed_delete_deletes_nothing_more_and_says_so(ws, as_role, three,
                                                                   make_contact):
    workspace, _ = ws
    client = as_role("manager")
    data = {"action": "delete", "scope": "all", "q": "acme"}
    token = confirm_token(client, workspace, data)
    first = client.post(bulk_url(workspace), data={**data, "confirmed": "yes", "once_token": token})
    assert first.status_code == 303 and "q=acme" in first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1

    # The browser sends the confirmed form again (Back + resubmit, a double click): it is sent
    # where the first one went, not told that nothing matches any more.
    again = client.post(bulk_url(workspace), data={**data, "confirmed": "yes", "once_token": token})
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page
    # And a contact that matches the filter meanwhile is not deleted by a resend.
    make_contact(workspace, email="new@acme.example", company="Acme")
    client.post(bulk_url(workspace), data={**data, "confirmed": "yes", "once_token": token})
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2

    # With htmx (the dialog's form) alike: a full navigation to the same page.
    hx = client.post(bulk_url(workspace), headers={"HX-Request": "true"},
                     data={**data, "confirmed": "yes", "once_token": token})
    assert hx.status_code == 204 and hx.headers["HX-Redirect"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_a_resent_background_action_goes_to_its_job_and_starts_no_second(ws, as_role, make_contact,
                                                                        make_tag, monkeypatch):
    workspace, _ = ws
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 2)
    for i in range(4):
        make_contact(workspace, email=f"job{i}@example.com")
    tag = make_tag(workspace)
    client = as_role("member")
    data = {"action": "add_tag", "tag_id": str(tag.id), "scope": "all"}
    token = confirm_token(client, workspace, data)
    first = client.post(bulk_url(workspace), data={**data, "confirmed": "yes", "once_token": token})
    assert first.status_code == 303 and "/contacts/bulk/" in first.headers["Location"]
    jobs.wait_for(first.headers["Location"].split("/contacts/bulk/")[1].split("?")[0])

    again = client.post(bulk_url(workspace), data={**data, "confirmed": "yes", "once_token": token})
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page
    assert "Tagged 4 contacts" in page


def test_a_failed_bulk_action_claims_nothing_and_another_users_token_tells_nothing(
        ws, as_role, three, make_list):
    workspace, _ = ws
    lst = make_list(workspace)
    client = as_role("member")
    data = {"action": "add_to_list", "list_id": str(lst.id), "scope": "all"}
    token = confirm_token(client, workspace, data)
    # The list is deleted before the confirmation: refused, and the token stays unclaimed.
    failing = client.post(bulk_url(workspace), data={**data, "list_id": str(uuid.uuid4()),
                                                     "confirmed": "yes", "once_token": token})
    assert failing.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0
    assert client.post(bulk_url(workspace), data={**data, "confirmed": "yes",
                                                  "once_token": token}).status_code == 303
    assert lst.contacts.count() == 3

    # Another user sending the same token (copied from the page) learns nothing of the result.
    other = as_role("manager").post(bulk_url(workspace), data={**data, "confirmed": "yes",
                                                              "once_token": token})
    assert other.status_code == 303 and other.headers["Location"] == f"/w/{workspace.id}/contacts"


def test_an_old_bulk_form_is_refused_and_changes_nothing(ws, as_role, three):
    workspace, _ = ws
    old = once.new_form_token(utcnow() - timedelta(days=2))
    response = as_role("manager").post(bulk_url(workspace), data={
        "action": "delete", "scope": "all", "confirmed": "yes", "once_token": old})
    assert response.status_code == 422
    assert "This form was opened too long ago" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 3
