"""Show once, act once, in a real browser: without JavaScript the show-once pages survive reloads
(no second key, no second regenerate); with it the dialog shows the whole key, a curl example,
and asks before the key is lost; every action confirms itself and focus lands somewhere sensible."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey, Invitation

KEY = re.compile(r"sure[A-Za-z0-9]{56}")


@pytest.fixture
def no_js_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 1366, "height": 860})
    context.set_default_timeout(10000)
    page = context.new_page()
    yield page
    context.close()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_without_js_reloading_the_show_once_pages_never_acts_again(no_js_page, browser_login,
                                                                  manager, live_server):
    page = no_js_page
    user, workspace = manager
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys/new")
    page.get_by_label("Name").fill("Nightly sync")
    page.get_by_label("Read", exact=True).check()
    page.get_by_role("button", name="Create API Key").click()

    expect(page).to_have_url(re.compile(r"/shown/"))
    plaintext = page.locator("#new-key-value").input_value()
    assert KEY.fullmatch(plaintext)
    expect(page.locator("#try-key-example")).to_contain_text(f'X-API-Key: {plaintext}')
    assert count(ApiKey) == 1
    for _ in range(2):
        page.reload()
        expect(page.get_by_role("heading", name="This key was already shown")).to_be_visible()
        assert plaintext not in page.content()
    assert count(ApiKey) == 1

    # Regenerate: the new string is shown once; reloads neither show it nor regenerate again.
    key = db.session.scalars(select(ApiKey)).one()
    page.goto(f"/w/{workspace.id}/settings/api-keys/{key.id}/regenerate")
    page.get_by_role("button", name="Regenerate key").click()
    expect(page).to_have_url(re.compile(r"/shown/"))
    regenerated = page.locator("#new-key-value").input_value()
    assert regenerated != plaintext
    page.reload()
    expect(page.get_by_role("heading", name="This key was already shown")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).key_hash == keystring.digest(regenerated)
    assert page.request.get(f"{live_server.url}/api/v1/me",
                            headers={"X-API-Key": regenerated}).status == 200
    assert count(ApiKey) == 1

    # An invitation: the link is shown once, the form is empty again, a reload invites no one.
    page.goto(f"/w/{workspace.id}/settings/members/")
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invited bob@example.com as Member.")).to_be_visible()
    expect(page.locator("#invite-link")).to_have_value(re.compile(r"/invitations/"))
    expect(page.get_by_label("Email")).to_have_value("")
    expect(page.get_by_text("expires in 7 days")).to_be_visible()
    page.reload()
    expect(page.get_by_text("was shown once and is not shown again")).to_be_visible()
    assert count(Invitation) == 1


def test_show_once_dialog_asks_before_the_key_is_lost(page, browser_login, manager, live_server):
    user, workspace = manager
    page.set_viewport_size({"width": 1366, "height": 860})
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()

    dialog = page.get_by_role("dialog", name="Your new API key")
    secret = dialog.locator("#new-key-value")
    plaintext = secret.input_value()
    # The whole key is visible: no part scrolled out of its box.
    assert secret.evaluate("el => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")
    expect(dialog.locator("#try-key-example")).to_contain_text(
        f'curl -H "X-API-Key: {plaintext}"')

    page.keyboard.press("Escape")
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog.get_by_text("Did you copy the key?")).to_be_hidden()
    dialog.get_by_role("button", name="Close", exact=True).click()  # the ×
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    dialog.get_by_role("button", name="Go back").click()
    page.mouse.click(5, 5)  # the backdrop
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    assert dialog.is_visible()

    dialog.get_by_role("button", name="Close without copying").click()
    expect(dialog).to_be_hidden()
    assert count(ApiKey) == 1


def test_copying_the_key_lets_escape_close_it(page, browser_login, manager, live_server):
    user, workspace = manager
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()
    dialog = page.get_by_role("dialog", name="Your new API key")
    dialog.get_by_role("button", name="Copy", exact=True).click()
    expect(dialog.get_by_text("Copied!")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_actions_confirm_in_a_toast_and_focus_follows_a_delete(page, browser_login, manager,
                                                               make_key):
    user, workspace = manager
    for name in ("First", "Second"):
        make_key(workspace, name=name)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    rows = page.locator("#keys-table tbody tr")
    second = rows.filter(has=page.get_by_role("link", name="Second", exact=True))  # newest first

    second.get_by_role("link", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    toasts = page.locator("#toasts")
    assert toasts.get_attribute("role") == "status"
    expect(toasts).to_contain_text("API key “Second” revoked.")
    expect(second).to_have_class(re.compile("just-changed"))
    expect(second.get_by_role("link", name="Activate")).to_be_focused()

    second.get_by_role("link", name="Edit").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Second renamed")
    page.get_by_role("dialog").get_by_role("button", name="Save Changes").click()
    expect(toasts).to_contain_text("Saved changes to “Second renamed”.")

    # Delete the first row: focus goes to the next row's first action, not to <body>.
    renamed = rows.filter(has=page.get_by_role("link", name="Second renamed", exact=True))
    renamed.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete permanently").click()
    expect(toasts).to_contain_text("API key “Second renamed” deleted.")
    expect(rows).to_have_count(1)
    first_action = rows.first.locator("td.actions a").first
    expect(first_action).to_be_focused()
    # The last row: focus goes to the page heading.
    rows.first.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_focused()
