"""Automations through MCP: the tools run the API's operations, so an assistant gets the same
step checks (a clear tool error naming the field), the same enrolment and the same progress."""
import json

from sureapp.extensions import db
from sureapp.models import Automation

from .conftest import runs_of

MCP_ACCEPT = "application/json, text/event-stream"


def call(client, key, name, arguments):
    response = client.post("/mcp", headers={"X-API-Key": key, "Accept": MCP_ACCEPT,
                                            "MCP-Protocol-Version": "2025-11-25",
                                            "Content-Type": "application/json"},
                           data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                            "params": {"name": name, "arguments": arguments}}))
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()["result"]
    return result["isError"], result.get("structuredContent"), result["content"][0]["text"]


def test_an_assistant_builds_an_automation_that_runs(client, workspace, make_key, api, run_due):
    key = make_key(workspace)[1]
    is_error, created, text = call(client, key, "create_automation", {
        "name": "Welcome", "trigger": "contact_created", "status": "active",
        "steps": [{"type": "wait", "amount": 1, "unit": "days"}]})
    assert not is_error, text
    call(client, key, "create_contact", {"email": "mcp@example.com"})  # an MCP entry point
    assert len(runs_of(created["id"])) == 1
    _, shown, _ = call(client, key, "get_automation", {"automation_id": created["id"]})
    assert shown["progress"]["enrolled"] == 1
    _, page, _ = call(client, key, "list_automation_runs", {"automation_id": created["id"]})
    assert [r["state"] for r in page["data"]] == ["scheduled"]


def test_a_bad_step_is_a_tool_error_naming_it(client, workspace, make_key):
    key = make_key(workspace)[1]
    is_error, _, text = call(client, key, "create_automation", {
        "name": "Bad", "trigger": "contact_created",
        "steps": [{"type": "wait", "amount": 0, "unit": "days"}]})
    assert is_error and "steps.0.wait.amount" in text
    assert db.session.query(Automation).count() == 0


def test_a_read_key_may_not_create(client, workspace, make_key):
    key = make_key(workspace, ("read",))[1]
    is_error, _, text = call(client, key, "create_automation", {
        "name": "No", "trigger": "contact_created"})
    assert is_error and "automations:write" in text
    assert db.session.query(Automation).count() == 0
