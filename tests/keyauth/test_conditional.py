"""ETag / If-None-Match on the keyed GETs (keyauth/conditional.py): a strong tag of the body on
every 200, 304 with no body for a matching tag, a new tag once the resource changed."""
import hashlib

import pytest

from .conftest import assert_problem


@pytest.fixture
def contact(make_contact, workspace):
    return make_contact(workspace, first_name="Ana")


def test_every_successful_get_carries_the_strong_tag_of_its_body(api, contact):
    for path in ("/me", "/contacts", f"/contacts/{contact.id}", "/lists", "/tags",
                 "/campaigns", "/automations", "/reports/summary", "/openapi.json"):
        response = api.get(path)
        assert response.status_code == 200, path
        expected = hashlib.sha256(response.get_data()).hexdigest()[:32]
        assert response.headers["ETag"] == f'"{expected}"', path  # strong: no W/


def test_a_matching_if_none_match_is_304_without_a_body(api, contact):
    first = api.get(f"/contacts/{contact.id}")
    tag = first.headers["ETag"]
    for sent in (tag, f'"other", {tag}', f"W/{tag}", "*"):
        again = api.get(f"/contacts/{contact.id}", headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.get_data() == b""
        assert "Content-Type" not in again.headers and "Content-Length" not in again.headers
        # The headers a client still needs stay.
        assert again.headers["ETag"] == tag
        assert again.headers["Cache-Control"] == "no-store"
        assert again.headers["X-Request-Id"] and again.headers["X-RateLimit-Remaining"]


def test_head_answers_the_same_tag_and_304(api, contact):
    tag = api.get(f"/contacts/{contact.id}").headers["ETag"]
    head = api.request("HEAD", f"/contacts/{contact.id}")
    assert head.status_code == 200 and head.headers["ETag"] == tag
    assert api.request("HEAD", f"/contacts/{contact.id}",
                       headers={"If-None-Match": tag}).status_code == 304


def test_a_change_makes_a_new_tag_and_the_old_one_no_longer_matches(api, contact):
    old = api.get(f"/contacts/{contact.id}").headers["ETag"]
    assert api.patch(f"/contacts/{contact.id}", json={"first_name": "Bia"}).status_code == 200
    fresh = api.get(f"/contacts/{contact.id}", headers={"If-None-Match": old})
    assert fresh.status_code == 200 and fresh.get_json()["first_name"] == "Bia"
    assert fresh.headers["ETag"] != old


def test_a_listing_changes_tag_when_a_contact_is_added(api, make_contact, workspace, contact):
    old = api.get("/contacts").headers["ETag"]
    assert api.get("/contacts", headers={"If-None-Match": old}).status_code == 304
    make_contact(workspace)
    assert api.get("/contacts", headers={"If-None-Match": old}).status_code == 200


def test_a_foreign_or_malformed_tag_is_simply_not_a_match(api, contact):
    for sent in ('"nope"', "garbage without quotes", 'W/"x"', ",,,"):
        assert api.get(f"/contacts/{contact.id}", headers={"If-None-Match": sent}).status_code == 200


def test_errors_and_writes_carry_no_tag_and_ignore_if_none_match(api, contact):
    missing = api.get("/contacts/00000000-0000-0000-0000-000000000000",
                      headers={"If-None-Match": "*"})
    assert_problem(missing, 404)
    assert "ETag" not in missing.headers
    created = api.post("/contacts", json={"email": "new@example.com"},
                       headers={"If-None-Match": "*"})
    assert created.status_code == 201 and "ETag" not in created.headers


def test_another_workspaces_tag_reveals_nothing(api, api_as, make_key, other_workspace, contact):
    """An attacker holding a key of another workspace gets its own 404, tag or no tag."""
    tag = api.get(f"/contacts/{contact.id}").headers["ETag"]
    outsider = api_as(make_key(other_workspace)[1])
    response = outsider.get(f"/contacts/{contact.id}", headers={"If-None-Match": tag})
    assert_problem(response, 404)


def test_a_304_is_logged_as_304(app, api, contact):
    from sureapp.extensions import db
    from sureapp.models import ApiRequestLog
    from sureapp.usage.recorder import get_recorder

    tag = api.get(f"/contacts/{contact.id}").headers["ETag"]
    api.get(f"/contacts/{contact.id}", headers={"If-None-Match": tag})
    get_recorder(app).flush()
    statuses = [row.status for row in db.session.query(ApiRequestLog).order_by(ApiRequestLog.id)]
    assert statuses == [200, 304]
