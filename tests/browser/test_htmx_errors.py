"""A failed htmx request tells the person why instead of silently doing nothing."""
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.keys import services
from sureapp.models import ApiKey, Role


def test_expired_csrf_token_on_an_htmx_action_shows_a_message_and_changes_nothing(
        page, live_server, browser_login, make_user, make_org, add_member):
    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner)
    manager = add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)
    key, _ = services.create_key(workspace, "Zapier", ["read"], actor=manager)
    db.session.commit()

    browser_login(page, "manager@example.com")
    page.goto(f"{live_server.url}/w/{workspace.id}/settings/api-keys")
    row = page.locator("#keys-table tbody tr").filter(has_text="Zapier")
    row.get_by_role("link", name="Revoke").click()
    confirm = page.get_by_role("dialog", name="Revoke API key")
    expect(confirm).to_be_visible()
    # As if the session's token had changed since the page was loaded (header and form field).
    page.evaluate("""() => {
        document.body.setAttribute("hx-headers", '{"X-CSRFToken": "stale"}');
        document.querySelectorAll("input[name=csrf_token]").forEach((i) => { i.value = "stale"; });
    }""")
    confirm.get_by_role("button", name="Revoke key").click()

    expect(page.get_by_role("alert")).to_have_text("This page has expired. Reload it and try again.")
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).status == "active"
