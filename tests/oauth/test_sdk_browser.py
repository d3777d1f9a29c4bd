"""The whole flow as a real client drives it: the official MCP Python SDK's OAuthClientProvider
discovers the metadata from a 401, registers itself, sends the person to the consent screen —
headless Chromium signs in, picks the workspace, narrows the abilities and clicks Allow —
exchanges the code, lists tools and calls a write tool, refreshes; then the person revokes the
connection on the API Keys page and the next call and refresh are refused."""
import time

import anyio
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey, Contact
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_chromium
from tests.conftest import PASSWORD
from tests.mcp.conftest import _leaves, live_server  # noqa: F401  (the in-thread live server)

pytestmark = [pytest.mark.browser, pytest.mark.live]

CALLBACK = "http://127.0.0.1:53682/callback"  # never bound: Chromium's route catches it
FLOW_TIMEOUT = 90  # seconds for the whole scenario


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}  # the consent and login forms as real users post them


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self):
        self.tokens = self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


def run(main):
    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:  # the SDK's task groups wrap the one real failure
        leaves = list(_leaves(group))
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def test_the_sdk_connects_through_oauth_in_a_browser_and_revoking_the_key_ends_it(
        live_server, people):  # noqa: F811
    _require_chromium()
    from playwright.async_api import async_playwright

    workspace, users = people
    manager = users["manager"]
    storage = MemoryStorage()
    seen = {"redirects": 0}

    async def main():
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=CHROMIUM_ARGS)
            context = await browser.new_context(base_url=live_server)
            context.set_default_timeout(20000)
            page = await context.new_page()
            callback: dict = {}

            async def catch_callback(route):
                callback["url"] = route.request.url
                await route.fulfill(status=200, body="You can close this window.")

            await page.route(f"{CALLBACK}**", catch_callback)

            async def redirect_handler(authorization_url: str) -> None:
                seen["redirects"] += 1
                assert seen["redirects"] == 1, "the SDK had to authorize again"
                await page.goto(authorization_url)
                await page.get_by_label("Email").fill(manager.email)  # signed out: log in
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Log in").click()
                await page.get_by_role("heading", name="Connect sureapp SDK test").wait_for()
                assert await page.get_by_label("Workspace", exact=True).input_value() == str(workspace.id)
                await page.get_by_label("Delete: all resources").uncheck()
                await page.get_by_role("button", name="Allow").click()
                await page.wait_for_url(f"{CALLBACK}**")

            async def callback_handler() -> AuthorizationCodeResult:
                from urllib.parse import parse_qs, urlsplit
                query = {k: v[0] for k, v in parse_qs(urlsplit(callback["url"]).query).items()}
                return AuthorizationCodeResult(code=query["code"], state=query.get("state"),
                                               iss=query.get("iss"))

            provider = OAuthClientProvider(
                server_url=f"{live_server}/mcp",
                client_metadata=OAuthClientMetadata(
                    client_name="sureapp SDK test", redirect_uris=[AnyUrl(CALLBACK)],
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"], token_endpoint_auth_method="none"),
                storage=storage, redirect_handler=redirect_handler,
                callback_handler=callback_handler)

            async def session_calls(scenario):
                async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
                    async with streamable_http_client(f"{live_server}/mcp",
                                                      http_client=http) as (read, write):
                        async with ClientSession(read, write) as session:
                            await session.initialize()
                            return await scenario(session)

            async def first(session):
                names = {t.name for t in (await session.list_tools()).tools}
                created = await session.call_tool("create_contact", {
                    "email": "ada@example.com", "first_name": "Ada"})
                return names, created

            with anyio.fail_after(FLOW_TIMEOUT):
                names, created = await session_calls(first)
                first_tokens = storage.tokens

                # The hour is up (as the SDK sees it): its next request refreshes first.
                provider.context.token_expiry_time = time.time() - 1
                tools_after_refresh = await session_calls(
                    lambda session: session.list_tools())
                refreshed = storage.tokens

                # The person revokes the connection on the API Keys page.
                await page.goto(f"/w/{workspace.id}/settings/api-keys")
                row = page.locator("tr", has_text="via OAuth: sureapp SDK test")
                await row.get_by_role("link", name="Revoke").click()
                await page.get_by_role("button", name="Revoke key").click()
                await row.get_by_text("Revoked").wait_for()

                async with httpx2.AsyncClient(timeout=30) as raw:
                    after_revoke = await raw.post(f"{live_server}/mcp", json={
                        "jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={
                        "Authorization": f"Bearer {refreshed.access_token}",
                        "Accept": "application/json, text/event-stream",
                        "MCP-Protocol-Version": "2025-11-25"})
                    refresh_after_revoke = await raw.post(
                        f"{live_server}/oauth/token", data={
                            "grant_type": "refresh_token",
                            "refresh_token": refreshed.refresh_token,
                            "client_id": storage.client_info.client_id})
            await browser.close()
            return (names, created, first_tokens, tools_after_refresh, refreshed, after_revoke,
                    refresh_after_revoke)

    (names, created, first_tokens, tools_after_refresh, refreshed, after_revoke,
     refresh_after_revoke) = run(main)

    assert seen["redirects"] == 1
    assert "create_contact" in names and "delete_contact" not in names  # Delete unticked
    assert created.is_error is False
    db.session.expire_all()
    contact = db.session.scalar(select(Contact).where(Contact.email == "ada@example.com"))
    assert contact is not None and contact.workspace_id == workspace.id

    key = db.session.scalar(select(ApiKey).where(
        ApiKey.key_hash == keystring.digest(refreshed.access_token)))
    assert key.key_type == "mcp" and key.abilities == "read,write"
    assert key.oauth_grant.client.name == "sureapp SDK test"
    assert first_tokens.scope == "read write" and first_tokens.expires_in == 3600
    assert refreshed.access_token != first_tokens.access_token
    assert refreshed.refresh_token != first_tokens.refresh_token
    assert {t.name for t in tools_after_refresh.tools} == names

    assert key.status == "revoked"
    assert after_revoke.status_code == 401
    assert "resource_metadata=" in after_revoke.headers["WWW-Authenticate"]
    assert refresh_after_revoke.status_code == 400
    assert refresh_after_revoke.json()["error"] == "invalid_grant"
