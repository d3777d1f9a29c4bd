"""Settings → Members in a real browser: Remove opens the one confirm dialog with JavaScript and
a page of its own without; Cancel changes nothing, confirming removes the person."""
import pytest
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.models import Role, WorkspaceMembership


@pytest.fixture
def team(make_user, make_org, add_member):
    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner, name="Acme", workspace_name="Main")
    manager = add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)
    add_member(workspace, make_user(email="leaving@example.com"), Role.MEMBER)
    return manager, workspace


def memberships() -> int:
    db.session.expire_all()
    return db.session.query(WorkspaceMembership).count()


def test_remove_asks_in_a_dialog_and_cancel_keeps_the_member(page, browser_login, live_server,
                                                             team, screenshot):
    manager, workspace = team
    browser_login(page, manager.email)
    page.goto(f"{live_server.url}/w/{workspace.id}/settings/members/")
    before = memberships()

    page.get_by_role("link", name="Remove leaving@example.com").click()
    dialog = page.get_by_role("dialog", name="Remove leaving@example.com?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "members-remove-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert memberships() == before

    page.get_by_role("link", name="Remove leaving@example.com").click()
    page.get_by_role("dialog", name="Remove leaving@example.com?").get_by_role(
        "button", name="Remove").click()
    expect(page.get_by_text("leaving@example.com was removed")).to_be_visible()
    assert memberships() == before - 1


def test_without_javascript_remove_is_a_confirm_page(no_js_page, browser_login, live_server, team):
    manager, workspace = team
    page = browser_login(no_js_page, manager.email)
    page.goto(f"{live_server.url}/w/{workspace.id}/settings/members/")
    before = memberships()
    page.get_by_role("link", name="Remove leaving@example.com").click()
    expect(page.get_by_role("heading", name="Remove leaving@example.com?")).to_be_visible()
    assert memberships() == before
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("leaving@example.com was removed")).to_be_visible()
    assert memberships() == before - 1
