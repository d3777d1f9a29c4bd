"""Contacts in a real browser: live search + filter + bulk tag of a selection, and a CSV import
with column mapping, dry run and progress. Screenshots go to tests/artifacts/."""
import re
import shutil
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from sureapp.contacts import lists, services, tags
from sureapp.contacts.schemas import ContactCreate, ListCreate, TagCreate
from sureapp.extensions import db
from sureapp.models import Contact, Role, Tag

REPO_ROOT = Path(__file__).resolve().parents[2]


def seed(workspace):
    people = [
        ("ana@acme.example.com", "Ana", "Lima", "Acme", "active"),
        ("bruno@acme.example.com", "Bruno", "Costa", "Acme", "active"),
        ("carla@acme.example.com", "Carla", "Dias", "Acme", "bounced"),
        ("dan@globex.example.com", "Dan", "Ek", "Globex", "active"),
    ]
    for email, first, last, company, status in people:
        services.create_contact(workspace, ContactCreate(
            email=email, first_name=first, last_name=last, company=company, status=status), "Seed")
    lists.create_list(workspace, ListCreate(name="Customers"))
    tag = tags.create_tag(workspace, TagCreate(name="VIP", color="#dc2626"))
    db.session.commit()
    return tag


def test_search_filter_and_bulk_tag_a_selection(page, live_server, browser_login, make_user, make_org,
                                                add_member, screenshot):
    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner, workspace_name="Browser Space")
    add_member(workspace, make_user(email="member@example.com"), Role.MEMBER)
    tag = seed(workspace)
    browser_login(page, "member@example.com")
    page.goto(live_server.url_for("contacts.index", workspace_id=workspace.id))
    rows = page.locator("table.contacts-table tbody tr")
    expect(rows).to_have_count(4)

    page.get_by_label("Search contacts").fill("acme")
    expect(rows).to_have_count(3)
    expect(page).to_have_url(re.compile(r"q=acme"))  # hx-push-url keeps the filter shareable
    page.locator("#filter-status").select_option("active")
    expect(rows).to_have_count(2)
    expect(page.locator("#contacts-count")).to_contain_text("2 contacts match this filter")

    page.get_by_label("Select ana@acme.example.com").check()
    page.get_by_label("Select bruno@acme.example.com").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected rows")
    page.get_by_label("Bulk action").select_option("add_tag")
    expect(page.locator("#bulk-list")).to_be_hidden()
    page.locator("#bulk-tag").select_option(str(tag.id))
    page.get_by_role("button", name="Apply…").click()

    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Tag 2 contacts with “VIP”")
    screenshot(page, "contacts-bulk-confirm")
    dialog.get_by_role("button", name=re.compile("Tag 2 contacts")).click()
    expect(page.locator(".flash")).to_contain_text("Tagged 2 contacts")
    expect(page).to_have_url(re.compile(r"q=acme"))
    screenshot(page, "contacts-after-bulk-tag", full_page=True)

    db.session.expire_all()
    tagged = set(db.session.scalars(select(Contact.email).join(Contact.tags).where(Tag.id == tag.id)))
    assert tagged == {"ana@acme.example.com", "bruno@acme.example.com"}


def test_csv_import_with_column_mapping(page, live_server, browser_login, make_user, make_org,
                                        screenshot, tmp_path):
    owner = make_user(email="importer@example.com")
    _, workspace = make_org(owner, workspace_name="Import Space")
    services.create_contact(workspace, ContactCreate(email="old@example.com", first_name="Old"), "Seed")
    db.session.commit()
    csv_file = tmp_path / "hubspot-export.csv"
    csv_file.write_text(
        "\ufeffContact Email;Full Name;Organisation;Lifecycle\n"
        "new1@example.com;Nora New;Acme;lead\n"
        "OLD@example.com;Olga Old;Acme;customer\n"
        "broken-address;Bad Row;Acme;lead\n", encoding="utf-8")
    browser_login(page, "importer@example.com")
    page.goto(live_server.url_for("contact_imports.new", workspace_id=workspace.id))
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    job_id = re.search(r"/import/([0-9a-f]{32})", page.url).group(1)
    try:
        # "Contact Email" and "Full Name" are recognised; the rest is mapped by hand.
        expect(page.get_by_label("Contact Email")).to_have_value("email")
        expect(page.get_by_label("Full Name")).to_have_value("name")
        page.get_by_label("Organisation").select_option("company")
        page.get_by_label("Lifecycle").select_option("custom")
        screenshot(page, "contacts-import-mapping", full_page=True)
        page.get_by_role("button", name="Continue to review").click()

        counts = page.locator("#dry-run-counts")
        expect(counts).to_contain_text("1 new contacts")
        expect(counts).to_contain_text("1 updates of existing contacts")
        expect(counts).to_contain_text("1 rows with errors")
        expect(page.get_by_role("cell", name="broken-address").first).to_be_visible()
        screenshot(page, "contacts-import-review", full_page=True)
        page.get_by_role("button", name="Import 2 contacts").click()

        expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=15000)
        expect(page.locator("#import-counts")).to_contain_text("1 created")
        expect(page.get_by_role("link", name="Download error report (CSV)")).to_be_visible()
        screenshot(page, "contacts-import-finished", full_page=True)

        db.session.expire_all()
        new = db.session.scalar(select(Contact).where(Contact.email == "new1@example.com"))
        old = db.session.scalar(select(Contact).where(Contact.email == "old@example.com"))
        assert (new.first_name, new.last_name, new.company) == ("Nora", "New", "Acme")
        assert new.custom_fields == {"lifecycle": "lead"}
        assert (old.first_name, old.company) == ("Olga", "Acme")
    finally:
        shutil.rmtree(REPO_ROOT / "instance" / "imports" / job_id, ignore_errors=True)


def test_contact_page_inline_tags_custom_fields_and_delete_dialog(page, live_server, browser_login,
                                                                  make_user, make_org, screenshot):
    owner = make_user(email="editor@example.com")
    _, workspace = make_org(owner, workspace_name="Edit Space", timezone="Europe/Lisbon")
    seed(workspace)
    contact_id = db.session.scalar(select(Contact.id).where(Contact.email == "ana@acme.example.com"))
    browser_login(page, "editor@example.com")
    page.goto(live_server.url_for("contacts.show", workspace_id=workspace.id, contact_id=contact_id))

    memberships = page.locator("#contact-memberships")
    memberships.locator("select[name='tag-target_id']").select_option(label="VIP")
    memberships.get_by_role("button", name="Add tag").click()
    expect(memberships.get_by_role("button", name="Remove tag VIP")).to_be_visible()
    memberships.locator("select[name='list-target_id']").select_option(label="Customers")
    memberships.get_by_role("button", name="Add list").click()
    expect(memberships.get_by_role("link", name="Customers")).to_be_visible()

    page.get_by_label("Company").fill("Acme Europe")
    page.get_by_label("Field name 1").fill("plan")
    page.get_by_label("Value 1").fill("enterprise")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_contain_text("Changes saved")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Updated company, custom fields")
    expect(timeline).to_contain_text("Tagged “VIP”")
    expect(timeline).to_contain_text("UI: editor@example.com")
    screenshot(page, "contacts-detail", full_page=True)

    page.get_by_role("link", name="Delete contact").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete ana@acme.example.com?")
    dialog.get_by_role("button", name="Delete contact").click()
    expect(page.locator(".flash")).to_contain_text("deleted")
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None

    page.goto(live_server.url_for("orgs.dashboard", workspace_id=workspace.id))
    screenshot(page, "workspace-dashboard", full_page=True)


def test_lists_and_tags_side_panel_with_inline_errors(page, live_server, browser_login, make_user,
                                                     make_org, screenshot):
    owner = make_user(email="lists@example.com")
    _, workspace = make_org(owner, workspace_name="Lists Space")
    seed(workspace)
    browser_login(page, "lists@example.com")
    page.goto(live_server.url_for("tags.index", workspace_id=workspace.id))
    page.get_by_role("link", name="New tag").click()
    panel = page.locator("dialog[open]")
    expect(panel).to_contain_text("New tag")
    panel.get_by_label("Name").fill("vip")  # "VIP" exists: same slug
    panel.get_by_role("button", name="Create tag").click()
    expect(page.locator("dialog[open]")).to_contain_text("already exists")
    page.locator("dialog[open]").get_by_label("Name").fill("Prospect")
    page.locator("dialog[open]").get_by_role("button", name="Create tag").click()
    expect(page.locator(".flash")).to_contain_text("Tag “Prospect” created")
    expect(page.get_by_role("row", name=re.compile("Prospect"))).to_be_visible()

    page.get_by_role("link", name="Delete VIP").click()
    expect(page.locator("dialog[open]")).to_contain_text("It has no contacts")
    screenshot(page, "tags-delete-confirm")
    page.locator("dialog[open]").get_by_role("button", name="Delete tag").click()
    expect(page.locator(".flash")).to_contain_text("Tag “VIP” deleted")
    screenshot(page, "tags-page", full_page=True)
