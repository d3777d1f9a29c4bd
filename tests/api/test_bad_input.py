"""Every bad input gets a problem document with the right status, writes nothing, never a 500."""
import json
import uuid

import pytest

import sureapp.api.routes  # noqa: F401  (declares every operation)
from sureapp.operations import OPERATIONS
from sureapp.extensions import db
from sureapp.models import Automation, Campaign, Contact, ContactList, Tag
from sureapp.validation import MAX_JSON_DEPTH, NON_FINITE_NUMBER

from .conftest import assert_problem

BODY_OPERATIONS = [op for op in OPERATIONS if op.body is not None]
LIST_OPERATIONS = [op for op in OPERATIONS if op.query is not None]


def _path(op, ids):
    parts = []
    for part in op.rule.split("/"):
        if part.startswith("<"):
            name = part[1:-1].split(":")[-1]
            parts.append(ids.get(name, str(uuid.uuid4())))
        else:
            parts.append(part)
    return "/".join(parts)


@pytest.fixture
def ids(api):
    """Real ids, so a bad body is judged on the body and not on a missing resource."""
    return {
        "contact_id": api.post("/contacts", json={"email": "seed@example.com"}).get_json()["id"],
        "list_id": api.post("/lists", json={"name": "Seed"}).get_json()["id"],
        "tag_id": api.post("/tags", json={"name": "Seed"}).get_json()["id"],
        "campaign_id": api.post("/campaigns", json={"name": "Seed"}).get_json()["id"],
        "automation_id": api.post("/automations", json={"name": "Seed",
                                                        "trigger": "tag_added"}).get_json()["id"],
        # A public address literal: no DNS needed, and no worker runs in tests to send anything.
        "webhook_id": api.post("/webhooks", json={"url": "https://93.184.215.14/seed",
                                                  "events": ["*"]}).get_json()["id"],
    }


def _row_counts():
    return tuple(db.session.query(m).count()
                 for m in (Contact, ContactList, Tag, Campaign, Automation))


def _ids_for(op):
    return f"{op.method} {op.rule}"


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=_ids_for)
def test_bad_bodies(api, ids, op):
    path = _path(op, ids)
    before = _row_counts()
    send = lambda **kw: api.request(op.method, path, **kw)  # noqa: E731
    ctype = {"Content-Type": "application/json"}

    assert "not valid JSON" in assert_problem(send(data="{\"a\": ", headers=ctype), 400)["detail"]
    assert_problem(send(data=b"\xff\xfe{}", headers=ctype), 400)
    assert_problem(send(data="", headers=ctype), 400)
    assert assert_problem(send(data='{"x": NaN}', headers=ctype), 422)["errors"] == {
        "x": [NON_FINITE_NUMBER]}
    assert_problem(send(data="email=a@example.com",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert_problem(send(data="{}"), 415)  # no content type at all
    deep = "[" * (MAX_JSON_DEPTH + 5) + "]" * (MAX_JSON_DEPTH + 5)
    assert_problem(send(data=deep, headers=ctype), 400)
    very_deep = "[" * 100_000 + "]" * 100_000
    assert_problem(send(data=very_deep, headers=ctype), 400)
    assert_problem(send(json=[1, 2]), 422)
    assert_problem(send(json="text"), 422)
    body = assert_problem(send(json={"definitely_not_a_field": 1}), 422)
    assert body["errors"]["definitely_not_a_field"] == ["Unknown field."]
    assert _row_counts() == before


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=_ids_for)
def test_oversized_bodies_are_413(app, api, ids, op):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    payload = json.dumps({"name": "x" * 20_000})
    response = api.request(op.method, _path(op, ids), data=payload,
                           headers={"Content-Type": "application/json"})
    assert "10000 bytes" in assert_problem(response, 413)["detail"]


STRING_FIELDS = {  # one text field per body schema, and its limit
    "ContactCreate": ("first_name", 255), "ContactPatch": ("first_name", 255),
    "ListCreate": ("name", 255), "ListPatch": ("name", 255),
    "TagCreate": ("name", 255), "TagPatch": ("name", 255),
    "CampaignCreate": ("subject", 255), "CampaignPatch": ("subject", 255),
    "AutomationCreate": ("name", 255), "AutomationPatch": ("name", 255),
}
VALID_BODIES = {
    "ContactCreate": {"email": "valid@example.com"}, "ContactPatch": {},
    "ListCreate": {"name": "Valid"}, "ListPatch": {},
    "TagCreate": {"name": "Valid"}, "TagPatch": {},
    "CampaignCreate": {"name": "Valid"}, "CampaignPatch": {},
    "AutomationCreate": {"name": "Valid", "trigger": "contact_created"}, "AutomationPatch": {},
}


@pytest.mark.parametrize("op", [op for op in BODY_OPERATIONS if op.body.__name__ in STRING_FIELDS],
                         ids=_ids_for)
def test_huge_strings_wrong_types_and_nul(api, ids, op):
    field, limit = STRING_FIELDS[op.body.__name__]
    base = VALID_BODIES[op.body.__name__]
    path = _path(op, ids)
    before = _row_counts()
    body = assert_problem(api.request(op.method, path, json=base | {field: "x" * (limit + 1)}), 422)
    assert field in body["errors"]
    assert_problem(api.request(op.method, path, json=base | {field: "x" * 3_000_000}), 413)
    assert_problem(api.request(op.method, path, json=base | {field: 12}), 422)
    assert_problem(api.request(op.method, path, json=base | {field: ["a"]}), 422)
    assert_problem(api.request(op.method, path, json=base | {field: None}), 422)
    assert_problem(api.request(op.method, path, json=base | {field: "a\x00b"}), 422)
    lone = '{"%s": "\\ud800"}' % field
    assert_problem(api.request(op.method, path, data=lone,
                               headers={"Content-Type": "application/json"}), 422)
    assert _row_counts() == before


def test_invalid_emails_are_422(api):
    for email in ("", "   ", "plainaddress", "a@", "@example.com", "a@b@example.com",
                  "a" * 250 + "@example.com", 42, None):
        body = assert_problem(api.post("/contacts", json={"email": email}), 422)
        assert "email" in body["errors"], email
    assert db.session.query(Contact).count() == 0


def test_field_level_errors_cover_every_bad_field(api):
    body = assert_problem(api.post("/contacts", json={
        "email": "nope", "status": "vip", "custom_fields": {"": 1, "ok": {"nested": True}},
        "list_ids": ["not-a-uuid"], "tag_ids": "x"}), 422)
    for field in ("email", "status", "list_ids.0", "tag_ids"):
        assert field in body["errors"], body["errors"]
    assert any(key.startswith("custom_fields") for key in body["errors"])


def test_other_field_rules(api, ids):
    assert_problem(api.post("/tags", json={"name": "T", "color": "red"}), 422)
    assert_problem(api.post("/tags", json={"name": "T", "slug": "Not A Slug"}), 422)
    assert_problem(api.post("/campaigns", json={"name": "C", "from_email": "bad"}), 422)
    assert_problem(api.post("/campaigns", json={"name": "C", "scheduled_at": "tomorrow"}), 422)
    assert_problem(api.post("/automations", json={"name": "A", "trigger": "sometimes"}), 422)
    assert_problem(api.post("/automations", json={"name": "A", "trigger": "tag_added",
                                                  "steps": [1, 2]}), 422)
    assert_problem(api.post("/automations", json={"name": "A", "trigger": "tag_added",
                                                  "steps": [{"x": "y" * 60_000}]}), 422)
    assert_problem(api.post("/contacts", json={"email": "c@example.com", "custom_fields": {
        f"k{i}": i for i in range(51)}}), 422)
    assert_problem(api.post(f"/lists/{ids['list_id']}/contacts", json={"contact_ids": []}), 422)
    assert_problem(api.post(f"/lists/{ids['list_id']}/contacts", json={"contact_ids": ["x"]}), 422)


def test_bulk_of_1001_rows_is_422_and_writes_nothing(api):
    rows = [{"email": f"r{i}@example.com"} for i in range(1001)]
    body = assert_problem(api.post("/contacts/bulk", json={"contacts": rows}), 422)
    assert "contacts" in body["errors"]
    assert db.session.query(Contact).count() == 0
    assert_problem(api.post("/contacts/bulk", json={"contacts": []}), 422)
    assert_problem(api.post("/contacts/bulk", json={"contacts": "all"}), 422)


def test_bulk_rows_of_the_wrong_shape_fail_individually(api):
    response = api.post("/contacts/bulk", json={"contacts": [
        "text", 3, {"email": "ok@example.com"}, {"email": "ok2@example.com", "bogus": 1}]})
    assert response.status_code == 200
    statuses = [r["status"] for r in response.get_json()["results"]]
    assert statuses == ["failed", "failed", "created", "failed"]


BAD_PATHS = ["/contacts/not-a-uuid", "/contacts/123", "/lists/../tags", "/tags/%00",
             "/campaigns/" + "f" * 40, "/automations/{}", "/lists/x/contacts", "/tags/1/contacts/2"]
BAD_QUERIES = ["limit=0", "limit=101", "limit=-1", "limit=ten", "limit=1.5", "cursor=zzz",
               "cursor=" + "A" * 600, "cursor=WyJ4IiwieSJd", "unknown_param=1",
               "limit=5&limit=6",  # which one counts would be a guess
               "cursor=%0C"]  # a control character: query text follows the body's rule


def test_invalid_uuid_in_the_path_is_404(api):
    # A malformed id matches no route (the rules take UUIDs), whatever the method: no such
    # resource, before "method not allowed", which only a well-formed path can earn.
    for path in BAD_PATHS:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = api.request(method, path, json={})
            assert response.status_code == 404, (method, path, response.status_code)
            assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=_ids_for)
def test_bad_query_parameters_are_422(api, ids, op):
    for query in BAD_QUERIES:  # a nested list (a webhook's deliveries) of a real parent
        body = assert_problem(api.get(f"{_path(op, ids)}?{query}"), 422)
        assert body["errors"], query


def test_contact_filters_validate(api):
    for query in ("status=vip", "list_id=nope", "tag_id=1", "created_after=yesterday",
                  "search=" + "s" * 201, "search=a%00b"):
        assert_problem(api.get(f"/contacts?{query}"), 422)


def test_search_with_like_wildcards_is_literal(api):
    api.post("/contacts", json={"email": "percent@example.com", "company": "100% Co"})
    api.post("/contacts", json={"email": "other@example.com", "company": "Other"})
    found = api.get("/contacts?search=100%25").get_json()["data"]
    assert [c["email"] for c in found] == ["percent@example.com"]
    assert api.get("/contacts?search=%25").get_json()["data"][0]["email"] == "percent@example.com"
    assert api.get("/contacts?search=_").get_json()["data"] == []


def test_unknown_api_paths_are_problem_404(client):
    for path in ("/nope", "/contacts/bulk/x", "/v2/contacts", ""):
        response = client.get(f"/api/v1{path}")
        assert_problem(response, 404)
        assert b"<html" not in response.data.lower()


def test_wrong_method_is_problem_405_with_allow(api):
    response = api.request("PATCH", "/contacts")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_problem(api.request("OPTIONS", "/nowhere"), 404)  # OPTIONS on a real path: 204 (CORS)
    assert_problem(api.get("/contacts/bulk"), 405)


def test_html_pages_elsewhere_are_unaffected(client):
    response = client.get("/definitely-not-a-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
