"""The API Keys page in a real browser: what a Manager sees and does, with and without JavaScript."""
import re

import pytest
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.keys import keystring, services
from sureapp.models import ApiKey, ApiKeyEvent, Role

KEY_PATTERN = re.compile(r"^sure[A-Za-z0-9]{56}$")


@pytest.fixture
def manager(make_user, make_org, add_member):
    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner, name="Acme", workspace_name="Main", timezone="Europe/Berlin")
    user = add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)
    return user, workspace


def keys_page_url(live_server, workspace, query=""):
    return f"{live_server.url}/w/{workspace.id}/settings/api-keys{query}"


def row(page, name):
    return page.locator("#keys-table tbody tr").filter(has=page.get_by_role("link", name=name, exact=True))


def api_status(page, live_server, key: str) -> int:
    return page.request.get(f"{live_server.url}/api/v1/me", headers={"X-API-Key": key}).status


def reload_key(key_id) -> ApiKey | None:
    db.session.expire_all()
    return db.session.get(ApiKey, key_id)


def test_whole_key_lifecycle(page, live_server, browser_login, manager, screenshot):
    user, workspace = manager
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    browser_login(page, user.email)

    # Profile menu → Settings → Developer → API Keys.
    page.get_by_label("Profile and settings").click()
    page.get_by_role("menuitem", name="Settings").click()
    page.get_by_role("navigation").get_by_role("link", name="API Keys").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_visible()
    expect(page.get_by_text("No API keys yet")).to_be_visible()

    # Create: the side panel validates inline and writes nothing on bad input.
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Name")).to_be_focused()
    panel.get_by_role("button", name="Create API Key").click()
    expect(panel.get_by_text("Enter a name.")).to_be_visible()
    expect(panel.get_by_text("Choose at least one ability.")).to_be_visible()
    assert db.session.query(ApiKey).count() == 0

    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_label("Write", exact=True).check()
    expect(panel.get_by_label("Type")).to_have_value("api")
    screenshot(page, "keys-create-panel")
    panel.get_by_role("button", name="Create API Key").click()

    # Show once: the full key, a copy button, and the only way out says it was saved.
    dialog = page.get_by_role("dialog", name="Your new API key")
    expect(dialog).to_be_visible()
    plaintext = dialog.get_by_label("API key for “Zapier”").input_value()
    assert KEY_PATTERN.match(plaintext) and keystring.is_well_formed(plaintext)
    screenshot(page, "keys-show-once-dialog")
    dialog.get_by_role("button", name="Copy", exact=True).click()
    expect(dialog.get_by_text("Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    dialog.get_by_role("button", name="I've saved my key – Close").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#create-key-button")).to_be_focused()

    # The new row appeared without a reload, masked; the database holds only the digest.
    zapier = row(page, "Zapier")
    expect(zapier).to_have_count(1)
    expect(zapier.locator(".key-masked")).to_have_text(f"{plaintext[:4]}…{plaintext[-4:]}")
    expect(zapier).to_contain_text("Read")
    expect(zapier).to_contain_text("Write")
    expect(zapier).to_contain_text("Active")
    expect(zapier).to_contain_text("Never")
    stored = db.session.query(ApiKey).one()
    assert stored.key_hash == keystring.digest(plaintext)
    assert api_status(page, live_server, plaintext) == 200
    assert page.locator("#new-key-value").count() == 0  # the plaintext left the page

    # Edit: name and abilities change, the key string does not.
    zapier.get_by_role("link", name="Edit").click()
    panel = page.get_by_role("dialog", name="Edit API Key")
    expect(panel.get_by_label("Name")).to_have_value("Zapier")
    panel.get_by_label("Name").fill("Zapier prod")
    panel.get_by_label("Write", exact=True).uncheck()
    panel.get_by_label("Delete", exact=True).check()
    panel.get_by_role("button", name="Save Changes").click()
    expect(panel).to_have_count(0)
    zapier = row(page, "Zapier prod")
    expect(zapier).to_contain_text("Delete")
    expect(zapier).not_to_contain_text("Write")
    expect(zapier.locator(".key-masked")).to_have_text(f"{plaintext[:4]}…{plaintext[-4:]}")
    expect(zapier.get_by_role("link", name="Edit")).to_be_focused()

    # Revoke → requests are rejected; Activate → they work again.
    zapier.get_by_role("link", name="Revoke").click()
    confirm = page.get_by_role("dialog", name="Revoke API key")
    expect(confirm).to_contain_text("Zapier prod")
    confirm.get_by_role("button", name="Revoke key").click()
    expect(confirm).to_have_count(0)
    expect(zapier.locator(".badge-revoked")).to_have_text("Revoked")
    assert api_status(page, live_server, plaintext) == 401
    expect(zapier.get_by_role("link", name="Activate")).to_be_focused()
    zapier.get_by_role("link", name="Activate").click()
    page.get_by_role("dialog", name="Activate API key").get_by_role("button", name="Activate key").click()
    expect(zapier.locator(".badge-active")).to_have_text("Active")
    assert api_status(page, live_server, plaintext) == 200

    # Regenerate with a 24-hour grace period: both strings work until "End now".
    zapier.get_by_role("link", name="Regenerate").click()
    confirm = page.get_by_role("dialog", name="Regenerate API key")
    expect(confirm.get_by_label("No grace period: the old key stops working now")).to_be_checked()
    confirm.get_by_label("24 hours").check()
    confirm.get_by_role("button", name="Regenerate key").click()
    dialog = page.get_by_role("dialog", name="Your regenerated API key")
    new_plaintext = dialog.locator("#new-key-value").input_value()
    assert KEY_PATTERN.match(new_plaintext) and new_plaintext != plaintext
    expect(dialog).to_contain_text("The previous key keeps working until")
    dialog.get_by_role("button", name="I've saved my key – Close").click()
    expect(zapier.locator(".key-masked")).to_have_text(f"{new_plaintext[:4]}…{new_plaintext[-4:]}")
    expect(zapier).to_contain_text("Old key works until")
    assert api_status(page, live_server, plaintext) == 200
    assert api_status(page, live_server, new_plaintext) == 200
    zapier.get_by_role("link", name=re.compile("^End now")).click()
    page.get_by_role("dialog").get_by_role("button", name="Stop it now").click()
    expect(zapier).not_to_contain_text("Old key works until")
    assert api_status(page, live_server, plaintext) == 401
    assert api_status(page, live_server, new_plaintext) == 200

    # The detail page tells the whole story in the workspace timezone.
    zapier.get_by_role("link", name="Zapier prod").click()
    audit = page.locator(".audit-log")
    for action in ("Created", "Edited", "Revoked", "Activated", "Regenerated", "Grace period ended"):
        expect(audit).to_contain_text(action)
    expect(audit).to_contain_text("Name: Zapier → Zapier prod")
    expect(audit).to_contain_text(re.compile(r"CES?T"))  # Europe/Berlin, winter or summer
    # The API calls above show up once the API's buffered request log is flushed (~2 s).
    chart = page.get_by_role("img", name=re.compile("Requests per day"))
    for _ in range(15):
        if chart.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(chart).to_be_visible()
    expect(page.get_by_role("region", name="Recent requests", exact=True)).to_contain_text("/api/v1/me")
    screenshot(page, "keys-detail", full_page=True)
    page.get_by_role("link", name="← API Keys").click()

    # Delete: the row goes, and so do the key and its audit trail.
    key_id = stored.id
    row(page, "Zapier prod").get_by_role("link", name="Delete").click()
    page.get_by_role("dialog", name="Delete API key").get_by_role("button", name="Delete permanently").click()
    expect(row(page, "Zapier prod")).to_have_count(0)
    assert reload_key(key_id) is None
    assert db.session.query(ApiKeyEvent).filter_by(api_key_id=key_id).count() == 0
    assert api_status(page, live_server, new_plaintext) == 401

    # Neither string ever reached the server's log.
    log = live_server.log()
    assert plaintext not in log and new_plaintext not in log


def test_search_and_filters_are_live_and_bookmarkable(page, live_server, browser_login, manager,
                                                      screenshot):
    user, workspace = manager
    for name, key_type in (("Zapier", "api"), ("Mailchimp sync", "suremails"),
                           ("Claude desktop", "mcp"), ("Old import", "api")):
        key, _ = services.create_key(workspace, name, ["read", "write"], key_type=key_type)
        if name == "Old import":
            services.revoke_key(key)
    db.session.commit()
    browser_login(page, user.email)
    page.goto(keys_page_url(live_server, workspace))
    rows = page.locator("#keys-table tbody tr")
    expect(rows).to_have_count(4)
    screenshot(page, "keys-table")

    page.get_by_label("Search by name").press_sequentially("mail", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Mailchimp sync")
    expect(page).to_have_url(re.compile(r"\?search=mail$"))

    page.get_by_label("Search by name").fill("")
    expect(rows).to_have_count(4)
    page.get_by_label("Status").select_option("revoked")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Old import")
    expect(page).to_have_url(re.compile(r"\?status=revoked$"))

    page.get_by_label("Status").select_option("")
    page.get_by_label("Type").select_option("mcp")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Claude desktop")

    # The filtered URL is a bookmark: loading it shows the same view with the controls set.
    page.goto(keys_page_url(live_server, workspace, "?search=zzz"))
    expect(page.get_by_text("No keys match")).to_be_visible()
    expect(page.get_by_label("Search by name")).to_have_value("zzz")
    page.goto(keys_page_url(live_server, workspace, "?type=mcp"))
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Type")).to_have_value("mcp")

    # Back restores the previous filter view.
    page.goto(keys_page_url(live_server, workspace))
    page.get_by_label("Status").select_option("revoked")
    expect(rows).to_have_count(1)
    page.go_back()
    expect(rows).to_have_count(4)


def test_dialogs_close_with_escape_and_return_focus(page, live_server, browser_login, manager,
                                                     make_key):
    user, workspace = manager
    make_key(workspace, ["read"], name="Zapier")
    browser_login(page, user.email)
    page.goto(keys_page_url(live_server, workspace))
    create = page.locator("#create-key-button")
    create.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Create API Key")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(create).to_be_focused()

    delete = row(page, "Zapier").get_by_role("link", name="Delete")
    delete.focus()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Delete API key")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(delete).to_be_focused()
    expect(row(page, "Zapier")).to_have_count(1)


def test_every_action_works_without_javascript(browser, live_server, manager, make_key):
    user, workspace = manager
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Log in").click()
        page.goto(keys_page_url(live_server, workspace))

        page.get_by_role("link", name="Create API Key").first.click()
        expect(page.get_by_role("heading", name="Create API Key")).to_be_visible()
        page.get_by_label("Name").fill("No-JS key")
        page.get_by_label("Read", exact=True).check()
        page.get_by_label("Custom date").check()  # without JS, typing a date does not choose it
        page.get_by_label("Expires At").fill("2000-01-01T10:00")
        page.get_by_role("button", name="Create API Key").click()
        expect(page.get_by_text("Choose a time in the future.")).to_be_visible()
        page.get_by_label("Expires At").fill("2099-01-01T10:00")
        page.get_by_role("button", name="Create API Key").click()
        plaintext = page.locator("#new-key-value").input_value()
        assert KEY_PATTERN.match(plaintext)
        page.get_by_role("link", name="I've saved my key – Close").click()

        key_row = row(page, "No-JS key")
        expect(key_row).to_contain_text("Jan 1, 2099, 10:00")  # the one date format
        key_row.get_by_role("link", name="Revoke").click()
        page.get_by_role("button", name="Revoke key").click()
        expect(page.get_by_text("API key “No-JS key” revoked.")).to_be_visible()
        expect(row(page, "No-JS key").locator(".badge-revoked")).to_be_visible()

        row(page, "No-JS key").get_by_role("link", name="Regenerate").click()
        page.get_by_role("button", name="Regenerate key").click()
        assert page.locator("#new-key-value").input_value() != plaintext
        page.get_by_role("link", name="I've saved my key – Close").click()

        row(page, "No-JS key").get_by_role("link", name="Delete").click()
        page.get_by_role("button", name="Delete permanently").click()
        expect(page.get_by_text("API key “No-JS key” deleted.")).to_be_visible()
        expect(row(page, "No-JS key")).to_have_count(0)
    finally:
        context.close()


def test_a_revoke_that_lost_a_race_is_explained_in_the_dialog(page, live_server, browser_login,
                                                                manager):
    user, workspace = manager
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    db.session.commit()
    browser_login(page, user.email)
    page.goto(keys_page_url(live_server, workspace))
    row(page, "Zapier").get_by_role("link", name="Revoke").click()
    confirm = page.get_by_role("dialog", name="Revoke API key")
    expect(confirm).to_be_visible()
    # Meanwhile, in another tab, someone regenerates it.
    services.regenerate_key(db.session.get(ApiKey, key.id))
    db.session.commit()
    confirm.get_by_role("button", name="Revoke key").click()
    conflict = page.get_by_role("dialog", name="This key changed meanwhile")
    expect(conflict).to_be_visible()
    expect(conflict.get_by_role("alert")).to_contain_text("Reload to see it as it is now")
    expect(page.locator("#flashes .flash-error")).to_have_count(0)  # not a generic error
    assert reload_key(key.id).status == "active"
    fresh = reload_key(key.id)
    expect(row(page, "Zapier")).to_contain_text(fresh.masked)  # the row shows the new string
    conflict.get_by_role("button", name="Got it").click()
    expect(conflict).to_have_count(0)
