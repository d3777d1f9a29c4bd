"""A key of workspace A gets 404 for every id of workspace B, in paths and in bodies."""
import pytest

from sureapp.extensions import db
from sureapp.models import Automation, Campaign, Contact, ContactList, Tag, list_members

from .conftest import assert_problem


@pytest.fixture
def theirs(api_as, make_key, other_workspace):
    """Resources of workspace B, created through B's own key."""
    b = api_as(make_key(other_workspace)[1])
    lst = b.post("/lists", json={"name": "B list"}).get_json()
    tag = b.post("/tags", json={"name": "B tag"}).get_json()
    contact = b.post("/contacts", json={"email": "b@example.com", "list_ids": [lst["id"]],
                                        "tag_ids": [tag["id"]]}).get_json()
    campaign = b.post("/campaigns", json={"name": "B campaign", "list_ids": [lst["id"]]}).get_json()
    automation = b.post("/automations", json={"name": "B auto", "trigger": "tag_added"}).get_json()
    return {"list": lst, "tag": tag, "contact": contact, "campaign": campaign,
            "automation": automation}


@pytest.fixture
def mine(api):
    lst = api.post("/lists", json={"name": "A list"}).get_json()
    tag = api.post("/tags", json={"name": "A tag"}).get_json()
    contact = api.post("/contacts", json={"email": "a@example.com"}).get_json()
    return {"list": lst, "tag": tag, "contact": contact}


BODIES = {
    "contacts": {"email": "x@example.com"},
    "lists": {"name": "Renamed"},
    "tags": {"name": "Renamed"},
    "campaigns": {"name": "Renamed"},
    "automations": {"name": "Renamed", "trigger": "contact_created"},
}
RESOURCE_OF = {"contacts": "contact", "lists": "list", "tags": "tag", "campaigns": "campaign",
               "automations": "automation"}


@pytest.mark.parametrize("collection", list(BODIES))
def test_their_ids_in_paths_are_404(api, theirs, collection):
    rid = theirs[RESOURCE_OF[collection]]["id"]
    path = f"/{collection}/{rid}"
    assert_problem(api.get(path), 404)
    assert_problem(api.put(path, json=BODIES[collection]), 404)
    assert_problem(api.patch(path, json={"name": "x"} if collection != "contacts"
                             else {"first_name": "x"}), 404)
    assert_problem(api.delete(path), 404)


def test_their_resources_survive_and_are_unchanged(api, theirs):
    for collection, resource in RESOURCE_OF.items():
        api.delete(f"/{collection}/{theirs[resource]['id']}")
    assert db.session.query(Contact).filter_by(email="b@example.com").one().first_name == ""
    assert db.session.query(ContactList).filter_by(name="B list").count() == 1
    assert db.session.query(Tag).filter_by(name="B tag").count() == 1
    assert db.session.query(Campaign).filter_by(name="B campaign").count() == 1
    assert db.session.query(Automation).filter_by(name="B auto").count() == 1


@pytest.mark.parametrize("kind", ["lists", "tags"])
def test_membership_routes_refuse_their_groups_and_contacts(api, theirs, mine, kind):
    group = {"lists": "list", "tags": "tag"}[kind]
    # Their group, my contact.
    assert_problem(api.post(f"/{kind}/{theirs[group]['id']}/contacts",
                            json={"contact_ids": [mine["contact"]["id"]]}), 404)
    assert_problem(api.delete(f"/{kind}/{theirs[group]['id']}/contacts/{theirs['contact']['id']}"),
                   404)
    # My group, their contact (alone, or mixed with mine: nothing is added).
    assert_problem(api.post(f"/{kind}/{mine[group]['id']}/contacts",
                            json={"contact_ids": [theirs["contact"]["id"]]}), 404)
    assert_problem(api.post(f"/{kind}/{mine[group]['id']}/contacts",
                            json={"contact_ids": [mine["contact"]["id"], theirs["contact"]["id"]]}),
                   404)
    assert api.get(f"/{kind}/{mine[group]['id']}").get_json()["member_count"] == 0
    assert_problem(api.delete(f"/{kind}/{mine[group]['id']}/contacts/{theirs['contact']['id']}"),
                   404)


@pytest.mark.parametrize("field,resource", [("list_ids", "list"), ("tag_ids", "tag")])
def test_their_group_ids_in_contact_bodies_are_404(api, theirs, mine, field, resource):
    other = [theirs[resource]["id"]]
    assert_problem(api.post("/contacts", json={"email": "new@example.com", field: other}), 404)
    assert db.session.query(Contact).filter_by(email="new@example.com").count() == 0
    cid = mine["contact"]["id"]
    assert_problem(api.patch(f"/contacts/{cid}", json={field: other}), 404)
    assert_problem(api.put(f"/contacts/{cid}", json={"email": "a@example.com", field: other}), 404)
    assert api.get(f"/contacts/{cid}").get_json()[field] == []


def test_a_tag_id_is_not_accepted_as_a_list_id(api, mine):
    assert_problem(api.post("/contacts", json={"email": "n@example.com",
                                               "list_ids": [mine["tag"]["id"]]}), 404)


def test_their_list_ids_in_campaign_bodies_are_404(api, theirs, mine):
    other = [theirs["list"]["id"]]
    assert_problem(api.post("/campaigns", json={"name": "Mine", "list_ids": other}), 404)
    created = api.post("/campaigns", json={"name": "Mine", "list_ids": [mine["list"]["id"]]})
    assert created.status_code == 201
    cid = created.get_json()["id"]
    assert_problem(api.patch(f"/campaigns/{cid}", json={"list_ids": other}), 404)
    assert api.get(f"/campaigns/{cid}").get_json()["list_ids"] == [mine["list"]["id"]]


def test_bulk_rows_naming_their_groups_fail_and_write_nothing_there(api, theirs):
    response = api.post("/contacts/bulk", json={"contacts": [
        {"email": "one@example.com", "list_ids": [theirs["list"]["id"]]},
        {"email": "b@example.com", "first_name": "Hijack"},  # their contact's email: a new one here
    ]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results[0]["status"] == "failed" and "list_ids" in results[0]["errors"]
    assert results[1]["status"] == "created"
    members = db.session.execute(db.select(list_members).where(
        list_members.c.list_id == db.select(ContactList.id).filter_by(name="B list")
        .scalar_subquery())).all()
    assert len(members) == 1  # only B's own contact
    theirs_row = db.session.query(Contact).filter_by(email="b@example.com",
                                                     first_name="Hijack").one()
    assert str(theirs_row.id) != theirs["contact"]["id"]


def test_filters_with_their_ids_are_404(api, theirs):
    assert_problem(api.get(f"/contacts?list_id={theirs['list']['id']}"), 404)
    assert_problem(api.get(f"/contacts?tag_id={theirs['tag']['id']}"), 404)


def test_collections_only_show_my_workspace(api, theirs, mine):
    for collection in ("contacts", "lists", "tags", "campaigns", "automations"):
        ids = {item["id"] for item in api.get(f"/{collection}").get_json()["data"]}
        assert theirs[RESOURCE_OF[collection]]["id"] not in ids
    report = api.get("/reports/summary").get_json()
    assert report["total_contacts"] == 1
    assert [i["name"] for i in report["lists"]] == ["A list"]
