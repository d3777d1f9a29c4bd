"""The official MCP Python SDK client against a live server: handshake, tools, key rules."""
import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from sureapp.contacts import services
from sureapp.contacts.schemas import ContactCreate
from sureapp.extensions import db
from sureapp.mcp.protocol import LATEST_HANDSHAKE_VERSION
from sureapp.models import ApiRequestLog
from sureapp.timeutil import utcnow


def test_handshake_negotiates_the_latest_version_and_lists_tools(sdk_session, make_key, workspace):
    _, plaintext = make_key(workspace, ("read",))

    async def scenario(session):
        tools = await session.list_tools()
        return session.protocol_version, session.server_info, session.server_capabilities, tools

    version, info, capabilities, tools = sdk_session(plaintext, scenario)
    assert version == LATEST_HANDSHAKE_VERSION
    assert info.name == "sureapp"
    assert capabilities.tools is not None
    by_name = {t.name: t for t in tools.tools}
    assert by_name["describe_key"].annotations.read_only_hint is True
    for described in tools.tools:
        assert described.input_schema["type"] == "object"
        assert "; needs " in described.description


def test_describe_key_returns_the_key_and_its_workspace(sdk_session, make_key, workspace,
                                                        structured):
    key, plaintext = make_key(workspace, ("read", "write"), name="Claude desktop")

    async def scenario(session):
        return await session.call_tool("describe_key", {})

    result = sdk_session(plaintext, scenario)
    assert result.is_error is False
    data = structured(result)
    assert data["id"] == str(key.id) and data["name"] == "Claude desktop"
    assert data["abilities"] == ["read", "write"]
    assert data["workspace"] == {"id": str(workspace.id), "name": workspace.name,
                                 "timezone": workspace.timezone}


def test_sdk_reads_and_writes_real_data_visible_through_the_api(sdk_session, make_key, workspace,
                                                                 live_server, structured):
    seeded = services.create_contact(workspace, ContactCreate(email="grace@example.com",
                                                              company="Navy"), "test seed")
    db.session.commit()
    _, plaintext = make_key(workspace, ("read", "write"))

    async def scenario(session):
        names = {t.name for t in (await session.list_tools()).tools}
        found = await session.call_tool("search_contacts", {"query": "navy"})
        created = await session.call_tool("create_contact", {
            "email": "ada@example.com", "first_name": "Ada", "custom_fields": {"plan": "pro"}})
        contact_id = structured(created)["id"]
        a_list = await session.call_tool("create_list", {"name": "Pioneers"})
        list_id = structured(a_list)["id"]
        added = await session.call_tool("add_contacts_to_list", {
            "list_id": list_id, "contact_ids": [contact_id, str(seeded.id)]})
        updated = await session.call_tool("update_contact", {"contact_id": contact_id,
                                                             "job_title": "Analyst"})
        return names, found, added, updated, list_id

    names, found, added, updated, list_id = sdk_session(plaintext, scenario)
    assert {"create_contact", "search_contacts"} <= names
    assert "delete_contact" not in names  # the key may not delete: not offered
    assert [c["email"] for c in structured(found)["data"]] == ["grace@example.com"]
    assert structured(added) == {"added": 2, "member_count": 2}
    contact = structured(updated)
    assert contact["job_title"] == "Analyst" and contact["list_ids"] == [list_id]

    through_api = httpx2.get(f"{live_server}/api/v1/contacts/{contact['id']}",
                             headers={"X-API-Key": plaintext})
    assert through_api.status_code == 200
    assert through_api.json() == contact
    members = httpx2.get(f"{live_server}/api/v1/contacts", params={"list_id": list_id},
                         headers={"X-API-Key": plaintext}).json()["data"]
    assert {c["email"] for c in members} == {"ada@example.com", "grace@example.com"}


def test_sdk_read_only_key_is_refused_write_and_delete_tools(sdk_session, make_key, workspace,
                                                              live_server, structured):
    seeded = services.create_contact(workspace, ContactCreate(email="grace@example.com"), "seed")
    db.session.commit()
    _, plaintext = make_key(workspace, ("read",))

    async def scenario(session):
        return (await session.call_tool("create_contact", {"email": "ada@example.com"}),
                await session.call_tool("update_contact", {"contact_id": str(seeded.id),
                                                           "first_name": "Mallory"}),
                await session.call_tool("delete_contact", {"contact_id": str(seeded.id)}),
                await session.call_tool("get_contact", {"contact_id": str(seeded.id)}))

    created, updated, deleted, read = sdk_session(plaintext, scenario)
    for refused, ability in ((created, "write"), (updated, "write"), (deleted, "delete")):
        assert refused.is_error is True
        assert f"needs the 'contacts:{ability}' scope" in refused.content[0].text
    assert structured(read)["first_name"] == ""
    listed = httpx2.get(f"{live_server}/api/v1/contacts", headers={"X-API-Key": plaintext}).json()
    assert [(c["email"], c["first_name"]) for c in listed["data"]] == [("grace@example.com", "")]


def test_bearer_header_works_too(sdk_session, make_key, structured, workspace):
    key, plaintext = make_key(workspace, ("read",))

    async def scenario(session):
        return await session.call_tool("describe_key", {})

    assert structured(sdk_session(plaintext, scenario, bearer=True))["id"] == str(key.id)


def test_requests_appear_in_the_keys_request_log(sdk_session, make_key, flush_usage, workspace):
    key, plaintext = make_key(workspace, ("read",))

    async def scenario(session):
        await session.send_ping()
        await session.call_tool("describe_key", {})

    sdk_session(plaintext, scenario)
    flush_usage()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=key.id).all()
    # The SDK asks for tools/list before its first tools/call, to learn output schemas.
    assert sorted((r.method, r.path, r.status) for r in rows) == sorted([
        ("POST", "/mcp initialize", 200), ("POST", "/mcp notifications/initialized", 202),
        ("POST", "/mcp ping", 200), ("POST", "/mcp tools/list", 200),
        ("POST", "/mcp tools/call describe_key", 200)])
    assert all(r.client_ip == "127.0.0.1" for r in rows)


def _connect_fails(sdk_session, plaintext) -> MCPError:
    async def scenario(session):  # never reached: initialize fails
        raise AssertionError("connected")

    with pytest.raises(MCPError) as failure:
        sdk_session(plaintext, scenario)
    return failure.value


def test_revoked_key_is_refused(sdk_session, make_key, workspace):
    key, plaintext = make_key(workspace, ("read",))
    key.status, key.revoked_at = "revoked", utcnow()
    db.session.commit()
    assert "revoked" in str(_connect_fails(sdk_session, plaintext))


def test_suremails_key_is_refused_on_mcp(sdk_session, make_key, workspace):
    _, plaintext = make_key(workspace, ("read",), key_type="suremails")
    assert "suremails" in str(_connect_fails(sdk_session, plaintext))


def test_mcp_key_works_on_mcp_but_not_on_the_api(sdk_session, make_key, live_server, structured,
                                                 workspace):
    key, plaintext = make_key(workspace, ("read",), key_type="mcp")

    async def scenario(session):
        return await session.call_tool("describe_key", {})

    assert structured(sdk_session(plaintext, scenario))["type"] == "mcp"
    response = httpx2.get(f"{live_server}/api/v1/me", headers={"X-API-Key": plaintext})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_default_client_settles_on_2026_07_28_through_server_discover(live_server, make_key,
                                                                       structured, workspace):
    """mcp.Client's default mode probes server/discover first; a dual-era server answers it, so
    the client stays on the stateless revision (no initialize at all)."""
    key, plaintext = make_key(workspace, ("read",))

    async def main():
        with anyio.fail_after(15):
            async with httpx2.AsyncClient(headers={"X-API-Key": plaintext}, timeout=15) as http:
                transport = streamable_http_client(f"{live_server}/mcp", http_client=http)
                async with Client(transport) as client:
                    result = await client.call_tool("describe_key", {})
                    return client.session.protocol_version, result

    version, result = anyio.run(main)
    assert version == "2026-07-28"
    assert structured(result)["id"] == str(key.id)
