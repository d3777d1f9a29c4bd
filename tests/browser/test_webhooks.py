"""The Webhooks page in a real browser: a Manager adds an endpoint (secret shown once), sends a
test event that a real receiver on 127.0.0.1 gets and verifies, then disables, rotates and
deletes it; and the same basics without JavaScript."""
import re
import time

from playwright.sync_api import expect
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from sureapp.extensions import db
from sureapp.models import WebhookEndpoint
from tests.webhooks.conftest import receiver  # noqa: F401  (a real receiver on 127.0.0.1)

SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


def wait_for(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_add_test_rotate_disable_delete(page, live_server, browser_login, manager, receiver, screenshot):
    user, workspace = manager
    browser_login(page, user.email)
    page.get_by_label("Profile and settings").click()
    page.get_by_role("menuitem", name="Settings").click()
    page.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_text("No webhook endpoints yet")).to_be_visible()

    page.get_by_role("link", name="Add endpoint").click()
    panel = page.get_by_role("dialog", name="Add webhook endpoint")
    expect(panel.get_by_label("Endpoint URL")).to_be_focused()
    panel.get_by_label("Endpoint URL").fill("ftp://example.com/hook")
    panel.get_by_role("button", name="Add endpoint").click()
    expect(panel.get_by_text("Use an http:// or https:// URL.")).to_be_visible()  # inline, panel open
    panel.get_by_label("Endpoint URL").fill(receiver.url)
    panel.get_by_label("contact.created").check()
    panel.get_by_label("Description").fill("CRM sync")
    panel.get_by_role("button", name="Add endpoint").click()

    reveal = page.get_by_role("dialog", name="Your webhook signing secret")
    expect(reveal).to_be_visible()
    secret = reveal.get_by_label(re.compile("Signing secret for")).input_value()
    assert SECRET.match(secret)
    screenshot(page, "webhooks-secret")
    reveal.get_by_role("link", name=re.compile("I've saved the secret")).click()

    expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event queued")).to_be_visible()
    wait_for(lambda: receiver.requests)
    request = receiver.requests[0]
    payload = Webhook(secret).verify(request["body"], {k.lower(): v for k, v in request["headers"].items()})
    assert payload["type"] == "webhook.test"
    def delivered():
        page.reload()
        return page.locator("#deliveries-table").get_by_text("Succeeded").count() == 1
    wait_for(delivered)
    screenshot(page, "webhooks-log")

    page.get_by_role("button", name="Resend webhook.test").click()
    wait_for(lambda: len(receiver.requests) == 2)
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Webhook endpoint disabled")).to_be_visible()
    expect(page.get_by_role("button", name="Enable")).to_be_visible()

    page.get_by_role("link", name="Rotate secret").click()
    page.get_by_role("dialog", name="Rotate signing secret").get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_role("dialog", name="Your new signing secret")
    new_secret = rotated.get_by_label(re.compile("Signing secret for")).input_value()
    assert SECRET.match(new_secret) and new_secret != secret
    expect(rotated.get_by_text("also signed with the previous secret")).to_be_visible()
    rotated.get_by_role("link", name=re.compile("I've saved the secret")).click()

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog", name="Delete webhook endpoint").get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_text("No webhook endpoints yet")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_without_javascript(browser, live_server, browser_login, manager, receiver):
    user, workspace = manager
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        browser_login(page, user.email)
        page.goto(f"{live_server.url}/w/{workspace.id}/settings/webhooks")
        page.get_by_role("link", name="Add endpoint").click()
        expect(page.get_by_role("heading", name="Add webhook endpoint")).to_be_visible()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("All events").check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_label(re.compile("Signing secret for")).input_value()
        assert SECRET.match(secret)
        page.get_by_role("link", name=re.compile("I've saved the secret")).click()
        page.get_by_role("button", name="Send test event").click()
        wait_for(lambda: receiver.requests)
        Webhook(secret).verify(receiver.requests[0]["body"],
                               {k.lower(): v for k, v in receiver.requests[0]["headers"].items()})
    finally:
        context.close()
