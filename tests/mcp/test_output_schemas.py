"""Every tool's outputSchema describes the structuredContent its real calls return (validated
with jsonschema, as clients are told to), and its annotations say what it does."""
import pytest
from jsonschema import Draft202012Validator, ValidationError

from sureapp.automations import runs
from sureapp.contacts import tags
from sureapp.extensions import db
from sureapp.mcp.tools import TOOLS


@pytest.fixture
def key(make_key, workspace):
    return make_key(workspace, ("read", "write", "delete"))[1]


def listed_tools(rpc, key, version="2025-11-25") -> dict[str, dict]:
    response = rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, key=key, version=version)
    return {t["name"]: t for t in response.get_json()["result"]["tools"]}


def validator(tool: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(tool["outputSchema"])
    return Draft202012Validator(tool["outputSchema"])


def test_every_tool_declares_a_valid_output_schema(rpc, key):
    tools = listed_tools(rpc, key)
    assert set(tools) == set(TOOLS)
    for tool in tools.values():
        assert tool["outputSchema"]["type"] == "object", tool["name"]
        validator(tool)


def test_output_schemas_arrive_with_structured_content_in_2025_06_18(rpc, key):
    assert all("outputSchema" in t for t in listed_tools(rpc, key, "2025-06-18").values())
    assert not any("outputSchema" in t for t in listed_tools(rpc, key, "2025-03-26").values())


def test_every_tools_real_result_matches_its_output_schema(app, rpc, call_tool, key, workspace,
                                                           make_contact, make_list, make_tag,
                                                           smtp_server):
    """One real call of every tool, on data that makes each answer non-trivial (lists with
    members, custom fields, a campaign through send/pause/resume/cancel, a next_cursor)."""
    app.config["SMTP_URL"] = smtp_server.url()  # so the campaign may be sent (scheduled)
    tools = listed_tools(rpc, key)
    contacts = [make_contact(workspace, first_name=f"C{i}", company="Acme",
                             custom_fields={"plan": "pro", "seats": i}) for i in range(3)]
    a_list, a_tag = make_list(workspace, members=contacts[:2]), make_tag(workspace)
    seen: dict[str, dict] = {}

    def run(tool, **arguments):
        result = call_tool(key, tool, arguments).get_json()["result"]
        assert result["isError"] is False, (tool, result)
        seen[tool] = result["structuredContent"]
        return result["structuredContent"]

    run("describe_key")
    run("get_report_summary")
    run("search_contacts", query="acme", limit=1)
    run("list_contacts", limit=2)
    run("get_contact", contact_id=str(contacts[0].id))
    automation = run("create_automation", name="Welcome", trigger="contact_created",
                     status="active", steps=[{"type": "wait", "amount": 1, "unit": "days"},
                                             {"type": "add_tag", "tag_id": str(a_tag.id)}])
    created = run("create_contact", email="ada@example.com", list_ids=[str(a_list.id)],
                  tag_ids=[str(a_tag.id)], custom_fields={"vip": True})
    run("update_contact", contact_id=created["id"], phone="+351 21 000 0000")
    run("list_lists")
    run("list_tags")
    run("create_list", name="Second list")
    run("create_tag", name="Second tag", color="#2563eb")
    run("add_contacts_to_list", list_id=str(a_list.id), contact_ids=[str(contacts[2].id)])
    run("add_contacts_to_tag", tag_id=str(a_tag.id), contact_ids=[str(contacts[2].id)])
    run("remove_contact_from_list", list_id=str(a_list.id), contact_id=str(contacts[0].id))
    run("remove_contact_from_tag", tag_id=str(a_tag.id), contact_id=str(contacts[2].id))
    campaign = run("create_campaign", name="Launch", subject="Hello", content_html="<p>Hi</p>",
                   from_email="news@example.com", list_ids=[str(a_list.id)],
                   scheduled_at="2030-01-01T09:00:00Z")
    run("get_campaign", campaign_id=campaign["id"])
    run("list_campaigns")
    for step in ("send_campaign", "pause_campaign", "resume_campaign", "cancel_campaign"):
        run(step, campaign_id=campaign["id"])
    run("get_automation", automation_id=automation["id"])
    run("list_automations")
    assert run("list_automation_runs", automation_id=automation["id"])["data"]  # ada enrolled
    # A run that failed (its tag was deleted) is retried once the step works again.
    doomed = make_tag(workspace, "Doomed")
    fragile = run("create_automation", name="Tagger", trigger="contact_created", status="active",
                  steps=[{"type": "add_tag", "tag_id": str(doomed.id)}])
    run("create_contact", email="grace@example.com")
    tags.delete_tag(workspace, doomed.id)
    db.session.commit()
    runs.advance_due()
    (failed,) = run("list_automation_runs", automation_id=fragile["id"], state="failed")["data"]
    assert run("retry_automation_run", automation_id=fragile["id"],
               run_id=failed["id"])["state"] == "scheduled"
    run("update_automation", automation_id=automation["id"], status="paused")
    run("delete_contact", contact_id=str(contacts[1].id))

    assert set(seen) == set(TOOLS), set(TOOLS) - set(seen)
    assert seen["list_contacts"]["next_cursor"]  # the page-with-more case is covered too
    for name, data in seen.items():
        errors = sorted(validator(tools[name]).iter_errors(data), key=str)
        assert not errors, (name, [e.message for e in errors])


@pytest.mark.parametrize("name, wrong", [
    ("delete_contact", {"deleted": False, "contact_id": "00000000-0000-0000-0000-000000000000"}),
    ("delete_contact", {"deleted": True}),
    ("remove_contact_from_list", {"removed": True, "list_id": "x", "contact_id": "y"}),
    ("add_contacts_to_list", {"added": "two", "member_count": 2}),
    ("get_contact", {"id": "x"}),
    ("list_contacts", {"data": [{"email": 5}], "next_cursor": None}),
])
def test_an_output_schema_refuses_what_the_tool_never_answers(rpc, key, name, wrong):
    with pytest.raises(ValidationError):
        validator(listed_tools(rpc, key)[name]).validate(wrong)


READ_ONLY = {"describe_key", "get_report_summary", "search_contacts", "list_contacts",
             "get_contact", "list_lists", "list_tags", "list_campaigns", "get_campaign",
             "list_automations", "get_automation", "list_automation_runs"}
DESTRUCTIVE = {"update_contact", "delete_contact", "remove_contact_from_list",
               "remove_contact_from_tag", "cancel_campaign", "update_automation"}
NOT_IDEMPOTENT = {"create_contact", "create_list", "create_tag", "create_campaign",
                  "send_campaign", "create_automation"}
# They mail people outside the workspace (an active automation's send_email step does).
OPEN_WORLD = {"send_campaign", "resume_campaign", "create_automation", "update_automation",
              "retry_automation_run"}


def test_annotations_say_what_each_tool_does(rpc, key):
    for name, tool in listed_tools(rpc, key).items():
        assert tool["annotations"] == {
            "title": tool["title"], "readOnlyHint": name in READ_ONLY,
            "destructiveHint": name in DESTRUCTIVE, "idempotentHint": name not in NOT_IDEMPOTENT,
            "openWorldHint": name in OPEN_WORLD}, name
