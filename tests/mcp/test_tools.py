"""Tool behaviour through the Flask test client: same data and rules as the JSON API, abilities
enforced before anything runs, domain errors as tool errors, other workspaces invisible."""
import uuid
from urllib.parse import quote

import pytest

from sureapp.extensions import db
from sureapp.models import (Campaign, Contact, ContactEvent, ContactList, Tag, list_members,
                            tag_members)
from sureapp.mcp.tools import TOOLS
from sureapp.operations import METHOD_ABILITY, find


@pytest.fixture
def full_key(make_key, workspace):
    return make_key(workspace, ("read", "write", "delete"))[1]


@pytest.fixture
def run_tool(call_tool):
    """Call a tool (2025-11-25) and return (is_error, structuredContent, text)."""
    def run(key, name, arguments=None):
        response = call_tool(key, name, arguments if arguments is not None else {})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert "error" not in body, body
        result = body["result"]
        return result["isError"], result["structuredContent"], result["content"][0]["text"]

    return run


@pytest.fixture
def ok(run_tool):
    def run(key, name, arguments=None):
        is_error, data, text = run_tool(key, name, arguments)
        assert not is_error, text
        return data

    return run


@pytest.fixture
def api_get(client):
    def get(key, path):
        response = client.get(f"/api/v1{path}", headers={"X-API-Key": key})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return get


def count(model) -> int:
    db.session.expire_all()
    return db.session.query(model).count()


# ---- the table mirrors the API ----------------------------------------------------------------

def test_every_tool_runs_an_operation_the_api_serves_and_needs_its_ability(app):
    served = {rule.endpoint for rule in app.url_map.iter_rules()}
    for name, described in TOOLS.items():
        op = described.operation
        assert op is find(op.name) and f"api.{op.name}" in served, name
        assert described.ability == METHOD_ABILITY[op.method], name


def test_the_tool_set_covers_the_brief():
    expected = {"describe_key", "get_report_summary", "search_contacts", "list_contacts",
                "get_contact", "create_contact", "update_contact", "delete_contact",
                "list_lists", "create_list", "add_contacts_to_list", "remove_contact_from_list",
                "list_tags", "create_tag", "add_contacts_to_tag", "remove_contact_from_tag",
                "list_campaigns", "get_campaign", "create_campaign", "send_campaign",
                "pause_campaign", "resume_campaign", "cancel_campaign", "list_automations",
                "get_automation", "create_automation", "update_automation",
                "list_automation_runs", "retry_automation_run"}
    assert set(TOOLS) == expected


# ---- contacts -----------------------------------------------------------------------------------

def test_created_contact_is_what_the_api_returns(ok, api_get, full_key):
    created = ok(full_key, "create_contact", {
        "email": "  Ada@Example.COM ", "first_name": "Ada", "custom_fields": {"plan": "pro"}})
    assert created["email"] == "ada@example.com"
    assert api_get(full_key, f"/contacts/{created['id']}") == created
    assert ok(full_key, "get_contact", {"contact_id": created["id"]}) == created


def test_changes_are_attributed_to_mcp_and_the_key(ok, make_key, workspace):
    _, plaintext = make_key(workspace, ("read", "write"), name="Claude desktop")
    created = ok(plaintext, "create_contact", {"email": "ada@example.com"})
    event = db.session.query(ContactEvent).filter_by(contact_id=uuid.UUID(created["id"])).one()
    assert event.action == "created"
    assert event.source == "MCP via API key: Claude desktop"


def test_update_changes_only_the_fields_given(ok, api_get, full_key):
    created = ok(full_key, "create_contact", {"email": "ada@example.com", "first_name": "Ada",
                                              "company": "Analytical"})
    updated = ok(full_key, "update_contact", {"contact_id": created["id"], "company": "Engines"})
    assert updated["company"] == "Engines" and updated["first_name"] == "Ada"
    assert api_get(full_key, f"/contacts/{created['id']}")["company"] == "Engines"


def test_duplicate_email_is_a_tool_error_and_writes_nothing(ok, run_tool, full_key):
    ok(full_key, "create_contact", {"email": "ada@example.com"})
    is_error, data, text = run_tool(full_key, "create_contact", {"email": "ADA@example.com"})
    assert is_error and data["type"] == "Conflict"
    assert "already exists" in text
    assert count(Contact) == 1


def test_contact_allocation_is_enforced(ok, run_tool, full_key, workspace):
    workspace.contact_allocation = 1
    db.session.commit()
    ok(full_key, "create_contact", {"email": "one@example.com"})
    is_error, data, text = run_tool(full_key, "create_contact", {"email": "two@example.com"})
    assert is_error and data["type"] == "LimitExceeded" and data["limit"] == 1
    assert "allocation" in text
    assert count(Contact) == 1


def test_search_and_list_page_through_contacts(ok, full_key):
    for n in range(3):
        ok(full_key, "create_contact", {"email": f"user{n}@example.com", "company": "Acme"})
    ok(full_key, "create_contact", {"email": "other@example.org"})
    first = ok(full_key, "search_contacts", {"query": "acme", "limit": 2})
    assert len(first["data"]) == 2 and first["next_cursor"]
    second = ok(full_key, "search_contacts", {"query": "ACME", "limit": 2,
                                              "cursor": first["next_cursor"]})
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    emails = {c["email"] for c in first["data"] + second["data"]}
    assert emails == {f"user{n}@example.com" for n in range(3)}
    assert len(ok(full_key, "list_contacts", {})["data"]) == 4


def test_listing_and_search_tools_answer_the_apis_body(ok, api_get, full_key):
    """One read path: the tools run the API's operations, so each page is the API's page."""
    a_list = ok(full_key, "create_list", {"name": "Customers"})
    for n in range(3):
        ok(full_key, "create_contact", {"email": f"user{n}@example.com", "first_name": "Ana",
                                        "last_name": f"Lima {n}", "list_ids": [a_list["id"]]})
    ok(full_key, "create_contact", {"email": "other@example.org"})
    first = ok(full_key, "list_contacts", {"limit": 2, "list_id": a_list["id"]})
    assert first == api_get(full_key, f"/contacts?limit=2&list_id={a_list['id']}")
    rest = ok(full_key, "list_contacts", {"limit": 2, "list_id": a_list["id"],
                                          "cursor": first["next_cursor"]})
    assert rest == api_get(full_key, f"/contacts?limit=2&list_id={a_list['id']}"
                                     f"&cursor={quote(first['next_cursor'])}")
    assert len(first["data"]) + len(rest["data"]) == 3
    assert ok(full_key, "search_contacts", {"query": "ana"}) == api_get(full_key,
                                                                        "/contacts?search=ana")


def test_a_forged_cursor_is_a_tool_error(run_tool, full_key):
    is_error, data, _ = run_tool(full_key, "list_contacts", {"cursor": "bm90LWEtY3Vyc29y"})
    assert is_error and "cursor" in data["errors"]


def test_delete_removes_the_contact(ok, run_tool, client, full_key):
    created = ok(full_key, "create_contact", {"email": "ada@example.com"})
    assert ok(full_key, "delete_contact", {"contact_id": created["id"]})["deleted"] is True
    response = client.get(f"/api/v1/contacts/{created['id']}", headers={"X-API-Key": full_key})
    assert response.status_code == 404
    is_error, data, _ = run_tool(full_key, "delete_contact", {"contact_id": created["id"]})
    assert is_error and data["type"] == "NotFound"


# ---- abilities --------------------------------------------------------------------------------

def _valid_arguments(contact_id, list_id, tag_id):
    return {
        "create_contact": {"email": "new@example.com"},
        "update_contact": {"contact_id": contact_id, "first_name": "Changed"},
        "delete_contact": {"contact_id": contact_id},
        "create_list": {"name": "New list"},
        "add_contacts_to_list": {"list_id": list_id, "contact_ids": [contact_id]},
        "remove_contact_from_list": {"list_id": list_id, "contact_id": contact_id},
        "create_tag": {"name": "New tag"},
        "add_contacts_to_tag": {"tag_id": tag_id, "contact_ids": [contact_id]},
        "remove_contact_from_tag": {"tag_id": tag_id, "contact_id": contact_id},
        "create_campaign": {"name": "Launch", "list_ids": [list_id]},
    }


@pytest.mark.parametrize("abilities,expected_refusals", [
    (("read",), 10), (("read", "write"), 3), (("read", "delete"), 7)])
def test_tools_beyond_the_keys_abilities_are_refused_and_change_nothing(
        ok, run_tool, make_key, full_key, abilities, expected_refusals, workspace):
    contact = ok(full_key, "create_contact", {"email": "ada@example.com", "first_name": "Ada"})
    a_list = ok(full_key, "create_list", {"name": "Customers"})
    a_tag = ok(full_key, "create_tag", {"name": "VIP"})
    ok(full_key, "add_contacts_to_list", {"list_id": a_list["id"], "contact_ids": [contact["id"]]})
    ok(full_key, "add_contacts_to_tag", {"tag_id": a_tag["id"], "contact_ids": [contact["id"]]})
    before = {model: count(model) for model in (Contact, ContactList, Tag, Campaign, ContactEvent)}
    _, limited = make_key(workspace, abilities)

    refused = 0
    for name, arguments in _valid_arguments(contact["id"], a_list["id"], a_tag["id"]).items():
        needed = TOOLS[name].ability
        if needed in abilities:
            continue
        is_error, data, text = run_tool(limited, name, arguments)
        assert is_error, name
        assert f"'{needed}' ability" in text
        assert data["required_ability"] == needed and data["key_abilities"] == list(abilities)
        refused += 1
    assert refused == expected_refusals

    assert {model: count(model) for model in before} == before
    assert ok(full_key, "get_contact", {"contact_id": contact["id"]})["first_name"] == "Ada"
    assert db.session.query(list_members).count() == 1
    assert db.session.query(tag_members).count() == 1


def test_read_tools_work_with_a_read_only_key(ok, make_key, full_key, workspace):
    created = ok(full_key, "create_contact", {"email": "ada@example.com"})
    _, read_only = make_key(workspace, ("read",))
    assert ok(read_only, "get_contact", {"contact_id": created["id"]})["id"] == created["id"]
    assert ok(read_only, "get_report_summary")["total_contacts"] == 1


def test_ability_is_checked_before_the_arguments(run_tool, make_key, workspace):
    """A key without 'write' learns that, not how to fix arguments it may not use anyway."""
    _, read_only = make_key(workspace, ("read",))
    is_error, data, _ = run_tool(read_only, "create_contact", {"bogus": True})
    assert is_error and data["required_ability"] == "write"


# ---- other workspaces -------------------------------------------------------------------------

def test_another_workspaces_records_are_not_found(ok, run_tool, make_key, make_workspace_only,
                                                  full_key):
    _, outsider = make_key(make_workspace_only("Other"), ("read", "write", "delete"))
    contact = ok(full_key, "create_contact", {"email": "ada@example.com"})
    a_list = ok(full_key, "create_list", {"name": "Customers"})
    attempts = {
        "get_contact": {"contact_id": contact["id"]},
        "update_contact": {"contact_id": contact["id"], "first_name": "Mallory"},
        "delete_contact": {"contact_id": contact["id"]},
        "add_contacts_to_list": {"list_id": a_list["id"], "contact_ids": [contact["id"]]},
        "create_contact": {"email": "x@example.com", "list_ids": [a_list["id"]]},
        "list_contacts": {"list_id": a_list["id"]},
    }
    for name, arguments in attempts.items():
        is_error, data, _ = run_tool(outsider, name, arguments)
        assert is_error and data["type"] == "NotFound", name
    assert ok(outsider, "list_contacts")["data"] == []
    assert ok(full_key, "get_contact", {"contact_id": contact["id"]})["first_name"] == ""
    assert count(Contact) == 1


def test_adding_a_foreign_contact_to_a_list_adds_nobody(ok, run_tool, make_key,
                                                         make_workspace_only, full_key):
    _, outsider = make_key(make_workspace_only("Other"), ("read", "write"))
    foreign = ok(outsider, "create_contact", {"email": "eve@example.com"})
    mine = ok(full_key, "create_contact", {"email": "ada@example.com"})
    a_list = ok(full_key, "create_list", {"name": "Customers"})
    is_error, data, _ = run_tool(full_key, "add_contacts_to_list", {
        "list_id": a_list["id"], "contact_ids": [mine["id"], foreign["id"]]})
    assert is_error and data["type"] == "NotFound"
    assert db.session.query(list_members).count() == 0


# ---- lists, tags, campaigns, report -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["list", "tag"])
def test_group_membership_round_trip(ok, run_tool, api_get, full_key, kind):
    contacts = [ok(full_key, "create_contact", {"email": f"c{n}@example.com"})["id"]
                for n in range(2)]
    group = ok(full_key, f"create_{kind}", {"name": "Big Customers"})
    assert group["member_count"] == 0
    if kind == "tag":
        assert group["slug"] == "big-customers"

    change = ok(full_key, f"add_contacts_to_{kind}", {f"{kind}_id": group["id"],
                                                      "contact_ids": contacts})
    assert change == {"added": 2, "member_count": 2}
    again = ok(full_key, f"add_contacts_to_{kind}", {f"{kind}_id": group["id"],
                                                     "contact_ids": contacts})
    assert again == {"added": 0, "member_count": 2}
    assert group["id"] in api_get(full_key, f"/contacts/{contacts[0]}")[f"{kind}_ids"]

    removed = ok(full_key, f"remove_contact_from_{kind}", {f"{kind}_id": group["id"],
                                                           "contact_id": contacts[0]})
    assert removed["removed"] is True and removed["member_count"] == 1
    is_error, data, _ = run_tool(full_key, f"remove_contact_from_{kind}",
                                 {f"{kind}_id": group["id"], "contact_id": contacts[0]})
    assert is_error and data["type"] == "NotFound"

    listed = ok(full_key, f"list_{kind}s", {"search": "big"})
    assert [(g["id"], g["member_count"]) for g in listed["data"]] == [(group["id"], 1)]
    assert listed == api_get(full_key, f"/{kind}s?search=big")


@pytest.mark.parametrize("kind,arguments,message", [
    ("list", {"name": "Customers"}, "already exists"),
    ("tag", {"name": "VIP"}, "already exists"),
])
def test_duplicate_group_names_are_a_conflict(ok, run_tool, full_key, kind, arguments, message):
    ok(full_key, f"create_{kind}", arguments)
    is_error, data, text = run_tool(full_key, f"create_{kind}", arguments)
    assert is_error and data["type"] == "Conflict" and message in text


def test_campaigns(ok, run_tool, api_get, full_key):
    a_list = ok(full_key, "create_list", {"name": "Customers"})
    created = ok(full_key, "create_campaign", {
        "name": "Launch", "subject": "Hello", "from_email": "News@Example.com",
        "list_ids": [a_list["id"]], "scheduled_at": "2030-01-02T09:00:00+01:00"})
    assert created["from_email"] == "news@example.com" and created["status"] == "draft"
    assert created["scheduled_at"] == "2030-01-02T08:00:00Z"
    assert ok(full_key, "get_campaign", {"campaign_id": created["id"]}) == created
    assert api_get(full_key, f"/campaigns/{created['id']}") == created
    listed = ok(full_key, "list_campaigns", {"status": "draft"})
    assert [c["id"] for c in listed["data"]] == [created["id"]]

    is_error, data, _ = run_tool(full_key, "create_campaign", {"name": "Later", "status": "sent"})
    assert is_error and "set by the system" in data["errors"]["status"][0]
    is_error, data, text = run_tool(full_key, "send_campaign", {"campaign_id": created["id"]})
    assert is_error and data["type"] == "SendingUnavailable" and "No SMTP server is set up" in text
    assert count(Campaign) == 1


def test_report_summary_matches_the_api(ok, api_get, full_key):
    ok(full_key, "create_contact", {"email": "ada@example.com", "status": "pending"})
    summary = ok(full_key, "get_report_summary")
    assert summary["contacts_by_status"]["pending"] == 1
    assert summary == api_get(full_key, "/reports/summary")


def test_describe_key_matches_the_api(ok, api_get, full_key):
    assert ok(full_key, "describe_key") == api_get(full_key, "/me")


# ---- arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("arguments,field", [
    ({"email": "not-an-email"}, "email"),
    ({}, "email"),
    ({"email": "a@example.com", "status": "vip"}, "status"),
    ({"email": "a@example.com", "first_name": "nul\x00byte"}, "first_name"),
    ({"email": "a@example.com", "list_ids": ["not-a-uuid"]}, "list_ids.0"),
    ({"email": "a@example.com", "nickname": "Ada"}, "nickname"),
])
def test_invalid_arguments_name_the_field_and_write_nothing(call_tool, full_key, arguments, field):
    old = call_tool(full_key, "create_contact", arguments, version="2025-06-18").get_json()
    assert old["error"]["code"] == -32602 and field in old["error"]["data"]["errors"]
    new = call_tool(full_key, "create_contact", arguments, version="2025-11-25").get_json()
    assert new["result"]["isError"] is True
    assert field in new["result"]["structuredContent"]["errors"]
    assert count(Contact) == 0


def test_input_schemas_are_the_api_schemas(rpc, full_key):
    from sureapp.contacts.schemas import ContactCreate

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    tools = {t["name"]: t for t in rpc(body, key=full_key).get_json()["result"]["tools"]}
    schema = tools["create_contact"]["inputSchema"]
    assert schema["required"] == ["email"]
    assert schema["additionalProperties"] is False
    assert schema["properties"] == ContactCreate.model_json_schema()["properties"]
    assert tools["update_contact"]["inputSchema"]["required"] == ["contact_id"]


# ---- failures inside a tool -----------------------------------------------------------------

def _replace_handler(monkeypatch, name, handler):
    """The tool's operation with another handler (what both surfaces would run)."""
    import dataclasses

    tool = TOOLS[name]
    operation = dataclasses.replace(tool.operation, handler=handler)
    monkeypatch.setitem(TOOLS, name, dataclasses.replace(tool, operation=operation))


def test_a_bug_in_a_tool_is_an_internal_error_and_its_writes_are_rolled_back(
        monkeypatch, call_tool, full_key, caplog):
    from sureapp.contacts import services
    from sureapp.contacts.schemas import ContactCreate

    def half_done(caller, body):
        services.create_contact(caller.workspace, ContactCreate(email="ghost@example.com"), "bug")
        raise RuntimeError("boom")

    _replace_handler(monkeypatch, "create_contact", half_done)
    response = call_tool(full_key, "create_contact", {"email": "ghost@example.com"})
    assert response.status_code == 200
    assert response.get_json()["error"]["code"] == -32603
    assert "boom" not in response.get_data(as_text=True)  # no internals leak to the client
    # Logged as its type and route (errorlog.py), never with its message.
    assert "builtins.RuntimeError on POST /mcp" in caplog.text and "boom" not in caplog.text
    assert count(Contact) == 0


def test_database_outage_inside_a_tool_is_503_with_retry_after(monkeypatch, call_tool, full_key):
    from sqlalchemy.exc import OperationalError

    def outage(caller, query):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    _replace_handler(monkeypatch, "list_contacts", outage)
    response = call_tool(full_key, "list_contacts", {})
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_a_write_race_is_a_conflict_tool_error_not_an_internal_error(monkeypatch, run_tool,
                                                                      full_key):
    """Two writers at once: the unique index, not the service's check, refuses the second."""
    from sqlalchemy.exc import IntegrityError

    def racing(caller, body):
        raise IntegrityError("INSERT INTO contacts", {}, Exception("UNIQUE constraint failed"))

    _replace_handler(monkeypatch, "create_contact", racing)
    is_error, data, text = run_tool(full_key, "create_contact", {"email": "ada@example.com"})
    assert is_error and data["type"] == "Conflict"
    assert text.startswith("This conflicts with data written at the same moment; retry the request.")
    assert count(Contact) == 0
