"""Profile → Sessions and sudo mode in a real browser, with JavaScript (htmx) and without."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.models import ApiKey, UserSession
from sureapp.timeutil import utcnow

from .conftest import PASSWORD


@pytest.fixture
def other_browser(browser, live_server):
    """A second, separate browser (its own cookies): another device of the same person."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10000)
    yield context.new_page()
    context.close()


def log_in(page, live_server, email):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def signed_out(page, live_server) -> bool:
    page.goto(f"{live_server.url}/organizations")
    return "/login" in page.url


def password_entered_long_ago():
    db.session.execute(UserSession.__table__.update().values(
        password_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def test_sessions_page_signs_out_one_session_and_everywhere_else(page, other_browser,
                                                                   live_server, manager,
                                                                   screenshot):
    user, _ = manager
    log_in(other_browser, live_server, user.email)
    log_in(page, live_server, user.email)

    page.get_by_label("Profile and settings").click()
    page.get_by_role("menuitem", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    items = page.locator(".session-item")
    expect(items).to_have_count(2)
    expect(page.locator(".session-item", has_text="This session")).to_have_count(1)
    screenshot(page, "sessions-page")

    # Sign out the other device from its row: the list updates in place (htmx).
    other_row = page.locator(".session-item").filter(has_not_text="This session")
    other_row.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("That session was signed out.")).to_be_visible()
    expect(items).to_have_count(1)
    assert page.url.endswith("/account/sessions")
    assert signed_out(other_browser, live_server)

    log_in(other_browser, live_server, user.email)
    page.reload()
    expect(items).to_have_count(2)
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("Signed out 1 other session.")).to_be_visible()
    expect(items).to_have_count(1)
    assert signed_out(other_browser, live_server)
    assert not signed_out(page, live_server)


def test_sessions_page_without_javascript(no_js_page, other_browser, live_server, manager):
    user, _ = manager
    log_in(other_browser, live_server, user.email)
    log_in(no_js_page, live_server, user.email)
    no_js_page.goto(f"{live_server.url}/account/sessions")
    no_js_page.get_by_role("button", name="Sign out everywhere else").click()
    expect(no_js_page.get_by_text("Signed out 1 other session.")).to_be_visible()
    expect(no_js_page.locator(".session-item")).to_have_count(1)
    assert signed_out(other_browser, live_server)

    this_row = no_js_page.locator(".session-item", has_text="This session")
    this_row.get_by_role("button", name="Sign out").click()
    no_js_page.wait_for_url("**/login")
    assert signed_out(no_js_page, live_server)


def create_key_outside_sudo_mode(page, live_server, manager, ability: str):
    """Log in, let the password grow old, and submit the Create API Key panel (as "Zapier")."""
    user, workspace = manager
    log_in(page, live_server, user.email)
    password_entered_long_ago()
    page.goto(f"{live_server.url}/w/{workspace.id}/settings/api-keys")
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label(ability, exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()
    return panel


def test_sudo_dialog_then_the_key_is_created_from_what_was_typed(page, live_server, manager,
                                                                  screenshot):
    panel = create_key_outside_sudo_mode(page, live_server, manager, "Write")

    prompt = page.get_by_role("dialog", name="Confirm your password")
    expect(prompt).to_be_visible()
    expect(prompt.get_by_label("Password")).to_be_focused()
    expect(panel.get_by_label("Name")).to_have_value("Zapier")  # the panel stays as typed
    prompt.get_by_label("Password").fill("not my password")
    prompt.get_by_role("button", name="Confirm").click()
    expect(prompt.get_by_text("That password is not correct.")).to_be_visible()
    assert db.session.query(ApiKey).count() == 0
    screenshot(page, "sudo-dialog")

    prompt.get_by_label("Password").fill(PASSWORD)
    prompt.get_by_role("button", name="Confirm").click()
    shown = page.get_by_role("dialog", name="Your new API key")
    expect(shown).to_be_visible()
    expect(page.get_by_role("dialog", name="Confirm your password")).to_have_count(0)
    db.session.expire_all()
    key = db.session.query(ApiKey).one()
    assert (key.name, key.abilities) == ("Zapier", "write")

    # Now in sudo mode: the next guarded action goes straight through.
    shown.get_by_role("button", name="I've saved my key – Close").click()
    page.get_by_role("link", name="Create API Key").first.click()
    panel.get_by_label("Name").fill("Make.com")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()
    expect(page.get_by_role("dialog", name="Your new API key")).to_be_visible()


def test_sudo_cancel_does_nothing(page, live_server, manager):
    panel = create_key_outside_sudo_mode(page, live_server, manager, "Read")
    prompt = page.get_by_role("dialog", name="Confirm your password")
    prompt.get_by_role("button", name="Cancel").click()
    expect(prompt).to_have_count(0)
    expect(panel.get_by_label("Name")).to_have_value("Zapier")
    assert db.session.query(ApiKey).count() == 0


def test_sudo_page_without_javascript_replays_the_form(no_js_page, live_server, manager):
    user, workspace = manager
    page = no_js_page
    log_in(page, live_server, user.email)
    password_entered_long_ago()
    page.goto(f"{live_server.url}/w/{workspace.id}/settings/api-keys/new")
    page.get_by_label("Name").fill("No-JS key")
    page.get_by_label("Read", exact=True).check()
    page.get_by_label("Delete", exact=True).check()
    page.get_by_role("button", name="Create API Key").click()

    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("That password is not correct.")).to_be_visible()
    assert db.session.query(ApiKey).count() == 0

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#new-key-value")).to_be_visible()
    db.session.expire_all()
    key = db.session.query(ApiKey).one()
    assert (key.name, key.abilities) == ("No-JS key", "read,delete")
