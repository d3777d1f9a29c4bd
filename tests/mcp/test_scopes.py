"""Restricted keys over MCP, tested as an assistant holding one: tools/list offers only the
tools the key may call, and calling any other is a tool error naming the scope, doing nothing."""
import pytest

from sureapp.contacts import services
from sureapp.contacts.schemas import ContactCreate
from sureapp.extensions import db
from sureapp.mcp.tools import TOOLS
from sureapp.models import Contact, ContactList

READ_CONTACTS_TOOLS = {"describe_key", "search_contacts", "list_contacts", "get_contact"}


@pytest.fixture
def listed(rpc):
    def names(key) -> set[str]:
        body = rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, key=key).get_json()
        return {t["name"] for t in body["result"]["tools"]}

    return names


@pytest.fixture
def tool_result(call_tool):
    def run(key, name, arguments):
        body = call_tool(key, name, arguments).get_json()
        assert "error" not in body, body
        return body["result"]

    return run


@pytest.fixture
def contact(workspace):
    created = services.create_contact(workspace, ContactCreate(email="ada@example.com"), "seed")
    db.session.commit()
    return created


def test_tools_list_shows_only_what_a_contacts_read_key_may_call(listed, make_key, workspace):
    _, reader = make_key(workspace, ("contacts:read",))
    assert listed(reader) == READ_CONTACTS_TOOLS


def test_tools_list_follows_each_scope(listed, make_key, workspace):
    _, full = make_key(workspace)
    assert listed(full) == set(TOOLS)
    _, lists_writer = make_key(workspace, ("lists:write",))
    assert listed(lists_writer) == {"describe_key", "create_list", "add_contacts_to_list"}
    _, mixed = make_key(workspace, ("read", "tags:delete"))
    assert listed(mixed) == {n for n, t in TOOLS.items() if t.ability == "read"} | {
        "remove_contact_from_tag"}


def test_every_unlisted_tool_fails_naming_its_scope_and_writes_nothing(
        tool_result, make_key, workspace, contact):
    a_list = ContactList(workspace_id=workspace.id, name="Customers")
    db.session.add(a_list)
    db.session.commit()
    _, reader = make_key(workspace, ("contacts:read",))
    before = (db.session.query(Contact).count(), db.session.query(ContactList).count())
    ids = {"contact_id": str(contact.id), "list_id": str(a_list.id), "tag_id": str(a_list.id),
           "campaign_id": str(contact.id), "automation_id": str(contact.id),
           "run_id": str(contact.id)}
    for name, tool in TOOLS.items():
        if name in READ_CONTACTS_TOOLS:
            continue
        arguments = {p: ids[p] for p in tool.operation.path_params}
        result = tool_result(reader, name, arguments)
        assert result["isError"] is True, name
        data = result["structuredContent"]
        assert data["required_scope"] == tool.operation.scope, name
        assert data["required_ability"] == tool.ability
        assert f"'{tool.operation.scope}' scope" in result["content"][0]["text"]
    assert (db.session.query(Contact).count(), db.session.query(ContactList).count()) == before
    db.session.refresh(contact)
    assert contact.email == "ada@example.com"


def test_a_contacts_read_key_reads_contacts(tool_result, make_key, workspace, contact):
    _, reader = make_key(workspace, ("contacts:read",))
    result = tool_result(reader, "get_contact", {"contact_id": str(contact.id)})
    assert result["isError"] is False
    assert result["structuredContent"]["email"] == "ada@example.com"
    described = tool_result(reader, "describe_key", {})["structuredContent"]
    assert described["abilities"] == ["contacts:read"]


def test_the_sdk_client_sees_only_the_allowed_tools(sdk_session, make_key, workspace):
    _, reader = make_key(workspace, ("contacts:read",))

    async def scenario(session):
        return (await session.list_tools(),
                await session.call_tool("create_contact", {"email": "eve@example.com"}))

    tools, refused = sdk_session(reader, scenario)
    assert {t.name for t in tools.tools} == READ_CONTACTS_TOOLS
    assert refused.is_error is True
    assert "needs the 'contacts:write' scope" in refused.content[0].text
    assert db.session.query(Contact).count() == 0


def test_a_tool_outside_the_scope_is_logged_as_refused_for_its_scope(rpc, make_key, workspace):
    from flask import current_app
    from sqlalchemy import select

    from sureapp.models import ApiRequestLog
    from sureapp.usage.recorder import get_recorder

    key, reader = make_key(workspace, ("contacts:read",))
    body = rpc([{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                 "params": {"name": "list_contacts", "arguments": {}}},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": "create_contact", "arguments": {"email": "x@example.com"}}}],
               key=reader, version="2025-03-26").get_json()  # the one revision with batches
    assert [r["result"].get("isError", False) for r in sorted(body, key=lambda r: r["id"])] == [
        False, True]
    get_recorder(current_app).flush()
    rows = db.session.execute(select(ApiRequestLog.path, ApiRequestLog.reason)
                              .where(ApiRequestLog.api_key_id == key.id)
                              .order_by(ApiRequestLog.id)).all()
    assert sorted(rows) == [("/mcp tools/call create_contact", "scope"),
                            ("/mcp tools/call list_contacts", None)]
    assert db.session.query(Contact).count() == 0
