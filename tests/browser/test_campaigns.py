"""The campaign editor in a real browser: a Manager writes a campaign (an inline template error
first, nothing lost), sees its preview rendered for a made-up contact in a sandboxed frame where
the campaign's own <script> never runs, edits it and deletes it through the confirm dialog."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Campaign

CONTENT = ("<h1>{Hi|Hello} {{ first_name }}</h1><p style=\"color: #0a7\">Spring is here.</p>"
           "<script>document.body.setAttribute('data-ran', 'yes'); parent.document.title = 'ran'"
           "</script>")


def test_write_preview_edit_and_delete_a_campaign(page, live_server, browser_login, manager,
                                                  make_list, screenshot):
    user, workspace = manager
    make_list(workspace, "Customers")
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/campaigns")
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="New campaign", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Spring news")
    page.get_by_label("Subject").fill("{{ first_nam }} news")
    page.get_by_label("Content (HTML)").fill(CONTENT)
    page.get_by_role("checkbox", name="Customers (0 contacts)").check()
    page.get_by_role("button", name="Create campaign").click()

    error = page.locator("#subject-error")  # htmx swapped the form with its errors in place
    expect(error).to_contain_text("{{ first_nam }} is not a merge tag we know")
    expect(page.get_by_label("Content (HTML)")).to_have_value(CONTENT)
    expect(page.get_by_role("checkbox", name="Customers (0 contacts)")).to_be_checked()
    page.get_by_label("Subject").fill("{{ first_name }} news")
    page.get_by_role("button", name="Create campaign").click()

    expect(page.get_by_role("heading", name="Spring news", level=1)).to_be_visible()
    expect(page.get_by_text("created as a draft")).to_be_visible()
    expect(page.locator("#preview-subject")).to_have_text("Ada news")
    frame = page.frame_locator("#campaign-preview")
    expect(frame.get_by_role("heading", name=re.compile(r"^(Hi|Hello) Ada$"))).to_be_visible()
    expect(frame.locator("body")).not_to_have_attribute("data-ran", "yes")
    assert page.title() != "ran"
    screenshot(page, "campaign-preview")

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Summer news")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Summer news", level=1)).to_be_visible()

    page.get_by_role("link", name="Delete…").click()
    dialog = page.get_by_role("dialog", name=re.compile("Delete the campaign"))
    dialog.get_by_role("button", name="Delete campaign").click()
    expect(page.get_by_text("Campaign “Summer news” deleted.")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_the_editor_works_without_javascript(no_js_page, live_server, browser_login, manager):
    user, workspace = manager
    browser_login(no_js_page, user.email)
    no_js_page.goto(f"/w/{workspace.id}/campaigns/new")
    no_js_page.get_by_label("Name", exact=True).fill("Plain form")
    no_js_page.get_by_label("Mails per hour").fill("-3")
    no_js_page.get_by_role("button", name="Create campaign").click()
    expect(no_js_page.locator("#send_per_hour-error")).to_contain_text("greater than or equal to 1")
    expect(no_js_page.get_by_label("Name", exact=True)).to_have_value("Plain form")
    no_js_page.get_by_label("Mails per hour").fill("60")
    no_js_page.get_by_role("button", name="Create campaign").click()
    expect(no_js_page.get_by_role("heading", name="Plain form", level=1)).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(Campaign.send_per_hour)) == 60
