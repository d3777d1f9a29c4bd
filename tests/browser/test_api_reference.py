"""The API reference page in a real browser: in the settings nav, copy button works."""


def test_reference_page_renders_and_copies_the_curl_example(page, live_server, browser_login,
                                                            workspace_with_roles, screenshot):
    workspace, users = workspace_with_roles
    browser_login(page, users["manager"].email)
    page.goto(live_server.url_for("api_docs.reference", workspace_id=workspace.id))
    assert page.get_by_role("heading", name="API Reference").is_visible()
    assert page.get_by_role("link", name="API Reference").get_attribute("aria-current") == "page"
    assert "X-API-Key: YOUR_API_KEY" in page.locator("#curl-example").inner_text()
    assert page.locator("#get-contacts").is_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator('button[data-copy-target="#curl-example"]').click()
    page.locator("#curl-example-status", has_text="Copied").wait_for(timeout=5000)
    screenshot(page, "api-reference")
