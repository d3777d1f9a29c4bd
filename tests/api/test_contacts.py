"""Contacts through the API: CRUD, normalization, uniqueness, pagination, filters, bulk upsert,
the contact allocation (also under concurrent writers) and the timeline."""
import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import Contact, ContactEvent, Workspace
from sureapp.timeutil import utcnow

from .conftest import ApiClient, assert_problem


def test_create_show_replace_patch_delete(api):
    created = api.post("/contacts", json={"email": "  Ana@Example.COM ", "first_name": "Ana",
                                          "custom_fields": {"plan": "pro", "seats": 3}})
    assert created.status_code == 201
    contact = created.get_json()
    assert contact["email"] == "ana@example.com" and contact["status"] == "active"
    assert created.headers["Location"].endswith(f"/api/v1/contacts/{contact['id']}")
    assert contact["created_at"].endswith("Z") and contact["updated_at"].endswith("Z")
    path = f"/contacts/{contact['id']}"
    assert api.get(path).get_json() == contact

    patched = api.patch(path, json={"company": "Acme", "status": "pending"}).get_json()
    assert (patched["first_name"], patched["company"], patched["status"]) == ("Ana", "Acme",
                                                                              "pending")
    replaced = api.put(path, json={"email": "ana@example.com", "last_name": "Lee"}).get_json()
    assert (replaced["first_name"], replaced["last_name"], replaced["company"]) == ("", "Lee", "")
    assert replaced["custom_fields"] == {} and replaced["status"] == "active"

    assert api.delete(path).status_code == 204
    assert_problem(api.get(path), 404)
    assert_problem(api.delete(path), 404)


def test_emails_are_unique_per_workspace_case_insensitively(api, api_as, make_key,
                                                            other_workspace):
    api.post("/contacts", json={"email": "dup@example.com"})
    body = assert_problem(api.post("/contacts", json={"email": "DUP@example.com "}), 409)
    assert "already exists" in body["detail"]
    other = api.post("/contacts", json={"email": "other@example.com"}).get_json()
    assert_problem(api.patch(f"/contacts/{other['id']}", json={"email": "Dup@Example.com"}), 409)
    # Another workspace may hold the same email.
    theirs = api_as(make_key(other_workspace)[1]).post("/contacts", json={"email": "dup@example.com"})
    assert theirs.status_code == 201


def test_keyset_pagination_is_complete_and_stable(api, workspace):
    base = utcnow() - timedelta(hours=1)
    same_time = base + timedelta(minutes=5)
    for i in range(7):
        # Three share one created_at: the id breaks the tie.
        created_at = same_time if i in (2, 3, 4) else base + timedelta(minutes=i)
        db.session.add(Contact(workspace_id=workspace.id, email=f"p{i}@example.com",
                               created_at=created_at))
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        response = api.get("/contacts?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        page = response.get_json()
        seen += [c["email"] for c in page["data"]]
        pages += 1
        if pages == 1:  # a contact created meanwhile does not shift later pages
            api.post("/contacts", json={"email": "late@example.com"})
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert pages < 10
    assert len(seen) == len(set(seen)) == 7 and pages == 3
    rows = db.session.scalars(select(Contact).where(Contact.email != "late@example.com")
                              .order_by(Contact.created_at.desc(), Contact.id.desc()))
    assert seen == [c.email for c in rows]


def test_filters(api):
    vip = api.post("/lists", json={"name": "VIP"}).get_json()["id"]
    hot = api.post("/tags", json={"name": "Hot"}).get_json()["id"]
    api.post("/contacts", json={"email": "ana@example.com", "first_name": "Ana",
                                "list_ids": [vip]})
    api.post("/contacts", json={"email": "bo@example.com", "company": "Anaconda Inc",
                                "status": "unsubscribed", "tag_ids": [hot]})
    api.post("/contacts", json={"email": "cy@example.com"})

    def emails(query):
        response = api.get(f"/contacts?{query}")
        assert response.status_code == 200, response.get_json()
        return sorted(c["email"] for c in response.get_json()["data"])

    assert emails("search=ANA") == ["ana@example.com", "bo@example.com"]
    assert emails("status=unsubscribed") == ["bo@example.com"]
    assert emails(f"list_id={vip}") == ["ana@example.com"]
    assert emails(f"tag_id={hot}") == ["bo@example.com"]
    assert emails(f"search=ana&status=active&list_id={vip}") == ["ana@example.com"]
    future = (utcnow() + timedelta(days=1)).isoformat() + "Z"
    assert emails(f"created_after={future}") == []
    assert emails("created_after=2000-01-01T00:00:00%2B02:00") == [
        "ana@example.com", "bo@example.com", "cy@example.com"]
    assert_problem(api.get(f"/contacts?list_id={uuid.uuid4()}"), 404)


def test_bulk_upsert_reports_each_row_in_one_transaction(api, workspace):
    existing = api.post("/contacts", json={"email": "old@example.com", "first_name": "Old",
                                           "company": "Keep"}).get_json()
    vip = api.post("/lists", json={"name": "VIP"}).get_json()["id"]
    response = api.post("/contacts/bulk", json={"contacts": [
        {"email": "OLD@example.com", "first_name": "Updated"},
        {"email": "new@example.com", "list_ids": [vip]},
        {"email": "not-an-email"},
        {"email": "new@example.com", "first_name": "Twice"},
        {"first_name": "No email"},
        {"email": "other@example.com", "tag_ids": [str(uuid.uuid4())]},
    ]})
    assert response.status_code == 200
    report = response.get_json()
    assert report["summary"] == {"created": 1, "updated": 1, "failed": 4}
    statuses = [(r["index"], r["status"]) for r in report["results"]]
    assert statuses == [(0, "updated"), (1, "created"), (2, "failed"), (3, "failed"),
                        (4, "failed"), (5, "failed")]
    assert report["results"][0]["id"] == existing["id"]
    assert "email" in report["results"][3]["errors"] and "row 1" in report["results"][3]["errors"]["email"][0]
    assert "tag_ids" in report["results"][5]["errors"]
    updated = api.get(f"/contacts/{existing['id']}").get_json()
    assert (updated["first_name"], updated["company"]) == ("Updated", "Keep")  # only fields sent
    new = api.get(f"/contacts/{report['results'][1]['id']}").get_json()
    assert new["list_ids"] == [vip]
    assert db.session.query(Contact).count() == 2


def test_bulk_update_writes_what_patch_writes(api):
    """The bulk path (Core) and PATCH (ORM) must leave the same rows and the same timeline."""
    vip, news, hot = (api.post(path, json={"name": name}).get_json()["id"] for path, name in (
        ("/lists", "VIP"), ("/lists", "News"), ("/tags", "Hot")))
    twins = []
    for email in ("patched@example.com", "bulked@example.com"):
        twins.append(api.post("/contacts", json={"email": email, "first_name": "Old",
                                                 "custom_fields": {"a": 1},
                                                 "list_ids": [vip]}).get_json())
    change = {"first_name": "New", "custom_fields": {"a": 2, "b": "x"}, "list_ids": [news],
              "tag_ids": [hot]}
    patched = api.patch(f"/contacts/{twins[0]['id']}", json=change).get_json()
    report = api.post("/contacts/bulk", json={"contacts": [
        {"email": "BULKED@example.com", **change},
        {"email": "patched@example.com", "first_name": "New"},  # nothing changes: no entry
    ]}).get_json()
    assert [r["status"] for r in report["results"]] == ["updated", "updated"]
    bulked = api.get(f"/contacts/{twins[1]['id']}").get_json()
    same = ("first_name", "custom_fields", "list_ids", "tag_ids", "last_name", "status")
    assert {k: bulked[k] for k in same} == {k: patched[k] for k in same}
    stored = db.session.get(Contact, uuid.UUID(twins[1]["id"]))
    db.session.refresh(stored)
    assert stored.updated_at > stored.created_at

    def timeline(contact_id):
        return sorted((e.action, json.dumps(e.changes, sort_keys=True)) for e in db.session.scalars(
            select(ContactEvent).where(ContactEvent.contact_id == uuid.UUID(contact_id),
                                       ContactEvent.action != "created")))
    assert timeline(twins[1]["id"]) == timeline(twins[0]["id"])
    assert ("list_removed", json.dumps({"list": {"id": vip, "name": "VIP"}}, sort_keys=True)) \
        in timeline(twins[1]["id"])


def test_bulk_of_1000_rows_is_accepted(api):
    rows = [{"email": f"row{i}@example.com"} for i in range(1000)]
    response = api.post("/contacts/bulk", json={"contacts": rows})
    assert response.status_code == 200
    assert response.get_json()["summary"] == {"created": 1000, "updated": 0, "failed": 0}
    assert db.session.query(Contact).count() == 1000


def _set_allocation(workspace, value):
    db.session.get(Workspace, workspace.id).contact_allocation = value
    db.session.commit()


def test_allocation_is_enforced_for_single_creates(api, workspace):
    _set_allocation(workspace, 2)
    assert api.post("/contacts", json={"email": "a@example.com"}).status_code == 201
    assert api.post("/contacts", json={"email": "b@example.com"}).status_code == 201
    body = assert_problem(api.post("/contacts", json={"email": "c@example.com"}), 409)
    assert body["limit"] == 2 and "allocation is 2 contacts" in body["detail"]
    assert db.session.query(Contact).count() == 2
    # Updates are not creates.
    first = api.get("/contacts").get_json()["data"][0]["id"]
    assert api.patch(f"/contacts/{first}", json={"first_name": "Still fine"}).status_code == 200


def test_allocation_is_enforced_for_bulk_creates_all_or_nothing(api, workspace):
    _set_allocation(workspace, 3)
    api.post("/contacts", json={"email": "a@example.com"})
    body = assert_problem(api.post("/contacts/bulk", json={"contacts": [
        {"email": "a@example.com", "first_name": "update is fine"},
        {"email": "b@example.com"}, {"email": "c@example.com"}, {"email": "d@example.com"}]}), 409)
    assert body["limit"] == 3 and "adding 3 more" in body["detail"]
    assert db.session.query(Contact).count() == 1
    assert db.session.query(Contact).one().first_name == ""
    ok = api.post("/contacts/bulk", json={"contacts": [{"email": "b@example.com"},
                                                      {"email": "c@example.com"}]})
    assert ok.status_code == 200 and db.session.query(Contact).count() == 3


def test_allocation_holds_under_concurrent_creators(app, api, full_key, workspace):
    _set_allocation(workspace, 5)
    statuses, lock = [], threading.Lock()

    def create(n):
        with app.app_context():
            client = ApiClient(app.test_client(), full_key)
            for i in range(3):
                status = client.post("/contacts", json={"email": f"t{n}-{i}@example.com"}).status_code
                with lock:
                    statuses.append(status)
            db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert sorted(statuses) == [201] * 5 + [409] * 7
    db.session.expire_all()
    assert db.session.query(Contact).filter_by(workspace_id=workspace.id).count() == 5


def test_every_change_leaves_a_timeline_entry_with_the_key_name(api, make_key, workspace):
    key, plaintext = make_key(workspace, name="Zapier")
    client = ApiClient(api.client, plaintext)
    vip = client.post("/lists", json={"name": "VIP"}).get_json()["id"]
    contact = client.post("/contacts", json={"email": "t@example.com"}).get_json()
    client.patch(f"/contacts/{contact['id']}", json={"first_name": "Tim", "list_ids": [vip]})
    client.patch(f"/contacts/{contact['id']}", json={"first_name": "Tim"})  # no change, no entry
    client.delete(f"/lists/{vip}/contacts/{contact['id']}")
    client.post("/contacts/bulk", json={"contacts": [{"email": "t@example.com", "company": "X"}]})
    events = db.session.scalars(select(ContactEvent).where(
        ContactEvent.contact_id == uuid.UUID(contact["id"]))
        .order_by(ContactEvent.created_at, ContactEvent.action)).all()
    assert events[0].action == "created"
    assert sorted(e.action for e in events) == ["created", "list_added", "list_removed",
                                                "updated", "updated"]
    assert {e.source for e in events} == {"API key: Zapier"}
    updated = next(e for e in events if e.action == "updated")
    assert updated.changes == {"first_name": {"from": "", "to": "Tim"}}
