"""Lists, tags, campaigns, automations and the summary report through the API."""
from datetime import timedelta

from sureapp.extensions import db
from sureapp.models import Contact, ContactList, Workspace
from sureapp.timeutil import utcnow

from .conftest import assert_problem


def test_list_crud_members_and_counts(api):
    created = api.post("/lists", json={"name": "  Customers ", "description": "Paying"})
    assert created.status_code == 201
    lst = created.get_json()
    assert lst["name"] == "Customers" and lst["member_count"] == 0
    assert created.headers["Location"].endswith(f"/api/v1/lists/{lst['id']}")
    assert_problem(api.post("/lists", json={"name": "Customers"}), 409)
    ids = [api.post("/contacts", json={"email": f"m{i}@example.com"}).get_json()["id"]
           for i in range(3)]
    added = api.post(f"/lists/{lst['id']}/contacts", json={"contact_ids": ids[:2]}).get_json()
    assert added == {"added": 2, "member_count": 2}
    again = api.post(f"/lists/{lst['id']}/contacts", json={"contact_ids": ids}).get_json()
    assert again == {"added": 1, "member_count": 3}
    assert api.delete(f"/lists/{lst['id']}/contacts/{ids[0]}").status_code == 204
    assert api.get(f"/lists/{lst['id']}").get_json()["member_count"] == 2
    assert api.get(f"/contacts/{ids[1]}").get_json()["list_ids"] == [lst["id"]]
    page = api.get("/lists").get_json()
    assert [(i["name"], i["member_count"]) for i in page["data"]] == [("Customers", 2)]
    renamed = api.patch(f"/lists/{lst['id']}", json={"name": "Clients"}).get_json()
    assert renamed["name"] == "Clients" and renamed["description"] == "Paying"
    replaced = api.put(f"/lists/{lst['id']}", json={"name": "Clients"}).get_json()
    assert replaced["description"] == ""
    other = api.post("/lists", json={"name": "Other"}).get_json()
    assert_problem(api.patch(f"/lists/{other['id']}", json={"name": "Clients"}), 409)
    assert api.delete(f"/lists/{lst['id']}").status_code == 204
    assert_problem(api.get(f"/lists/{lst['id']}"), 404)
    assert api.get(f"/contacts/{ids[1]}").status_code == 200  # contacts stay
    assert api.get("/lists?search=oth").get_json()["data"][0]["name"] == "Other"


def test_tag_slugs_colors_and_members(api):
    tag = api.post("/tags", json={"name": "Big Customers!", "color": "#AABBCC"}).get_json()
    assert (tag["slug"], tag["color"], tag["member_count"]) == ("big-customers", "#aabbcc", 0)
    assert_problem(api.post("/tags", json={"name": "Other", "slug": "big-customers"}), 409)
    own = api.post("/tags", json={"name": "Other", "slug": "custom-slug"}).get_json()
    assert own["slug"] == "custom-slug"
    contact = api.post("/contacts", json={"email": "t@example.com"}).get_json()
    assert api.post(f"/tags/{tag['id']}/contacts",
                    json={"contact_ids": [contact["id"]]}).get_json()["added"] == 1
    assert api.get(f"/contacts/{contact['id']}").get_json()["tag_ids"] == [tag["id"]]
    assert_problem(api.delete(f"/tags/{own['id']}/contacts/{contact['id']}"), 404)  # not a member
    replaced = api.put(f"/tags/{tag['id']}", json={"name": "Renamed Tag"}).get_json()
    assert replaced["slug"] == "renamed-tag" and replaced["color"] == "#6b7280"
    assert replaced["member_count"] == 1


def test_campaign_crud_and_rules(api):
    lst = api.post("/lists", json={"name": "News"}).get_json()["id"]
    created = api.post("/campaigns", json={
        "name": "Launch", "subject": "Hi", "from_name": "Ana", "from_email": "Ana@Example.com",
        "content_html": "<p>Hello</p>", "list_ids": [lst],
        "scheduled_at": "2030-05-01T10:00:00+02:00"})
    assert created.status_code == 201
    campaign = created.get_json()
    assert campaign["from_email"] == "ana@example.com" and campaign["status"] == "draft"
    assert campaign["scheduled_at"] == "2030-05-01T08:00:00Z" and campaign["list_ids"] == [lst]
    path = f"/campaigns/{campaign['id']}"
    body = assert_problem(api.patch(path, json={"status": "sent", "subject": "Bye"}), 422)
    assert "set by the system" in body["errors"]["status"][0]
    assert api.get(path).get_json()["subject"] == "Hi"  # nothing written
    draft = api.put(path, json={"name": "Launch v2"}).get_json()
    assert (draft["status"], draft["list_ids"], draft["scheduled_at"]) == ("draft", [], None)
    assert [c["name"] for c in api.get("/campaigns?status=draft").get_json()["data"]] == ["Launch v2"]
    assert api.delete(path).status_code == 204
    assert_problem(api.get(path), 404)
    assert db.session.query(ContactList).count() == 1  # the list is not touched


def test_automation_crud(api):
    created = api.post("/automations", json={"name": "Welcome", "trigger": "contact_created",
                                              "steps": [{"type": "wait", "amount": 1, "unit": "days"},
                                                        {"type": "wait", "amount": 2, "unit": "hours"}]})
    assert created.status_code == 201
    automation = created.get_json()
    assert automation["status"] == "paused" and len(automation["steps"]) == 2
    path = f"/automations/{automation['id']}"
    assert api.patch(path, json={"status": "active"}).get_json()["status"] == "active"
    replaced = api.put(path, json={"name": "Tagged", "trigger": "tag_added"}).get_json()
    assert (replaced["steps"], replaced["status"]) == ([], "paused")
    assert api.get("/automations?trigger=tag_added").get_json()["data"][0]["id"] == automation["id"]
    assert api.get("/automations?status=active").get_json()["data"] == []
    assert api.delete(path).status_code == 204


def test_report_summary_counts_in_the_workspace_timezone(api, workspace):
    db.session.get(Workspace, workspace.id).timezone = "Pacific/Auckland"  # UTC+13 in November
    now = utcnow()
    for i, (status, age) in enumerate([("active", 0), ("active", 1), ("bounced", 2),
                                       ("pending", 40)]):
        db.session.add(Contact(workspace_id=workspace.id, email=f"r{i}@example.com",
                               status=status, created_at=now - timedelta(days=age)))
    db.session.commit()
    lst = api.post("/lists", json={"name": "L"}).get_json()["id"]
    api.post("/tags", json={"name": "T"})
    api.post("/campaigns", json={"name": "C"})
    first = db.session.query(Contact).filter_by(email="r0@example.com").one()
    api.post(f"/lists/{lst}/contacts", json={"contact_ids": [str(first.id)]})
    report = api.get("/reports/summary").get_json()
    assert report["timezone"] == "Pacific/Auckland"
    assert report["total_contacts"] == 4
    assert report["contacts_by_status"] == {"active": 2, "pending": 1, "unsubscribed": 0,
                                            "bounced": 1, "invalid": 0}
    assert [(i["name"], i["member_count"]) for i in report["lists"]] == [("L", 1)]
    assert [(t["slug"], t["member_count"]) for t in report["tags"]] == [("t", 0)]
    assert report["campaigns_by_status"] == {"draft": 1, "scheduled": 0, "sending": 0,
                                             "paused": 0, "sent": 0, "cancelled": 0}
    days = report["contacts_created_per_day"]
    assert len(days) == 30 and sum(d["count"] for d in days) == 3  # the 40-day-old one is out
    from sureapp.timeutil import to_local
    assert days[-1]["date"] == to_local(now, "Pacific/Auckland").date().isoformat()
    assert days[-1]["count"] == 1
