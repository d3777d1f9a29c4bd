"""The API Keys table at a laptop's 1366 px: one line per cell, columns that never move when a
row is swapped, muted keys that no longer work, and expiry shown with its time."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from sureapp.extensions import db
from sureapp.keys import services
from sureapp.models import Role
from sureapp.timeutil import utcnow

LAPTOP = {"width": 1366, "height": 860}

# Per cell: is its content wider than the cell (clipped or wrapped)? And how many text lines.
CELL_REPORT = """() => Array.from(document.querySelectorAll('#keys-table tbody tr')).map(row => ({
  name: row.querySelector('.key-name').textContent.trim(),
  inactive: row.classList.contains('is-inactive'),
  height: row.getBoundingClientRect().height,
  cells: Array.from(row.cells).map((cell, i) => ({
    column: document.querySelectorAll('#keys-table thead th')[i].textContent.trim(),
    // Clipped: some element inside reaches past the cell's padding box (cells never wrap).
    overflows: Array.from(cell.querySelectorAll('*')).some(el =>
      el.getBoundingClientRect().right > cell.getBoundingClientRect().right - 1),
    text: cell.innerText.trim(),
  })),
}))"""
COLUMN_WIDTHS = """() => Array.from(document.querySelectorAll('#keys-table thead th'))
  .map(th => Math.round(th.getBoundingClientRect().width))"""


@pytest.fixture
def keys_of_every_kind(make_user, make_org, add_member, make_key):
    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner, name="Acme", workspace_name="Main", timezone="Europe/Berlin")
    manager = add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)
    now = utcnow()
    make_key(workspace, name="A rather long integration name for the nightly CRM sync job",
             actor=owner)
    make_key(workspace, ("read",), name="Expiring", expires_at=now + timedelta(days=3))
    expired, _ = make_key(workspace, ("read", "write"), name="Expired", key_type="suremails",
                          expires_at=now + timedelta(days=1))
    expired.expires_at = now - timedelta(days=3, hours=1)
    revoked, _ = make_key(workspace, name="Revoked one", key_type="mcp")
    services.revoke_key(revoked)
    graced, _ = make_key(workspace, name="Rolled")
    services.regenerate_key(graced, timedelta(hours=24))
    used, _ = make_key(workspace, ("read",), name="Used a while ago")
    used.last_used_at = now - timedelta(minutes=59)
    db.session.commit()
    return manager, workspace


def test_every_cell_fits_on_one_line_at_1366(page, live_server, browser_login,
                                             keys_of_every_kind, screenshot):
    user, workspace = keys_of_every_kind
    page.set_viewport_size(LAPTOP)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    screenshot(page, "keys-table-1366")

    wrap = page.locator("#keys-table .table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls sideways"
    rows = page.evaluate(CELL_REPORT)
    assert len(rows) == 6
    for row in rows:
        for cell in row["cells"]:
            # Only a name longer than its column may be cut (with "…" and the whole name on hover).
            if cell["column"] == "Name":
                continue
            assert not cell["overflows"], f"{cell['column']} is cut: {cell['text']!r}"
    # One line per cell: rows with a plain key are all the same height.
    plain = [r["height"] for r in rows if r["name"] != "Rolled"]  # its grace note is a 2nd line
    assert max(plain) - min(plain) < 2

    long_name = page.get_by_role("link", name="A rather long integration name", exact=False)
    assert long_name.get_attribute("title").endswith("nightly CRM sync job")

    by_name = {r["name"]: r for r in rows}
    assert by_name["Expired"]["inactive"] and by_name["Revoked one"]["inactive"]
    assert not by_name["Expiring"]["inactive"] and not by_name["Rolled"]["inactive"]
    # Muted means another text colour, not merely a class.
    colours = page.evaluate("""() => ['Expired', 'Expiring'].map(name => getComputedStyle(
        Array.from(document.querySelectorAll('#keys-table tbody tr'))
          .find(r => r.querySelector('.key-name').textContent.trim() === name).cells[5]).color)""")
    assert colours[0] != colours[1]

    expires = {name: r["cells"][5]["text"] for name, r in by_name.items()}
    assert expires["Expired"] == "Expired 3 days ago"
    # Date and time; the zone is named once above the table.
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2}", expires["Expiring"])
    expect(page.get_by_text("Times in Europe/Berlin")).to_be_visible()
    assert expires["Revoked one"] == "Never"
    assert by_name["Used a while ago"]["cells"][6]["text"] == "59 minutes ago"

    created = row_cell(page, "A rather long integration name for the nightly CRM sync job", 4)
    assert created.get_attribute("title").endswith("by owner@example.com")
    assert created.get_attribute("datetime").endswith("Z")


def row_cell(page, name, index):
    return (page.locator("#keys-table tbody tr")
            .filter(has=page.get_by_role("link", name=name, exact=True)).locator("td").nth(index)
            .locator("time"))


def test_columns_do_not_move_when_a_row_is_swapped(page, live_server, browser_login,
                                                   keys_of_every_kind):
    user, workspace = keys_of_every_kind
    page.set_viewport_size(LAPTOP)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    before = page.evaluate(COLUMN_WIDTHS)

    row = page.locator("#keys-table tbody tr").filter(
        has=page.get_by_role("link", name="Expiring", exact=True))
    row.get_by_role("link", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(row.get_by_text("Revoked", exact=True)).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bis-inactive\b"))
    assert page.evaluate(COLUMN_WIDTHS) == before
