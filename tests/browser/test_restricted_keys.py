"""The restricted-key panel in a real browser: All resources or the resource × ability grid, by
keyboard, in the htmx side panel and on the no-JS page; what the key may then do."""
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.models import ApiKey

from .test_keys import keys_page_url, row


def _stored(name):
    db.session.expire_all()
    key = db.session.query(ApiKey).filter_by(name=name).one()
    return key.abilities, key.allowed_ips


def test_restricted_key_by_keyboard_in_the_side_panel(page, live_server, browser_login, manager,
                                                      screenshot):
    user, workspace = manager
    browser_login(page, user.email)
    page.goto(keys_page_url(live_server, workspace))
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    grid = panel.locator("#access-restricted-choices")
    every = panel.locator("#access-all-choices")
    # All resources first: the grid is out of the way (and its boxes are not posted).
    expect(panel.get_by_role("radio", name="All resources")).to_be_checked()
    expect(grid).to_be_hidden()
    expect(every).to_be_visible()

    panel.get_by_label("Name").fill("Signup form")
    # Keyboard only: Tab to the access radios, arrow to Restricted, Space on grid cells.
    panel.get_by_role("radio", name="All resources").focus()
    page.keyboard.press("ArrowRight")
    expect(panel.get_by_role("radio", name="Restricted")).to_be_checked()
    expect(grid).to_be_visible()
    expect(every).to_be_hidden()
    panel.get_by_role("checkbox", name="Read Contacts").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # → Write Contacts
    page.keyboard.press("Space")
    expect(panel.get_by_role("checkbox", name="Write Contacts")).to_be_checked()
    panel.get_by_role("checkbox", name="Write Lists").check()
    panel.get_by_label("Allowed IP addresses").fill("127.0.0.1\n2001:db8::/32")
    screenshot(page, "keys-restricted-panel")
    panel.get_by_role("button", name="Create API Key").click()

    dialog = page.get_by_role("dialog", name="Your new API key")
    plaintext = dialog.get_by_label("API key for “Signup form”").input_value()
    dialog.get_by_role("button", name="I've saved my key – Close").click()
    assert _stored("Signup form") == ("contacts:read,contacts:write,lists:write",
                                      "127.0.0.1,2001:db8::/32")
    signup = row(page, "Signup form")
    expect(signup).to_contain_text("Read · Contacts")
    expect(signup).to_contain_text("Write · 2 resources")

    # What it may do, through the API from this (allowed) address.
    api = page.request
    headers = {"X-API-Key": plaintext}
    assert api.get(f"{live_server.url}/api/v1/contacts", headers=headers).status == 200
    refused = api.get(f"{live_server.url}/api/v1/tags", headers=headers)
    assert refused.status == 403 and refused.json()["required_scope"] == "tags:read"

    # Edit shows the grid as saved; narrowing to one scope needs no reload.
    signup.get_by_role("link", name="Edit").click()
    panel = page.get_by_role("dialog", name="Edit API Key")
    expect(panel.get_by_role("radio", name="Restricted")).to_be_checked()
    expect(panel.get_by_role("checkbox", name="Write Lists")).to_be_checked()
    expect(panel.get_by_role("checkbox", name="Read Lists")).not_to_be_checked()
    panel.get_by_role("checkbox", name="Write Lists").uncheck()
    panel.get_by_role("button", name="Save Changes").click()
    expect(panel).to_have_count(0)
    expect(row(page, "Signup form")).to_contain_text("Write · Contacts")
    assert _stored("Signup form")[0] == "contacts:read,contacts:write"

    # The key page names every resource.
    page.goto(f"{keys_page_url(live_server, workspace)}")
    row(page, "Signup form").get_by_role("link", name="Signup form").click()
    expect(page.get_by_text("Read: Contacts")).to_be_visible()
    expect(page.locator("code", has_text="2001:db8::/32")).to_be_visible()


def test_restricted_key_without_javascript(no_js_page, live_server, manager):
    user, workspace = manager
    page = no_js_page
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(keys_page_url(live_server, workspace, "/new"))
    # Both sets show; the chosen access decides which one is saved.
    expect(page.locator("#access-all-choices")).to_be_visible()
    expect(page.locator("#access-restricted-choices")).to_be_visible()
    page.get_by_label("Name").fill("Reports only")
    page.get_by_label("Read", exact=True).check()  # ignored: Restricted is chosen below
    page.get_by_role("radio", name="Restricted").check()
    page.get_by_role("checkbox", name="Read Reports").check()
    page.get_by_label("Allowed IP addresses").fill("10.0.0.7/8")
    page.get_by_role("button", name="Create API Key").click()
    expect(page.get_by_text("did you mean 10.0.0.0/8?")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Read Reports")).to_be_checked()  # nothing lost
    page.get_by_label("Allowed IP addresses").fill("10.0.0.0/8")
    page.get_by_role("button", name="Create API Key").click()
    expect(page.locator("#new-key-value")).to_be_visible()
    assert _stored("Reports only") == ("reports:read", "10.0.0.0/8")
