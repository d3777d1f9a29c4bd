"""MCP resources: the report summary and the contact template, listed and read only with the
key's scopes, holding exactly the API's body, never another workspace's data."""
import json
import uuid

import pytest

from sureapp.extensions import db
from sureapp.models import ApiRequestLog

from .conftest import call, error, result

SUMMARY = "sureapp://reports/summary"


@pytest.fixture
def key(make_key, workspace):
    return make_key(workspace, ("read",))[1]


def api_body(client, key, path) -> dict:
    response = client.get(f"/api/v1{path}", headers={"X-API-Key": key})
    assert response.status_code == 200
    return response.get_json()


def test_the_summary_is_listed_and_the_contact_is_a_template(rpc, key):
    assert result(call(rpc, key, "resources/list")) == {"resources": [{
        "uri": SUMMARY, "name": "report-summary", "title": "Workspace report summary",
        "mimeType": "application/json",
        "description": "Contacts by status, list and tag sizes, campaigns by status, and contacts "
                       "created per day over the last 30 days (workspace timezone); the body of "
                       "GET /api/v1/reports/summary."}]}
    templates = result(call(rpc, key, "resources/templates/list"))["resourceTemplates"]
    assert [(t["uriTemplate"], t["name"], t["mimeType"]) for t in templates] == [
        ("sureapp://contacts/{contact_id}", "contact", "application/json")]


def test_titles_only_from_2025_06_18(rpc, key):
    old = result(call(rpc, key, "resources/list", version="2025-03-26"))["resources"][0]
    assert "title" not in old and old["name"] == "report-summary"


def test_reading_the_summary_gives_the_apis_body(rpc, client, key, workspace, make_contact):
    make_contact(workspace, status="bounced")
    contents = result(call(rpc, key, "resources/read", {"uri": SUMMARY}))["contents"]
    assert len(contents) == 1 and contents[0]["uri"] == SUMMARY
    assert contents[0]["mimeType"] == "application/json"
    assert json.loads(contents[0]["text"]) == api_body(client, key, "/reports/summary")


def test_reading_a_contact_gives_the_apis_body(rpc, client, key, workspace, make_contact):
    contact = make_contact(workspace, first_name="Ada", custom_fields={"plan": "pro"})
    uri = f"sureapp://contacts/{contact.id}"
    contents = result(call(rpc, key, "resources/read", {"uri": uri}))["contents"]
    assert [c["uri"] for c in contents] == [uri]
    assert json.loads(contents[0]["text"]) == api_body(client, key, f"/contacts/{contact.id}")


@pytest.mark.parametrize("version, code", [("2025-11-25", -32002), ("2024-11-05", -32002)])
def test_another_workspaces_contact_is_not_found(rpc, key, make_workspace_only, make_contact,
                                                  version, code):
    theirs = make_contact(make_workspace_only(name="Theirs"), email="secret@example.com")
    uri = f"sureapp://contacts/{theirs.id}"
    failed = error(call(rpc, key, "resources/read", {"uri": uri}, version=version))
    assert failed == {"code": code, "message": "Resource not found", "data": {"uri": uri}}


def test_a_missing_contact_under_2026_07_28_is_invalid_params(modern, key):
    uri = f"sureapp://contacts/{uuid.uuid4()}"
    failed = modern(key, "resources/read", {"uri": uri}).get_json()["error"]
    assert failed == {"code": -32602, "message": "Resource not found", "data": {"uri": uri}}


@pytest.mark.parametrize("uri", [
    "sureapp://contacts/not-a-uuid", "sureapp://contacts/", "sureapp://contacts",
    f"sureapp://contacts/{uuid.UUID(int=1)}/lists", f"sureapp://contacts/{uuid.UUID(int=1)}?x=1",
    "sureapp://reports/summary/", "SUREAPP://reports/summary", "sureapp://reports",
    "https://example.com/", "file:///etc/passwd", "sureapp://contacts/../reports/summary", "",
    "sureapp://contacts/" + "a" * 5000,
])
def test_a_uri_that_names_nothing_is_not_found(rpc, key, uri):
    assert error(call(rpc, key, "resources/read", {"uri": uri}))["code"] == -32002


@pytest.mark.parametrize("params", [{}, {"uri": 5}, {"uri": ["sureapp://reports/summary"]}])
def test_a_malformed_read_is_invalid_params(rpc, key, params):
    assert error(call(rpc, key, "resources/read", params))["code"] == -32602


def test_a_cursor_never_issued_is_refused(rpc, key):
    failed = error(call(rpc, key, "resources/list", {"cursor": "x"}))
    assert failed["code"] == -32602


def test_a_contacts_key_sees_and_reads_contacts_only(rpc, make_key, workspace, make_contact,
                                                     flush_usage):
    api_key, plaintext = make_key(workspace, ("contacts:read",))
    assert result(call(rpc, plaintext, "resources/list")) == {"resources": []}
    assert len(result(call(rpc, plaintext, "resources/templates/list"))["resourceTemplates"]) == 1
    refused = error(call(rpc, plaintext, "resources/read", {"uri": SUMMARY}))
    assert refused["code"] == -32602
    assert "needs the 'reports:read' scope" in refused["message"]
    assert refused["data"]["required_scope"] == "reports:read"
    assert refused["data"]["key_abilities"] == ["contacts:read"]
    contact = make_contact(workspace)
    read = call(rpc, plaintext, "resources/read", {"uri": f"sureapp://contacts/{contact.id}"})
    assert result(read)["contents"]
    flush_usage()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=api_key.id).all()
    logged = sorted((r.route, r.reason) for r in rows if "read" in r.route)
    assert logged == [("POST /mcp resources/read sureapp://contacts/{contact_id}", None),
                      ("POST /mcp resources/read sureapp://reports/summary", "scope")]


def test_a_reports_key_may_not_read_contacts(rpc, make_key, workspace, make_contact):
    _, plaintext = make_key(workspace, ("reports:read",))
    assert result(call(rpc, plaintext, "resources/templates/list")) == {"resourceTemplates": []}
    contact = make_contact(workspace)
    refused = error(call(rpc, plaintext, "resources/read",
                         {"uri": f"sureapp://contacts/{contact.id}"}))
    assert refused["data"]["required_scope"] == "contacts:read"
    assert "secret" not in json.dumps(refused) and contact.email not in json.dumps(refused)


def test_a_write_only_key_lists_nothing_to_read(rpc, make_key, workspace):
    _, plaintext = make_key(workspace, ("write",))
    assert result(call(rpc, plaintext, "resources/list")) == {"resources": []}
    assert result(call(rpc, plaintext, "resources/templates/list")) == {"resourceTemplates": []}


def test_reads_of_many_contacts_share_one_route(rpc, key, make_key, workspace, make_contact,
                                                flush_usage):
    api_key, plaintext = make_key(workspace, ("read",), name="reader")
    for contact in (make_contact(workspace), make_contact(workspace)):
        call(rpc, plaintext, "resources/read", {"uri": f"sureapp://contacts/{contact.id}"})
    flush_usage()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=api_key.id).all()
    assert {r.route for r in rows} == {"POST /mcp resources/read sureapp://contacts/{contact_id}"}
    assert len({r.path for r in rows}) == 1
