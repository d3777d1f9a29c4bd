"""Refused requests are visible (issue 18 part 5): a request with a key that is revoked,
expired, regenerated past its grace or of the wrong type is logged in *that key's* request log
with the reason, without counting as a use; the key page counts outcomes and ranks routes."""
import uuid
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.keys import keystring, services
from sureapp.models import ApiKey, ApiRequestLog
from sureapp.timeutil import utcnow
from sureapp.usage.recorder import get_recorder


def _logs(key=None):
    get_recorder(current_app).flush()
    db.session.expire_all()
    query = select(ApiRequestLog).order_by(ApiRequestLog.id)
    if key is not None:
        query = query.where(ApiRequestLog.api_key_id == key.id)
    return list(db.session.scalars(query))


def _revoke(key):
    services.revoke_key(key, actor_label="test")


def _expire(key):
    key.expires_at = utcnow() - timedelta(seconds=1)


def _regenerate(key):
    services.regenerate_key(key, timedelta(hours=1), actor_label="test")
    key.previous_key_expires_at = utcnow() - timedelta(seconds=1)  # the grace period is over


@pytest.mark.parametrize("spoil, reason, detail", [
    (_revoke, "revoked", "revoked"),
    (_expire, "expired", "expired"),
    (_regenerate, "regenerated", "regenerated"),
])
def test_a_refused_key_is_logged_on_that_key_with_its_reason(
        api_as, make_key, workspace, spoil, reason, detail):
    key, plaintext = make_key(workspace)
    spoil(db.session.get(ApiKey, key.id))
    db.session.commit()
    response = api_as(plaintext).get("/contacts")
    assert response.status_code == 401 and detail in response.get_json()["detail"]
    [entry] = _logs(key)
    assert (entry.status, entry.reason, entry.path, entry.route) == (
        401, reason, "/api/v1/contacts", "GET /api/v1/contacts")
    assert db.session.get(ApiKey, key.id).last_used_at is None  # a refusal is no use


def test_a_key_of_the_wrong_type_is_logged_with_wrong_type(api_as, make_key, workspace, rpc):
    mcp_key, mcp_plain = make_key(workspace, key_type="mcp")
    mails_key, mails_plain = make_key(workspace, key_type="suremails")
    assert api_as(mcp_plain).get("/me").status_code == 401
    assert rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, key=mails_plain
               ).status_code == 401
    assert [(e.status, e.reason) for e in _logs(mcp_key)] == [(401, "wrong_type")]
    [mcp_entry] = _logs(mails_key)
    assert (mcp_entry.status, mcp_entry.reason, mcp_entry.route) == (401, "wrong_type", "POST /mcp")


def test_allowed_requests_carry_no_reason_and_log_the_route_without_ids(
        api_as, make_key, workspace, make_contact):
    key, plaintext = make_key(workspace)
    contact = make_contact(workspace)
    assert api_as(plaintext).get(f"/contacts/{contact.id}").status_code == 200
    assert api_as(plaintext).get(f"/contacts/{uuid.uuid4()}").status_code == 404
    entries = _logs(key)
    assert [(e.status, e.reason) for e in entries] == [(200, None), (404, None)]
    assert entries[0].path == f"/api/v1/contacts/{contact.id}"
    assert {e.route for e in entries} == {"GET /api/v1/contacts/{contact_id}"}
    assert db.session.get(ApiKey, key.id).last_used_at is not None


@pytest.mark.parametrize("presented", ["", "sure" + "x" * 56, None])
def test_a_string_naming_no_key_is_logged_nowhere(api_as, make_key, workspace, presented):
    make_key(workspace)
    if presented is None:  # well-formed, checksum right, but no such key
        presented = keystring.generate()
    assert api_as(presented).get("/me").status_code == 401
    assert _logs() == []


def test_a_refusal_never_lands_in_another_keys_log(api_as, make_key, workspace, other_workspace):
    revoked, plaintext = make_key(workspace)
    bystander, bystander_plain = make_key(other_workspace)
    _revoke(db.session.get(ApiKey, revoked.id))
    db.session.commit()
    api_as(plaintext).get("/me")
    api_as(bystander_plain).get("/me")
    assert [e.reason for e in _logs(revoked)] == ["revoked"]
    assert [(e.reason, e.workspace_id) for e in _logs(bystander)] == [(None, other_workspace.id)]


# ---- the key page -----------------------------------------------------------------------------

def test_the_key_page_counts_outcomes_and_ranks_routes(
        api_as, make_key, workspace, owner, client, login, make_contact):
    key, plaintext = make_key(workspace, abilities=("read",))
    contact = make_contact(workspace)
    api = api_as(plaintext)
    for _ in range(3):
        api.get(f"/contacts/{contact.id}")
    api.get("/me")
    api.post("/contacts", json={"email": "x@example.com"})  # 403: read-only key (scope)
    api.get(f"/contacts/{uuid.uuid4()}")  # 404
    _revoke(db.session.get(ApiKey, key.id))
    db.session.commit()
    api.get("/me")
    api.get("/me")
    _logs()

    outcomes = services.request_outcomes(db.session.get(ApiKey, key.id), "UTC")
    assert [(o.label, o.count, o.kind) for o in outcomes] == [
        ("Succeeded (2xx)", 4, "success"),
        ("Revoked key", 2, "refused"),
        ("404 Not Found", 1, "client_error"),
        ("Missing scope", 1, "refused"),  # the 403 of the read-only key's POST
    ]
    routes = services.top_routes(db.session.get(ApiKey, key.id), "UTC")
    assert [(r.route, r.count, r.failed) for r in routes] == [
        ("GET /api/v1/contacts/{contact_id}", 4, 1),
        ("GET /api/v1/me", 3, 2),
        ("POST /api/v1/contacts", 1, 1),
    ]

    login(owner)
    html = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}").get_data(as_text=True)
    assert '<div class="outcome outcome-refused"><dt>Revoked key</dt><dd>2</dd></div>' in html
    assert "<code>GET /api/v1/contacts/{contact_id}</code></td><td>4</td><td>1</td>" in html
    assert '<span class="refusal-reason">Revoked key</span>' in html  # in the recent requests


def test_outcomes_leave_out_requests_older_than_the_window(api_as, make_key, workspace):
    key, plaintext = make_key(workspace)
    api_as(plaintext).get("/me")
    [entry] = _logs(key)
    entry.created_at = utcnow() - timedelta(days=15)
    db.session.commit()
    assert services.request_outcomes(key, "UTC") == []
    assert services.top_routes(key, "UTC") == []


def test_an_mcp_tool_call_is_ranked_by_its_tool(make_key, workspace, call_tool):
    key, plaintext = make_key(workspace)
    call_tool(plaintext, "list_contacts", {})
    [entry] = _logs(key)
    assert entry.route == "POST /mcp tools/call list_contacts"
