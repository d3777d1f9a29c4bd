"""The official MCP Python SDK's client on the stateless 2026-07-28 revision against a live
server: discovery, tools (the SDK validates structuredContent against outputSchema itself),
resources, prompts, the key's scopes and the request log."""
import json
import uuid

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from sureapp.extensions import db
from sureapp.models import ApiRequestLog, Contact
from sureapp.timeutil import utcnow

from .conftest import CLIENT_TIMEOUT, MODERN, run_unwrapped


@pytest.fixture
def sdk_client(live_server):
    """Run `await scenario(client)` in mcp.Client connected with `plaintext` in `mode`
    ("2026-07-28" pins the revision without a probe; "auto" discovers it)."""
    def run(plaintext: str, scenario, mode: str = MODERN):
        async def main():
            with anyio.fail_after(CLIENT_TIMEOUT):
                async with httpx2.AsyncClient(headers={"X-API-Key": plaintext},
                                              timeout=CLIENT_TIMEOUT) as http:
                    transport = streamable_http_client(f"{live_server}/mcp", http_client=http)
                    async with Client(transport, mode=mode) as client:
                        return await scenario(client)

        return run_unwrapped(main)

    return run


def test_discovery_tells_the_sdk_who_we_are(sdk_client, make_key, workspace):
    _, plaintext = make_key(workspace, ("read",))

    async def scenario(client):
        return (client.protocol_version, client.server_info, client.server_capabilities,
                client.instructions)

    version, info, capabilities, instructions = sdk_client(plaintext, scenario, mode="auto")
    assert version == MODERN
    assert info.name == "sureapp"
    assert capabilities.tools is not None and capabilities.resources is not None
    assert capabilities.prompts is not None
    assert workspace.name in instructions


def test_tools_with_output_schemas_read_and_write(sdk_client, make_key, workspace, structured):
    _, plaintext = make_key(workspace, ("read", "write"))

    async def scenario(client):
        tools = (await client.list_tools()).tools
        created = await client.call_tool("create_contact", {"email": "ada@example.com",
                                                            "first_name": "Ada"})
        found = await client.call_tool("search_contacts", {"query": "ada"})
        return tools, created, found

    tools, created, found = sdk_client(plaintext, scenario)
    assert all(t.output_schema for t in tools)
    # The tools that can mail people outside the workspace.
    assert {t.name for t in tools if t.annotations.open_world_hint} == {
        "send_campaign", "resume_campaign", "create_automation", "update_automation",
        "retry_automation_run"}
    assert "delete_contact" not in {t.name for t in tools}
    contact = structured(created)
    assert contact["email"] == "ada@example.com"
    assert [c["id"] for c in structured(found)["data"]] == [contact["id"]]
    db.session.expire_all()
    assert db.session.get(Contact, uuid.UUID(contact["id"])).first_name == "Ada"


def test_resources_and_prompts_through_the_sdk(sdk_client, make_key, workspace, make_contact):
    _, plaintext = make_key(workspace, ("read",))
    contact = make_contact(workspace, first_name="Grace")

    async def scenario(client):
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
        summary = await client.read_resource("sureapp://reports/summary")
        one = await client.read_resource(f"sureapp://contacts/{contact.id}")
        prompts = await client.list_prompts()
        prompt = await client.get_prompt("clean_up_duplicate_contacts", {"search": "Grace"})
        return listed, templates, summary, one, prompts, prompt

    listed, templates, summary, one, prompts, prompt = sdk_client(plaintext, scenario)
    assert [str(r.uri) for r in listed.resources] == ["sureapp://reports/summary"]
    assert listed.ttl_ms == 300_000 and listed.cache_scope == "private"
    assert [t.uri_template for t in templates.resource_templates] == [
        "sureapp://contacts/{contact_id}"]
    assert json.loads(summary.contents[0].text)["contacts_by_status"]["active"] == 1
    assert json.loads(one.contents[0].text)["first_name"] == "Grace"
    # A read-only key: the campaign prompt (it writes) is not offered.
    assert [p.name for p in prompts.prompts] == ["clean_up_duplicate_contacts",
                                                 "summarise_workspace"]
    assert '"Grace"' in prompt.messages[0].content.text


def test_refusals_reach_the_sdk_as_the_spec_says(sdk_client, make_key, workspace):
    _, plaintext = make_key(workspace, ("contacts:read",))

    async def scenario(client):
        refused_tool = await client.call_tool("create_contact", {"email": "x@example.com"})
        with pytest.raises(MCPError) as refused_resource:
            await client.read_resource("sureapp://reports/summary")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("sureapp://contacts/00000000-0000-0000-0000-000000000000")
        return refused_tool, refused_resource.value, missing.value

    tool, resource, missing = sdk_client(plaintext, scenario)
    assert tool.is_error is True and "contacts:write" in tool.content[0].text
    assert resource.code == -32602 and "reports:read" in str(resource)
    assert missing.code == -32602 and "Resource not found" in str(missing)


def test_a_modern_session_makes_no_handshake_requests(sdk_client, make_key, workspace,
                                                      flush_usage):
    key, plaintext = make_key(workspace, ("read",))

    async def scenario(client):
        await client.call_tool("describe_key", {})

    sdk_client(plaintext, scenario, mode="auto")
    flush_usage()
    paths = sorted(r.path for r in db.session.query(ApiRequestLog).filter_by(api_key_id=key.id))
    # The probe, then tools/list (the SDK learns output schemas before its first call).
    assert paths == ["/mcp server/discover", "/mcp tools/call describe_key", "/mcp tools/list"]


def test_a_revoked_key_cannot_discover(sdk_client, make_key, workspace):
    key, plaintext = make_key(workspace, ("read",))
    key.status, key.revoked_at = "revoked", utcnow()
    db.session.commit()

    async def scenario(client):
        raise AssertionError("connected")

    with pytest.raises(MCPError) as failure:
        sdk_client(plaintext, scenario, mode="auto")
    assert failure.value.error.data["status"] == 401
    assert str(failure.value) == "This API key has been revoked."
