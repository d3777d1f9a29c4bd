"""Abuse limits, each proven from the attacker's side: password and invitation guessing, key
guessing (per-IP failure budget), oversized and deeply nested bodies, huge pages, huge bulks.
Every refusal is a clear problem/page and writes nothing."""
import json
import uuid

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import Contact

from .conftest import key_headers

LIMITS = {"API_AUTH_FAILURE_LIMIT": "5 per minute", "LOGIN_RATE_LIMIT": "3 per minute",
          "MAX_CONTENT_LENGTH": 64 * 1024}


@pytest.fixture
def app_config():
    return dict(LIMITS)


def contact_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Contact))


def assert_problem(response, status: int):
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status
    return response.get_json()


# ---- guessing -------------------------------------------------------------------------------

def test_failed_api_authentication_is_throttled_per_client_ip(client, api_keys):
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(5):
        response = client.get("/api/v1/me", headers={"X-API-Key": keystring.generate()},
                              environ_overrides=attacker)
        assert_problem(response, 401)
    blocked = client.get("/api/v1/me", headers={"X-API-Key": keystring.generate()},
                         environ_overrides=attacker)
    body = assert_problem(blocked, 429)
    assert "failed authentication" in body["detail"]
    assert int(blocked.headers["Retry-After"]) > 0
    # The budget is charged only by failures: a valid key behind the same address (NAT, a
    # proxy) is still served — 297 random bits are not guessed at 5 tries a minute…
    neighbour = client.get("/api/v1/me", headers=key_headers(api_keys["read"]),
                           environ_overrides=attacker)
    assert neighbour.status_code == 200
    # …while the guessing stays refused.
    again = client.get("/api/v1/me", headers={"X-API-Key": keystring.generate()},
                       environ_overrides=attacker)
    assert_problem(again, 429)
    # Other clients are unaffected.
    other = client.get("/api/v1/me", headers=key_headers(api_keys["read"]),
                       environ_overrides={"REMOTE_ADDR": "198.51.100.1"})
    assert other.status_code == 200


def test_successful_requests_do_not_spend_the_failure_budget(client, api_keys):
    for _ in range(12):
        assert client.get("/api/v1/me", headers=key_headers(api_keys["read"])).status_code == 200


def test_login_guessing_is_throttled(client, make_user):
    user = make_user()
    statuses = [client.post("/login", data={"email": user.email, "password": f"guess-{i}"}
                            ).status_code for i in range(5)]
    assert statuses[:3] == [422, 422, 422] and statuses[3:] == [429, 429], statuses


def test_invitation_acceptance_is_throttled(client):
    """Guessing invitation tokens: after the budget, even the right token would be refused."""
    statuses = [client.post(f"/invitations/{uuid.uuid4().hex}", data={}).status_code
                for _ in range(5)]
    assert 500 not in statuses
    assert statuses[-1] == 429, statuses


# ---- request size and shape -----------------------------------------------------------------

def test_a_body_over_the_size_limit_is_413_and_writes_nothing(client, api_keys):
    body = json.dumps({"email": "big@example.com", "custom_fields": {"blob": "x" * 70_000}})
    response = client.post("/api/v1/contacts", data=body, content_type="application/json",
                           headers=key_headers(api_keys["all"]))
    assert_problem(response, 413)
    assert contact_count() == 0


@pytest.mark.parametrize("depth", [33, 5_000, 30_000])
def test_deeply_nested_json_is_refused_without_recursion(client, api_keys, depth):
    nested = "[" * depth + "]" * depth
    body = ('{"name": "Deep", "trigger": "contact_created", "steps": [{"config": '
            + nested + "}]}")
    response = client.post("/api/v1/automations", data=body, content_type="application/json",
                           headers=key_headers(api_keys["all"]))
    assert "nested" in assert_problem(response, 400)["detail"]
    assert client.get("/api/v1/automations", headers=key_headers(api_keys["read"])
                      ).get_json()["data"] == []


def test_nesting_within_the_limit_is_accepted(client, api_keys):
    """Control: JSON nested up to the limit passes the nesting check and reaches the schema
    (which refuses a step with an unknown field, 422); the refusals above are the limit."""
    config = {}
    for level in range(25):
        config = {f"level{level}": config}
    response = client.post("/api/v1/automations", headers=key_headers(api_keys["all"]), json={
        "name": "Nested", "trigger": "contact_created",
        "steps": [{"type": "wait", "amount": 1, "unit": "days", "config": config}]})
    body = assert_problem(response, 422)
    assert body["errors"] == {"steps.0.wait.config": ["Unknown field."]}


@pytest.mark.parametrize("limit", ["101", "1000000", "0", "-1", "ten", "1e3"])
def test_page_size_is_bounded(client, api_keys, limit):
    response = client.get("/api/v1/contacts", query_string={"limit": limit},
                          headers=key_headers(api_keys["read"]))
    assert_problem(response, 422)


def test_the_largest_page_is_served(client, api_keys):
    response = client.get("/api/v1/contacts", query_string={"limit": "100"},
                          headers=key_headers(api_keys["read"]))
    assert response.status_code == 200


def test_a_bulk_over_1000_rows_is_refused_whole(app, client, api_keys):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # the row limit, not the byte limit
    rows = [{"email": f"bulk-{i}@example.com"} for i in range(1001)]
    response = client.post("/api/v1/contacts/bulk", json={"contacts": rows},
                           headers=key_headers(api_keys["all"]))
    # The body is within the byte limit, so it is the row limit that refuses it: 422 (a 413 is
    # for bodies over MAX_CONTENT_LENGTH), naming the field and the limit.
    assert response.status_code == 422, response.status_code
    assert response.mimetype == "application/problem+json"
    assert "1000" in " ".join(response.get_json()["errors"]["contacts"])
    assert contact_count() == 0


def test_a_bulk_of_exactly_1000_rows_is_accepted(app, client, api_keys):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    rows = [{"email": f"bulk-{i}@example.com"} for i in range(1000)]
    response = client.post("/api/v1/contacts/bulk", json={"contacts": rows},
                           headers=key_headers(api_keys["all"]))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["summary"]["created"] == 1000
    assert contact_count() == 1000
