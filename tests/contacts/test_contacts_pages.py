"""The contacts table, a contact's page, new contact, delete: per role and across workspaces."""
import re
import uuid

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Contact, ContactEvent

ROLES = ["member", "manager", "admin", "owner"]


def url(workspace, path=""):
    return f"/w/{workspace.id}/contacts{path}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_table_and_a_contact(ws, as_role, make_contact, role):
    workspace, _ = ws
    contact = make_contact(workspace, email="ana@example.com", first_name="Ana", company="Acme")
    client = as_role(role)
    page = client.get(url(workspace))
    assert page.status_code == 200
    assert b"ana@example.com" in page.data and b"Acme" in page.data
    detail = client.get(url(workspace, f"/{contact.id}"))
    assert detail.status_code == 200 and b"Timeline" in detail.data


def test_anonymous_is_sent_to_login(client, ws):
    workspace, _ = ws
    response = client.get(url(workspace))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_user_outside_the_workspace_gets_404(ws, other_ws, login, make_user, app, make_contact):
    workspace, _ = ws
    contact = make_contact(workspace)
    outsider = login(make_user(email="out@example.com"), as_client=app.test_client())
    assert outsider.get(url(workspace)).status_code == 404
    assert outsider.get(url(workspace, f"/{contact.id}")).status_code == 404


def test_empty_state_explains_the_three_ways_to_add_contacts(ws, as_role):
    workspace, _ = ws
    body = as_role("member").get(url(workspace)).get_data(as_text=True)
    assert "No contacts yet" in body
    assert "Add a contact" in body and "Import a CSV file" in body and "/api/v1/contacts" in body


def test_search_matches_name_email_and_company_and_htmx_gets_the_fragment(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace, email="ana@example.com", first_name="Ana", last_name="Lima")
    make_contact(workspace, email="bob@example.com", company="Globex")
    make_contact(workspace, email="zed@example.com")
    client = as_role("member")
    for query, expected in (("ana lima", "ana@example.com"), ("globex", "bob@example.com"),
                            ("ZED@", "zed@example.com")):
        body = client.get(url(workspace), query_string={"q": query}).get_data(as_text=True)
        assert expected in body
        assert sum(e in body for e in ("ana@example.com", "bob@example.com", "zed@example.com")) == 1
    fragment = client.get(url(workspace), query_string={"q": "globex"}, headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and b"bob@example.com" in fragment.data
    assert "HX-Request" in fragment.headers["Vary"]


def test_like_wildcards_in_search_are_literal(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace, email="a@example.com")
    body = as_role("member").get(url(workspace), query_string={"q": "%"}).get_data(as_text=True)
    assert "a@example.com" not in body


def test_filters_by_status_list_and_tag(ws, as_role, make_contact, make_list, make_tag):
    workspace, _ = ws
    a = make_contact(workspace, email="a@example.com", status="active")
    b = make_contact(workspace, email="b@example.com", status="bounced")
    c = make_contact(workspace, email="c@example.com")
    lst = make_list(workspace, members=[a, b])
    tag = make_tag(workspace, members=[b, c])
    client = as_role("member")

    def shown(**params):
        body = client.get(url(workspace), query_string=params).get_data(as_text=True)
        return {e for e in ("a@example.com", "b@example.com", "c@example.com") if e in body}

    assert shown(status="bounced") == {"b@example.com"}
    assert shown(list=str(lst.id)) == {"a@example.com", "b@example.com"}
    assert shown(tag=str(tag.id)) == {"b@example.com", "c@example.com"}
    assert shown(list=str(lst.id), tag=str(tag.id)) == {"b@example.com"}
    assert shown(status="nonsense") == {"a@example.com", "b@example.com", "c@example.com"}


def test_another_workspaces_list_or_tag_in_the_filter_is_404(ws, other_ws, as_role, make_list, make_tag):
    workspace, _ = ws
    foreign_list, foreign_tag = make_list(other_ws), make_tag(other_ws)
    client = as_role("owner")
    assert client.get(url(workspace), query_string={"list": foreign_list.id}).status_code == 404
    assert client.get(url(workspace), query_string={"tag": foreign_tag.id}).status_code == 404
    assert client.get(url(workspace), query_string={"list": "not-a-uuid"}).status_code == 404


def test_keyset_pages_cover_every_contact_once_in_each_sort(ws, as_role, make_contact):
    workspace, _ = ws
    emails = {make_contact(workspace, email=f"p{i:02d}@example.com", first_name=f"N{i % 7}",
                           company=f"Co{i % 3}").email for i in range(23)}
    as_role("member")
    from sureapp.contacts.query import ContactFilter, ordering, page_of_contacts

    for sort in ("created", "name", "email", "company"):
        for direction in ("asc", "desc"):
            order = ordering(sort, direction)
            seen, cursor, pages = [], None, 0
            while True:
                page = page_of_contacts(workspace, ContactFilter(), cursor, 5, order)
                seen += [c.email for c in page.items]
                pages += 1
                if not page.next_cursor or pages > 10:
                    break
                back = page_of_contacts(workspace, ContactFilter(), page.next_cursor, 5, order)
                assert back.prev_cursor  # a page after the first can go back
                cursor = page.next_cursor
            assert sorted(seen) == sorted(emails), (sort, direction)
            assert len(seen) == len(set(seen))


@pytest.mark.parametrize("cursor", [
    "!!garbage",
    # a well-formed cursor of the email sort, used on the default (created) sort
    "eyJ2IjoxLCJvIjoiZW1haWw6YXNjIiwiZCI6ImFmdGVyIiwiayI6WyJ4QGV4YW1wbGUuY29tIiwiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIl19",
    # the right sort, but a value that is not a date
    "eyJ2IjoxLCJvIjoiY3JlYXRlZDpkZXNjIiwiZCI6ImFmdGVyIiwiayI6WyJub3QgYSBkYXRlIiwieCJdfQ",
])
def test_a_cursor_the_page_cannot_use_shows_the_first_page_and_says_so(ws, as_role, make_contact,
                                                                          cursor):
    workspace, _ = ws
    make_contact(workspace, email="only@example.com")
    response = as_role("member").get(url(workspace), query_string={"cursor": cursor})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "only@example.com" in body and "page link is out of date" in body


def test_previous_page_returns_the_same_rows(ws, make_contact, app):
    workspace, _ = ws
    for i in range(12):
        make_contact(workspace, email=f"q{i:02d}@example.com")
    from sureapp.contacts.query import ContactFilter, ordering, page_of_contacts

    order = ordering("email", "asc")
    first = page_of_contacts(workspace, ContactFilter(), None, 5, order)
    second = page_of_contacts(workspace, ContactFilter(), first.next_cursor, 5, order)
    again = page_of_contacts(workspace, ContactFilter(), second.prev_cursor, 5, order)
    assert [c.email for c in again.items] == [c.email for c in first.items]
    assert again.prev_cursor is None


def test_new_contact_with_custom_fields_lists_and_tags(ws, as_role, make_list, make_tag):
    workspace, users = ws
    lst, tag = make_list(workspace), make_tag(workspace)
    response = as_role("member").post(url(workspace, "/new"), data={
        "email": "  New@Example.COM ", "first_name": "New", "status": "pending",
        "custom_fields-0-key": "plan", "custom_fields-0-value": "pro",
        "custom_fields-1-key": "", "custom_fields-1-value": "",
        "lists": [str(lst.id)], "tags": [str(tag.id)]})
    assert response.status_code == 303
    contact = db.session.scalar(select(Contact).where(Contact.workspace_id == workspace.id))
    assert contact.email == "new@example.com" and contact.status == "pending"
    assert contact.custom_fields == {"plan": "pro"}
    assert [x.id for x in contact.lists] == [lst.id] and [x.id for x in contact.tags] == [tag.id]
    sources = set(db.session.scalars(select(ContactEvent.source).where(ContactEvent.contact_id == contact.id)))
    assert sources == {"UI: member@example.com"}


@pytest.mark.parametrize("data, field, message", [
    ({"email": ""}, "email", "Enter an email address."),
    ({"email": "not-an-email"}, "email", "An email address needs one @"),
    ({"email": "x@example.com", "status": "vip"}, "status", "Not a valid choice"),
    ({"email": "x@example.com", "first_name": "x" * 300}, "first_name", "255"),
    ({"email": "x@example.com", "custom_fields-0-key": "", "custom_fields-0-value": "orphan"},
     "custom_fields-0-key", "Give this value a field name."),
    ({"email": "x@example.com", "custom_fields-0-key": "a", "custom_fields-0-value": "1",
      "custom_fields-1-key": "a", "custom_fields-1-value": "2"}, "custom_fields-1-key", "used twice"),
])
def test_new_contact_bad_input_shows_inline_errors_and_writes_nothing(ws, as_role, data, field, message):
    workspace, _ = ws
    response = as_role("member").post(url(workspace, "/new"), data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body and f'id="{field}-error"' in body or message in body
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_duplicate_email_is_an_inline_error(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace, email="dup@example.com")
    response = as_role("member").post(url(workspace, "/new"), data={"email": "DUP@example.com"})
    assert response.status_code == 422 and b"already exists" in response.data
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_a_new_contact_form_sent_twice_goes_to_the_contact_not_to_already_exists(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    token = re.search(r'name="once_token" value="([^"]+)"',
                      client.get(url(workspace, "/new")).get_data(as_text=True)).group(1)
    data = {"email": "once@example.com", "once_token": token}
    first = client.post(url(workspace, "/new"), data=data)
    again = client.post(url(workspace, "/new"), data=data)  # a double click, Back + resubmit
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page
    assert "already exists" not in page
    # A refused sending claims nothing: the same form, corrected, still creates once.
    token = re.search(r'name="once_token" value="([^"]+)"',
                      client.get(url(workspace, "/new")).get_data(as_text=True)).group(1)
    refused = client.post(url(workspace, "/new"), data={"email": "ONCE@example.com", "once_token": token})
    assert refused.status_code == 422 and b"already exists" in refused.data
    fixed = client.post(url(workspace, "/new"), data={"email": "twice@example.com", "once_token": token})
    assert fixed.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_allocation_full_is_a_clear_error(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace)
    workspace.contact_allocation = 1
    db.session.commit()
    response = as_role("member").post(url(workspace, "/new"), data={"email": "more@example.com"})
    assert response.status_code == 422 and b"allocation" in response.data
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_add_field_button_adds_a_row_without_saving(ws, as_role):
    workspace, _ = ws
    response = as_role("member").post(url(workspace, "/new"), data={
        "email": "x@example.com", "custom_fields-0-key": "a", "custom_fields-0-value": "1",
        "custom_fields-1-key": "", "custom_fields-1-value": "", "add_field": "Add another field"})
    assert response.status_code == 200
    assert b'name="custom_fields-2-key"' in response.data
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_edit_records_changed_fields_on_the_timeline(ws, as_role, make_contact):
    workspace, _ = ws
    contact = make_contact(workspace, email="e@example.com", first_name="Old",
                           custom_fields={"plan": "free", "gone": "x"})
    response = as_role("member").post(url(workspace, f"/{contact.id}"), data={
        "email": "e@example.com", "first_name": "New", "status": "active",
        "custom_fields-0-key": "plan", "custom_fields-0-value": "pro"})
    assert response.status_code == 303
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert contact.first_name == "New" and contact.custom_fields == {"plan": "pro"}
    event = db.session.scalar(select(ContactEvent).where(ContactEvent.contact_id == contact.id,
                                                         ContactEvent.action == "updated"))
    assert event.changes["first_name"] == {"from": "Old", "to": "New"}
    assert event.source == "UI: member@example.com"
    page = as_role("member").get(url(workspace, f"/{contact.id}")).get_data(as_text=True)
    assert "Updated" in page and "Old → New" in page and "UI: member@example.com" in page


def test_edit_with_bad_email_changes_nothing(ws, as_role, make_contact):
    workspace, _ = ws
    contact = make_contact(workspace, email="keep@example.com", first_name="Keep")
    response = as_role("member").post(url(workspace, f"/{contact.id}"), data={
        "email": "broken", "first_name": "Changed", "status": "active"})
    assert response.status_code == 422 and b"An email address needs one @" in response.data
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).first_name == "Keep"


def test_times_are_shown_in_the_workspace_timezone(ws, as_role, make_contact):
    workspace, _ = ws
    workspace.timezone = "Asia/Tokyo"
    db.session.commit()
    contact = make_contact(workspace)
    body = as_role("member").get(url(workspace, f"/{contact.id}")).get_data(as_text=True)
    assert "JST" in body


@pytest.mark.parametrize("role, allowed", [("member", False), ("manager", True), ("admin", True),
                                           ("owner", True)])
def test_only_manager_and_up_delete_a_contact(ws, as_role, make_contact, role, allowed):
    workspace, _ = ws
    contact = make_contact(workspace)
    client = as_role(role)
    assert client.get(url(workspace, f"/{contact.id}/delete")).status_code == (200 if allowed else 403)
    response = client.post(url(workspace, f"/{contact.id}/delete"))
    assert response.status_code == (303 if allowed else 403)
    remaining = db.session.scalar(select(func.count()).select_from(Contact))
    assert remaining == (0 if allowed else 1)
    page = client.get(url(workspace, f"/{contact.id}")) if not allowed else None
    if page is not None:
        assert b"Delete contact" not in page.data


def test_htmx_delete_answers_with_hx_redirect(ws, as_role, make_contact):
    workspace, _ = ws
    contact = make_contact(workspace)
    response = as_role("manager").post(url(workspace, f"/{contact.id}/delete"),
                                       headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/contacts")


def test_other_workspaces_contact_is_404_everywhere_and_unchanged(ws, other_ws, as_role, make_contact,
                                                                  make_list):
    workspace, _ = ws
    foreign = make_contact(other_ws, email="foreign@example.com", first_name="Foreign")
    foreign_list = make_list(other_ws)
    own_list = make_list(workspace, name="Own")
    own = make_contact(workspace)
    client = as_role("owner")
    cid = foreign.id
    assert client.get(url(workspace, f"/{cid}")).status_code == 404
    assert client.post(url(workspace, f"/{cid}"), data={"email": "x@example.com", "status": "active"}).status_code == 404
    assert client.post(url(workspace, f"/{cid}/delete")).status_code == 404
    assert client.post(url(workspace, f"/{cid}/lists"), data={"list-target_id": str(own_list.id)}).status_code == 404
    assert client.post(url(workspace, f"/{own.id}/lists"), data={"list-target_id": str(foreign_list.id)}).status_code == 404
    assert client.post(url(workspace, f"/{own.id}/lists/{foreign_list.id}/remove")).status_code == 404
    assert client.get(url(workspace, f"/{uuid.uuid4()}")).status_code == 404
    assert client.get(url(workspace, "/not-a-uuid")).status_code == 404
    db.session.expire_all()
    assert db.session.get(Contact, cid).first_name == "Foreign"
    assert own.lists == [] or db.session.get(Contact, own.id).lists == []


def test_inline_list_and_tag_add_and_remove(ws, as_role, make_contact, make_list, make_tag):
    workspace, _ = ws
    contact = make_contact(workspace)
    lst, tag = make_list(workspace), make_tag(workspace)
    client = as_role("member")
    htmx = {"HX-Request": "true"}
    r = client.post(url(workspace, f"/{contact.id}/lists"), data={"list-target_id": str(lst.id)}, headers=htmx)
    assert r.status_code == 200 and b'id="contact-memberships"' in r.data and b"Newsletter" in r.data
    r = client.post(url(workspace, f"/{contact.id}/tags"), data={"tag-target_id": str(tag.id)})
    assert r.status_code == 303  # without JS: back to the contact page
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert [x.name for x in contact.lists] == ["Newsletter"] and [x.name for x in contact.tags] == ["VIP"]
    r = client.post(url(workspace, f"/{contact.id}/tags/{tag.id}/remove"), headers=htmx)
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).tags == []
    actions = set(db.session.scalars(select(ContactEvent.action).where(ContactEvent.contact_id == contact.id)))
    assert {"list_added", "tag_added", "tag_removed"} <= actions
    assert client.post(url(workspace, f"/{contact.id}/bogus"), data={}).status_code == 404
    # Nothing chosen: without JS back to the contact with the reason, under htmx the panel (422).
    r = client.post(url(workspace, f"/{contact.id}/lists"), data={"list-target_id": ""})
    assert r.status_code == 303
    assert "Choose a list to add." in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(url(workspace, f"/{contact.id}/lists"), data={"list-target_id": ""},
                    headers=htmx)
    assert r.status_code == 422


def _pages(workspace, contact, lst, tag):
    base = f"/w/{workspace.id}"
    return [f"{base}/", f"{base}/contacts", f"{base}/contacts/new", f"{base}/contacts/{contact.id}",
            f"{base}/contacts/import", f"{base}/contacts/export.csv", f"{base}/lists",
            f"{base}/lists/new", f"{base}/lists/{lst.id}/edit", f"{base}/tags", f"{base}/tags/new",
            f"{base}/tags/{tag.id}/edit"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_opens_for_every_role_and_nav_lists_them(ws, as_role, make_contact, make_list,
                                                             make_tag, role):
    workspace, _ = ws
    contact = make_contact(workspace)
    lst, tag = make_list(workspace), make_tag(workspace)
    client = as_role(role)
    for page in _pages(workspace, contact, lst, tag):
        assert client.get(page).status_code == 200, page
    nav = client.get(f"/w/{workspace.id}/contacts").get_data(as_text=True)
    for label in ("Contacts", "Lists", "Tags"):
        assert f">{label}</a>" in nav


def test_every_page_needs_a_login_and_is_404_for_outsiders(ws, make_contact, make_list, make_tag,
                                                           client, login, make_user, app):
    workspace, _ = ws
    pages = _pages(workspace, make_contact(workspace), make_list(workspace), make_tag(workspace))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    outsider = login(make_user(email="nobody@example.com"), as_client=app.test_client())
    for page in pages:
        assert outsider.get(page).status_code == 404, page
